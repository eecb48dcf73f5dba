# common/: libkc_common, the shared library (no demo), and libkc_test, the helpers every
# module's tests link (KC_TESTLIB is named in the root Makefile).
$(eval $(call kc_module,common,kc_common,,))

$(KC_TESTLIB): $(BUILD)/obj/common/testlib/kc_test.o
	@mkdir -p $(@D)
	@rm -f $@
	$(AR) rcs $@ $^
