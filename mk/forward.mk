# mk/forward.mk: what a module folder's Makefile includes. The real build is the root
# Makefile (one dependency graph, no recursive make); here `make` builds this module,
# `make test` runs its tests, `make run` its demo, `make bench` its benchmarks. Variables
# given on the command line (BUILD=..., SAN=...) pass through.
KC_ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))/..)
MODULE := $(patsubst $(KC_ROOT)/%,%,$(CURDIR))
.DEFAULT_GOAL := all
all test run bench:
	@$(MAKE) --no-print-directory -C $(KC_ROOT) $@-$(MODULE)
clean:
	@$(MAKE) --no-print-directory -C $(KC_ROOT) clean
.PHONY: all test run bench clean
