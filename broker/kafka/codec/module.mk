# broker/kafka/codec: the schema-driven Kafka codec (libbrk_kp), generated from Kafka's own
# message definitions. It shares the kp_ prefix with broker/kafka's hand-written codec
# (libbrk_kafka), which phase 2 replaces: never link both into one binary.
#
#   make kp-codegen        regenerate include/kpm_*.h, src/kpm_*.c from ../shared's JSON
#   make kp-codegen-check  fail if the committed files differ from a fresh generation
#                          (tests/test_kp_gen does the same inside `make test`)
$(eval $(call kc_module,broker/kafka/codec,brk_kp,common,kafka_kp_dump))

# The capture server (broker/kafka/tools/kp_capsrv.c): a tool built on this library, so it
# gets its own object path (broker/kafka's pattern rule would give it the old headers).
KP_CAPSRV := $(BUILD)/bin/kp_capsrv
ALL_BINS += $(KP_CAPSRV)
$(BUILD)/obj/kp_tools/kp_capsrv.o: broker/kafka/tools/kp_capsrv.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(broker/kafka/codec_INCS) $(CFLAGS) -c $< -o $@
$(KP_CAPSRV): $(BUILD)/obj/kp_tools/kp_capsrv.o $(broker/kafka/codec_LINK)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)
all-broker/kafka/codec: $(KP_CAPSRV)

# The hand-written codec's side of the benchmark (bench/old/kp_bench_old.c), linked with
# libbrk_kafka and never with libbrk_kp: both export kp_ symbols. Literal library paths,
# because broker/kafka's module variables are defined after this file is read.
KP_BENCH_OLD := $(BUILD)/bench/broker/kafka/codec/kp_bench_old
ALL_BENCH += $(KP_BENCH_OLD)
$(BUILD)/obj/kp_tools/kp_bench_old.o: broker/kafka/codec/bench/old/kp_bench_old.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Ibroker/kafka/include -Ibroker/kafka/src -Icommon/include \
	    -Ibroker/kafka/codec/bench $(CFLAGS) -c $< -o $@
$(KP_BENCH_OLD): $(BUILD)/obj/kp_tools/kp_bench_old.o $(BUILD)/lib/libbrk_kafka.a \
		$(BUILD)/lib/libkc_common.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)
bench-broker/kafka/codec all-broker/kafka/codec: $(KP_BENCH_OLD)

KP_GEN := broker/kafka/codec/gen/kpgen.py
kp-codegen:
	python3 $(KP_GEN)
kp-codegen-check:
	python3 $(KP_GEN) --check
.PHONY: kp-codegen kp-codegen-check
