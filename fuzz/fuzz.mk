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
# fuzz/fuzz_*.c, and the Kafka codec's own target, which lives with the codec.
FUZZ_TARGETS ?= $(patsubst fuzz/%.c,%,$(wildcard fuzz/fuzz_*.c)) fuzz_kp_codec
# Every library, top-down, so that each target links whatever it uses.
FUZZ_MODS = reliability broker/kafka/serve broker/kafka/group broker/cluster replication broker/core broker/security broker/kafka/codec broker/native/codec partitioning appendLog mmap threadCore zeroCopy broker/http/codec common
FUZZ_LIBS = $(foreach m,$(FUZZ_MODS),$($(m)_LIB))
# fuzz_kafka_request calls the Kafka door's produce check, declared in its private header.
FUZZ_INCS = $(foreach m,broker/cluster broker/security $(MODULES) broker/core broker/native/codec broker/kafka/codec broker/kafka/group broker/http/codec,-I$(m)/include) -Ibroker/kafka/serve/src
# Each library's own system libraries (OpenSSL, the codecs, the ZooKeeper client), as the
# modules' programs link them.
FUZZ_LDLIBS = $(sort $(foreach m,$(FUZZ_MODS),$($(m)_LDLIBS))) -lssl -lcrypto

$(BUILD)/fuzz/%: fuzz/%.c $(FUZZ_LIBS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(FUZZ_INCS) $(CFLAGS) -fsanitize=fuzzer $< $(FUZZ_LIBS) -o $@ $(LDFLAGS) $(FUZZ_LDLIBS) $(LDLIBS)

$(BUILD)/fuzz/fuzz_kp_codec: broker/kafka/codec/fuzz/fuzz_kp_codec.c $(FUZZ_LIBS)
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
