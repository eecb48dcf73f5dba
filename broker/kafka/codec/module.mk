# broker/kafka/codec: the schema-driven Kafka codec (libbrk_kp), generated from Kafka's own
# message definitions. It shares the kp_ prefix with broker/kafka's hand-written codec
# (libbrk_kafka), which phase 2 replaces: never link both into one binary.
#
#   make kp-codegen        regenerate include/kpm_*.h, src/kpm_*.c from ../shared's JSON
#   make kp-codegen-check  fail if the committed files differ from a fresh generation
#                          (tests/test_kp_gen does the same inside `make test`)
$(eval $(call kc_module,broker/kafka/codec,brk_kp,common,kafka_kp_dump))

KP_GEN := broker/kafka/codec/gen/kpgen.py
kp-codegen:
	python3 $(KP_GEN)
kp-codegen-check:
	python3 $(KP_GEN) --check
.PHONY: kp-codegen kp-codegen-check
