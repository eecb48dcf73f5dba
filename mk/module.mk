# mk/module.mk: the rules every module shares, written once.
#
# A module is a folder with the same shape (see ../shared/DESIGN.md):
#
#   <dir>/include/   public headers: the only thing other modules may include
#   <dir>/src/       implementation (+ private headers)  -> build/lib/lib<name>.a
#   <dir>/main.c     the demo                             -> build/bin/<demo>
#   <dir>/tests/     cmocka tests, one binary per test_*.c -> build/tests/<dir>/
#                    (tests/support/*.c is linked into each of them: shared harnesses)
#   <dir>/bench/     benchmarks, one binary per *.c        -> build/bench/<dir>/
#
# $(call kc_module,DIR,LIBNAME,DEPS,DEMO) declares one. DEPS lists the module folders
# it links against, top-down (a module before the modules it uses). A module's sources
# see only its own include/ and src/ plus its DEPS' include/, so "dependencies only
# point down" is enforced by the compiler, not by convention.
#
# Optional variables a fragment may set before the call: <dir>_LDLIBS (extra libraries),
# <dir>_RUN_ARGS (arguments for `make run-<dir>`).

define kc_module
$(1)_SRCS  := $$(wildcard $(1)/src/*.c)
$(1)_OBJS  := $$($(1)_SRCS:%.c=$$(BUILD)/obj/%.o)
$(1)_LIB   := $$(if $$($(1)_SRCS),$$(BUILD)/lib/lib$(2).a)
$(1)_INCS  := -I$(1)/include -I$(1)/src $$(foreach m,$(3),-I$$(m)/include)
$(1)_LINK  := $$($(1)_LIB) $$(foreach m,$(3),$$($$(m)_LIB))
$(1)_ALLLIBS := $$($(1)_LDLIBS) $$(foreach m,$(3),$$($$(m)_LDLIBS))
$(1)_TSUPPORT := $$(patsubst %.c,$$(BUILD)/obj/%.o,$$(wildcard $(1)/tests/support/*.c))
$(1)_TESTS := $$(patsubst $(1)/tests/%.c,$$(BUILD)/tests/$(1)/%,$$(wildcard $(1)/tests/test_*.c))
$(1)_BENCH := $$(patsubst $(1)/bench/%.c,$$(BUILD)/bench/$(1)/%,$$(wildcard $(1)/bench/*.c))
$(1)_DEMO  := $$(if $$(wildcard $(1)/main.c),$(if $(4),$$(BUILD)/bin/$(4)))

ALL_LIBS   += $$($(1)_LIB)
ALL_BINS   += $$($(1)_DEMO)
ALL_TESTS  += $$($(1)_TESTS)
ALL_BENCH  += $$($(1)_BENCH)

$$(BUILD)/obj/$(1)/%.o: $(1)/%.c | $$(DEPS_STAMP)
	@mkdir -p $$(@D)
	$$(CC) $$(CPPFLAGS) $$($(1)_INCS) -Icommon/testlib $$(CFLAGS) -c $$< -o $$@

# Tests and benchmarks may include headers of the packages only they need (librdkafka's,
# say): their objects wait for those packages, each object itself, so no compile can run
# before `scripts/deps.sh test` (or bench) has installed them on a fresh machine.
$$(BUILD)/obj/$(1)/tests/%.o: $(1)/tests/%.c | $$(DEPS_STAMP) $$(TEST_DEPS_STAMP)
	@mkdir -p $$(@D)
	$$(CC) $$(CPPFLAGS) $$($(1)_INCS) -Icommon/testlib $$(CFLAGS) -c $$< -o $$@

$$(BUILD)/obj/$(1)/bench/%.o: $(1)/bench/%.c | $$(DEPS_STAMP) $$(BENCH_DEPS_STAMP)
	@mkdir -p $$(@D)
	$$(CC) $$(CPPFLAGS) $$($(1)_INCS) -Icommon/testlib $$(CFLAGS) -c $$< -o $$@

ifneq ($$($(1)_SRCS),)
$$($(1)_LIB): $$($(1)_OBJS)
	@mkdir -p $$(@D)
	@rm -f $$@
	$$(AR) rcs $$@ $$^
endif

$$(BUILD)/tests/$(1)/%: $$(BUILD)/obj/$(1)/tests/%.o $$($(1)_TSUPPORT) $$(KC_TESTLIB) $$($(1)_LINK)
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS) $$(LDFLAGS) -o $$@ $$^ $$($(1)_ALLLIBS) -lcmocka $$(LDLIBS)

$$(BUILD)/bench/$(1)/%: $$(BUILD)/obj/$(1)/bench/%.o $$($(1)_LINK)
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS) $$(LDFLAGS) -o $$@ $$^ $$($(1)_ALLLIBS) $$(LDLIBS)

ifneq ($$($(1)_DEMO),)
$$($(1)_DEMO): $$(BUILD)/obj/$(1)/main.o $$($(1)_LINK)
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS) $$(LDFLAGS) -o $$@ $$^ $$($(1)_ALLLIBS) $$(LDLIBS)

run-$(1): $$($(1)_DEMO)
	$$($(1)_DEMO) $$($(1)_RUN_ARGS)
endif

all-$(1): $$($(1)_LIB) $$($(1)_DEMO) $$($(1)_TESTS) $$($(1)_BENCH)

test-$(1): $$($(1)_TESTS) bins | $$(TEST_DEPS_STAMP)
	@scripts/run-tests.sh $$(BUILD) $$($(1)_TESTS)

bench-$(1): $$($(1)_BENCH) bins | $$(BENCH_DEPS_STAMP)
	@if [ -x $(1)/bench/run.sh ]; then BUILD=$$(BUILD) $(1)/bench/run.sh; \
	 else for b in $$($(1)_BENCH); do $$$$b || exit 1; done; fi

.PHONY: all-$(1) run-$(1) test-$(1) bench-$(1)
endef
