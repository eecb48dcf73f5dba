# bench/bench.mk: the system benchmark, the broker beside its peers (bench/README.md).
#
#   make bench           every module benchmark, then bench/run.sh (scripts/run-bench.sh)
#   make bench-system    only bench/run.sh: the broker vs Redis, NATS JetStream, raw TCP
#                        and librdkafka's mock cluster      (BENCH_QUICK=1: the short form)
#   make bench-system-bins   build the load clients only
#   make test-bench-system   check the report's medians, ratios and PASS/MISS verdicts
#   make test-bench-kafka    bench_kafka against a stand-in offering every Kafka version
#   make bench-cluster       only bench/cluster.sh: ZooKeeper and three brokers, replication
#                        factor 3 against 1, end-to-end latency, failover times (issue 13;
#                        bench-system runs it too, BENCH_CLUSTER=0 skips it there)
#
# bench/ is not a module (nothing links against it), so it is not in MODULES: its load
# clients need the peers' client libraries (libnats, librdkafka), which scripts/deps.sh
# installs for `bench` only, so they are built by the bench targets and never by `make all`.
#
#   bench/lib/*.c      shared by every client (sockets, the pipelined loop, the RESULT line,
#                      CPU placement)
#   bench/bench_*.c    one load client each          -> $(BUILD)/bench/system/bench_*
#   bench/native_*.c   the rest of bench_native (native.h): its round trip and consume
#   bench/kafka_*.c    the rest of bench_kafka (kafka.h): its connection, consume, sessions,
#                      spread
#
# bench_native speaks the broker's native protocol (broker/native/codec), so it is built once
# the broker has landed (broker/main.c exists). bench_kafka speaks Kafka through the
# generated codec, libbrk_kp (broker/kafka/codec), and links no other kp_ library: the
# hand-written libbrk_kafka exports the same prefix.

BENCH_SYS_DIR  := $(BUILD)/bench/system
BENCH_SYS_LIB  := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard bench/lib/*.c))
BENCH_SYS_SRCS := bench/bench_tcp.c bench/bench_redis.c bench/bench_nats.c bench/bench_rdkafka.c \
                  bench/bench_disk.c
ifneq ($(wildcard broker/main.c),)
BENCH_SYS_SRCS += bench/bench_native.c
endif
ifneq ($(wildcard broker/kafka/codec/module.mk),)
BENCH_SYS_SRCS += bench/bench_kafka.c
endif
BENCH_SYS_SRCS := $(wildcard $(BENCH_SYS_SRCS))
BENCH_SYS_BINS := $(patsubst bench/%.c,$(BENCH_SYS_DIR)/%,$(BENCH_SYS_SRCS))
BENCH_SYS_INCS := -Ibench/lib -Icommon/include -Ibroker/native/codec/include \
                  -Ibroker/kafka/codec/include -IzeroCopy/include

bench_nats_LDLIBS    := $(shell pkg-config --libs libnats 2>/dev/null || echo -lnats)
bench_rdkafka_LDLIBS := $(shell pkg-config --libs rdkafka 2>/dev/null || echo -lrdkafka)
bench_native_LINK    := $(BUILD)/obj/bench/native_rtt.o $(BUILD)/obj/bench/native_consume.o \
                        $(BUILD)/obj/bench/native_handshake.o $(broker/native/codec_LINK)
bench_native_LDLIBS  := $(broker/native/codec_ALLLIBS) # TLS and SASL: OpenSSL
bench_kafka_LINK     := $(BUILD)/obj/bench/kafka_conn.o $(BUILD)/obj/bench/kafka_consume.o \
                        $(BUILD)/obj/bench/kafka_session.o $(BUILD)/obj/bench/kafka_spread.o \
                        $(BUILD)/obj/bench/kafka_cluster.o $(BUILD)/obj/bench/kafka_failover.o \
                        $(broker/kafka/codec_LIB)

$(BUILD)/obj/bench/%.o: bench/%.c | $(BENCH_DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(BENCH_SYS_INCS) $(CFLAGS) -c $< -o $@

$(BENCH_SYS_DIR)/%: $(BUILD)/obj/bench/%.o $(BENCH_SYS_LIB) $(common_LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BENCH_SYS_LIB) $($*_LINK) $(common_LIB) \
		$($*_LDLIBS) $(LDLIBS)

$(BENCH_SYS_DIR)/bench_native: $(bench_native_LINK)
$(BENCH_SYS_DIR)/bench_kafka: $(bench_kafka_LINK)

# bench_kafka against a Kafka stand-in offering every version the codec has (flexible
# Produce and Fetch, topic ids, idempotence): the paths the broker does not offer yet.
kafka_stub_LINK := $(broker/kafka/codec_LIB)
$(BENCH_SYS_DIR)/kafka_stub: $(kafka_stub_LINK)
test-bench-kafka: $(BENCH_SYS_DIR)/bench_kafka $(BENCH_SYS_DIR)/kafka_stub
	@BUILD=$(BUILD) bench/test_kafka.sh

bench-system-bins: $(BENCH_SYS_BINS)

# The report's arithmetic and verdicts, on made-up runs (no servers, a second).
test-bench-system:
	@bench/test_report.sh

bench-system: $(BENCH_SYS_BINS) bins | $(BENCH_DEPS_STAMP)
	@BUILD=$(BUILD) bench/run.sh

bench-cluster: $(BENCH_SYS_DIR)/bench_kafka $(BENCH_SYS_DIR)/bench_tcp bins
	@BUILD=$(BUILD) bench/cluster.sh

# `make bench` (root Makefile) runs bench/run.sh after the module benchmarks: build the
# clients first.
bench: $(BENCH_SYS_BINS)

.PHONY: bench-system bench-system-bins test-bench-system test-bench-kafka bench-cluster
