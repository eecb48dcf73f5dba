# broker/kafka/codec: the schema-driven Kafka codec (libbrk_kp), generated from Kafka's own
# message definitions; the Kafka door (broker/kafka/serve) speaks through it.
#
#   make kp-codegen        regenerate include/kpm_*.h, src/kpm_*.c from ../shared's JSON
#   make kp-codegen-check  fail if the committed files differ from a fresh generation
#                          (tests/test_kp_gen does the same inside `make test`)
$(eval $(call kc_module,broker/kafka/codec,brk_kp,common,kafka_kp_dump))

# The capture server (broker/kafka/tools/kp_capsrv.c): a tool built on this library, so it
# gets its own object path (it is no module of its own).
KP_CAPSRV := $(BUILD)/bin/kp_capsrv
ALL_BINS += $(KP_CAPSRV)
$(BUILD)/obj/kp_tools/kp_capsrv.o: broker/kafka/tools/kp_capsrv.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(broker/kafka/codec_INCS) $(CFLAGS) -c $< -o $@
$(KP_CAPSRV): $(BUILD)/obj/kp_tools/kp_capsrv.o $(broker/kafka/codec_LINK)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)
all-broker/kafka/codec: $(KP_CAPSRV)

KP_GEN := broker/kafka/codec/gen/kpgen.py
kp-codegen:
	python3 $(KP_GEN)
kp-codegen-check:
	python3 $(KP_GEN) --check
.PHONY: kp-codegen kp-codegen-check
