# A Kafka-like streaming broker in C: one dependency graph for every module.
#
#   make                 build every library, demo, tool, test and benchmark
#   make run             start the broker on 127.0.0.1:9092 (data in ./kafka-data)
#   make test            the whole test suite (unit + end-to-end)
#   make sanitize        the whole suite again under ASan+UBSan, in build/san/
#   make tsan            the threaded tests under ThreadSanitizer, in build/tsan/
#   make clang           build everything with clang too, in build/clang/
#   make valgrind        the end-to-end tests with every broker under Valgrind memcheck
#   make bench           benchmarks: medians and ratios against the named peers
#   make fuzz            every libFuzzer target for FUZZ_SECONDS (see fuzz/fuzz.mk)
#   make install         PREFIX=/usr/local DESTDIR=
#   make clean
#   make run-<module> | test-<module> | bench-<module> | all-<module>
#
# Each module folder carries a module.mk fragment (see mk/module.mk); `cd <module> &&
# make run` forwards here. The first build installs missing Debian packages with
# scripts/deps.sh (set SKIP_DEPS=1 to skip that check): the build set for any object, the
# test set before a test's object is compiled, the bench and fuzz sets for theirs.

.DEFAULT_GOAL := all
MODULES := common mmap appendLog partitioning threadCore zeroCopy replication broker reliability

BUILD  ?= build
CC     ?= cc
AR     ?= ar
OPT    ?= -O2
SAN    ?=
WERROR ?= 0
PREFIX ?= /usr/local
DESTDIR ?=

# libbsd's overlay: <sys/queue.h>, <sys/tree.h>, strlcpy, strtonum, reallocarray
# come from libbsd (the same flags `pkg-config --cflags libbsd-overlay` prints).
CPPFLAGS += -D_GNU_SOURCE -isystem /usr/include/bsd -DLIBBSD_OVERLAY -MMD -MP
CFLAGS   += -std=c11 $(OPT) -g -Wall -Wextra -Wshadow -pthread $(EXTRA_CFLAGS)
LDLIBS   += -lbsd -pthread -lm
ifeq ($(WERROR),1)
CFLAGS   += -Werror
endif
ifneq ($(SAN),)
CFLAGS   += -fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS  += -fsanitize=$(SAN)
endif

ifeq ($(SKIP_DEPS),1)
DEPS_STAMP :=
TEST_DEPS_STAMP :=
BENCH_DEPS_STAMP :=
else
DEPS_STAMP := $(BUILD)/.deps-build
TEST_DEPS_STAMP := $(BUILD)/.deps-test
BENCH_DEPS_STAMP := $(BUILD)/.deps-bench
endif

KC_TESTLIB := $(BUILD)/lib/libkc_test.a
ALL_LIBS :=
ALL_BINS :=
ALL_TESTS :=
ALL_BENCH :=
TEST_EXTRAS :=

include mk/module.mk
include $(foreach m,$(MODULES),$(wildcard $(m)/module.mk))
include fuzz/fuzz.mk
-include bench/bench.mk

all: $(ALL_LIBS) $(ALL_BINS) $(ALL_TESTS) $(ALL_BENCH)

# Tests and benchmarks start the real binaries (the broker, the CLI), so they need them all.
bins: $(ALL_BINS) $(TEST_EXTRAS)

test: $(ALL_TESTS) bins | $(TEST_DEPS_STAMP)
	@scripts/run-tests.sh $(BUILD) $(ALL_TESTS)

sanitize:
	$(MAKE) BUILD=build/san SAN=address,undefined OPT=-O1 test

tsan:
	$(MAKE) BUILD=build/tsan SAN=thread OPT=-O1 test

# Everything built with clang too (the house rule: -Wall -Wextra clean under gcc and clang).
clang:
	@$(if $(filter 1,$(SKIP_DEPS)),true,scripts/deps.sh fuzz)
	$(MAKE) BUILD=build/clang CC=clang all

# Every end-to-end test again, each broker under Valgrind's memcheck: an uninitialised or
# freed byte that reaches a socket ("syscall param ... points to uninitialised byte(s)"),
# an invalid read or a definite leak fails the test (broker/tests/support/harness.c).
VALGRIND_WRAP := valgrind -q --error-exitcode=99 --error-markers=KC-WRAP-ERROR-BEGIN,KC-WRAP-ERROR-END \
	--track-origins=yes --leak-check=full --errors-for-leak-kinds=definite \
	--suppressions=$(CURDIR)/scripts/valgrind.supp
valgrind:
	$(MAKE) BUILD=build/vg OPT=-O1 valgrind-run

valgrind-run: $(broker_TESTS) bins | $(TEST_DEPS_STAMP)
	@KC_BROKER_WRAP="$(VALGRIND_WRAP)" TEST_TIMEOUT=1200 scripts/run-tests.sh $(BUILD) \
		$(filter $(BUILD)/tests/broker/test_%,$(broker_TESTS))

bench: $(ALL_BENCH) bins | $(BENCH_DEPS_STAMP)
	@scripts/run-bench.sh $(BUILD) $(MODULES)

# `make run` builds every program the README's tour uses (the broker, kafka_cli, the
# demos) and starts the broker.
run: bins
	$(broker_DEMO) $(broker_RUN_ARGS)

# `make cluster`: ZooKeeper and three brokers on 127.0.0.1:9092-9094, data in
# ./cluster-data (broker/README.md, "A cluster"); Ctrl-C stops them all.
cluster: bins
	@scripts/cluster.sh $(BUILD)

# Programs in bin/, the static libraries in lib/, and their public headers (each module's
# include/) in include/kafka-c/, so the libraries can be used by other programs.
PUBLIC_HEADERS = $(wildcard $(foreach m,$(MODULES) broker/core broker/native/codec broker/native/serve broker/kafka/codec broker/kafka/group broker/kafka/serve broker/security broker/cluster broker/http/codec broker/cli,$(m)/include/*.h))
install: $(ALL_BINS) $(ALL_LIBS)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include/kafka-c
	install -m 0755 $(ALL_BINS) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 $(ALL_LIBS) $(DESTDIR)$(PREFIX)/lib/
	install -m 0644 $(PUBLIC_HEADERS) $(DESTDIR)$(PREFIX)/include/kafka-c/

clean:
	rm -rf build

# Objects are never intermediate files to delete.
.SECONDARY:

# Stamps that say a package set was checked; precious, or make would delete them.
.PRECIOUS: $(BUILD)/.deps-%
$(BUILD)/.deps-%: scripts/deps.sh
	@scripts/deps.sh $*
	@mkdir -p $(@D) && touch $@

deps: ; @scripts/deps.sh all
format: ; clang-format -i $(shell git ls-files '*.c' '*.h')

.PHONY: all bins test sanitize tsan clang valgrind valgrind-run bench run cluster install clean deps format

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
