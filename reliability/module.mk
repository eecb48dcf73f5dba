# reliability/: the harnesses that prove the broker survives (issue 6).
#
#   libkc_rel.a       fault control (flt.h), broker processes (rel.h), the crash loop
#                     (rel_crash.h)
#   kafka_crashloop   the crash loop as a program (main.c)
#   libkc_fault.so    the LD_PRELOAD shim that makes write/fsync/rename fail on demand and
#                     records what each fsync made durable (the power-cut model)
#
# Targets (each prints its figures):
#   make crashloop [CYCLES=100] [SEED=n] [ACKS=both|all|1] [POWERCUT=1]
#                      the long crash loop (the short one runs in `make test`)
#   make hostile       the hostile-input and fault tests against a real broker
#   make chaos [CHAOS_CYCLES=100]
#                      real clients (librdkafka) under kill -9 and SIGSTOP, judged by the
#                      history checker (the short form runs in `make test`)
#   make chaos-cluster [CHAOS_CYCLES=100] [CHAOS_EXPECT=anomalies|none]
#                      the same workload against ZooKeeper and 3 replicated brokers under
#                      every fault of tests/chaos_faults.h, and the replicas compared
#
# The shim is built without sanitizers and position-independent: it is loaded into other
# processes (the broker under test), never linked into this project's programs.
# broker/cluster for clu_zks (a real ZooKeeper for the cluster's chaos test).
$(eval $(call kc_module,reliability,kc_rel,broker/cluster replication broker/native/codec common,kafka_crashloop))
reliability_RUN_ARGS ?= --cycles 3

FLT_SHIM := $(BUILD)/lib/libkc_fault.so
$(FLT_SHIM): reliability/shim/shim.c reliability/include/flt.h
	@mkdir -p $(@D)
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Wshadow $(if $(filter 1,$(WERROR)),-Werror) \
		-fPIC -shared -Ireliability/include $< -o $@ -ldl
TEST_EXTRAS += $(FLT_SHIM)

CYCLES ?= 100
ACKS ?= both
POWERCUT ?= 1
SEED ?=
CRASHLOOP_FLAGS = --cycles $(CYCLES) $(if $(SEED),--seed $(SEED)) \
	$(if $(filter 0,$(POWERCUT)),--no-powercut)

crashloop: bins
	@set -e; for a in $(if $(filter both,$(ACKS)),all 1,$(ACKS)); do \
		echo "== kafka_crashloop --acks $$a $(CRASHLOOP_FLAGS)"; \
		$(BUILD)/bin/kafka_crashloop --acks $$a $(CRASHLOOP_FLAGS); echo; done

HOSTILE_TESTS = $(filter $(BUILD)/tests/broker/test_02%,$(broker_TESTS)) \
	$(BUILD)/tests/reliability/test_faults
hostile: $(HOSTILE_TESTS) bins | $(TEST_DEPS_STAMP)
	@scripts/run-tests.sh $(BUILD) $(HOSTILE_TESTS)
	@for t in $(HOSTILE_TESTS); do grep -h '^# figure' \
		$(BUILD)/test-logs/$${t#$(BUILD)/tests/}.log || true; done

# The queue workload of real clients under faults (tests/test_chaos.c), long form.
CHAOS_CYCLES ?= 100
chaos: $(BUILD)/tests/reliability/test_chaos bins | $(TEST_DEPS_STAMP)
	CHAOS_CYCLES=$(CHAOS_CYCLES) TEST_TIMEOUT=$$((60 + $(CHAOS_CYCLES) * 5)) \
		scripts/run-tests.sh $(BUILD) $(BUILD)/tests/reliability/test_chaos
	@grep -h '^# figure\|^  [a-z-]* *[0-9]' $(BUILD)/test-logs/reliability/test_chaos.log || true

# The same against a cluster (tests/test_chaos_cluster.c); about 4-5 s a cycle. CHAOS_EXPECT:
# none (the default: no anomaly allowed) or anomalies (the proof, on a broker that does not
# replicate); `make test` runs the short form with neither (a replicating broker: none).
CHAOS_EXPECT ?= none
chaos-cluster: $(BUILD)/tests/reliability/test_chaos_cluster bins | $(TEST_DEPS_STAMP)
	CHAOS_CYCLES=$(CHAOS_CYCLES) CHAOS_EXPECT=$(CHAOS_EXPECT) \
		TEST_TIMEOUT=$$((180 + $(CHAOS_CYCLES) * 15)) \
		scripts/run-tests.sh $(BUILD) $(BUILD)/tests/reliability/test_chaos_cluster
	@grep -h '^# figure\|^# replica\|^# skipped\|^  [a-z-]* *[0-9]' \
		$(BUILD)/test-logs/reliability/test_chaos_cluster.log || true

.PHONY: crashloop hostile chaos chaos-cluster

# The demo is the crash loop: it needs the broker and the shim too.
run-reliability: bins

# kafka_histcheck: the queue-history checker (rel_history.h), a program of its own.
HISTCHECK := $(BUILD)/bin/kafka_histcheck
$(HISTCHECK): $(BUILD)/obj/reliability/tools/histcheck.o $(reliability_LINK)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(reliability_ALLLIBS) $(LDLIBS)
ALL_BINS += $(HISTCHECK)
