# reliability/: the harnesses that prove the broker survives (issue 6).
#
#   libkc_flt.a       the test side of fault injection (include/flt.h)
#   libkc_fault.so    the LD_PRELOAD shim that makes write/fsync/rename fail on demand
#
# The shim is built without sanitizers and position-independent: it is loaded into other
# processes (the broker under test), never linked into this project's programs.
$(eval $(call kc_module,reliability,kc_flt,common,))

FLT_SHIM := $(BUILD)/lib/libkc_fault.so
$(FLT_SHIM): reliability/shim/shim.c reliability/include/flt.h
	@mkdir -p $(@D)
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Wshadow $(if $(filter 1,$(WERROR)),-Werror) \
		-fPIC -shared -Ireliability/include $< -o $@ -ldl
TEST_EXTRAS += $(FLT_SHIM)
