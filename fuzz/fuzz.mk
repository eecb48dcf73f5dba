# fuzz/fuzz.mk: libFuzzer targets (clang, with ASan+UBSan), built in build/fuzz/.
#
#   make fuzz                      build every target and run each for FUZZ_SECONDS (30)
#   make fuzz FUZZ_SECONDS=600     a longer campaign
#   make fuzz FUZZ_TARGETS=fuzz_batch
#
# Each fuzz/fuzz_<name>.c is one target; fuzz/corpus/fuzz_<name>/ is its seed corpus (kept
# in git: real client bytes and hand-made edge cases). New inputs a run discovers go to
# build/fuzz/corpus/<name>/, not into the repository; a crash leaves its input in
# build/fuzz/crash-*, to be turned into a regression test.

FUZZ_SECONDS ?= 30
FUZZ_TARGETS ?= $(patsubst fuzz/%.c,%,$(wildcard fuzz/fuzz_*.c))
# Every library, top-down, so that each target links whatever it uses.
FUZZ_LIBS = $(foreach m,broker/cluster replication broker/security broker/core broker/kafka broker/native/codec partitioning appendLog mmap threadCore zeroCopy broker/http/codec common,$($(m)_LIB))
FUZZ_INCS = $(foreach m,broker/cluster broker/security $(MODULES) broker/core broker/native/codec broker/kafka broker/http/codec,-I$(m)/include)
# broker/security and zeroCopy's TLS use OpenSSL.
FUZZ_LDLIBS = -lssl -lcrypto

$(BUILD)/fuzz/%: fuzz/%.c $(FUZZ_LIBS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(FUZZ_INCS) $(CFLAGS) -fsanitize=fuzzer $< $(FUZZ_LIBS) -o $@ $(LDFLAGS) $(FUZZ_LDLIBS) $(LDLIBS)

# clang comes from the fuzz package set: installed before the sub-make compiles anything.
fuzz:
	@$(if $(filter 1,$(SKIP_DEPS)),true,scripts/deps.sh fuzz)
	$(MAKE) BUILD=build/fuzz CC=clang SAN=address,undefined OPT=-O1 \
		EXTRA_CFLAGS=-fsanitize=fuzzer-no-link fuzz-run

fuzz-run: $(foreach t,$(FUZZ_TARGETS),$(BUILD)/fuzz/$(t)) | $(BUILD)/.deps-fuzz
	@scripts/fuzz.sh $(BUILD)/fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)

.PHONY: fuzz fuzz-run
