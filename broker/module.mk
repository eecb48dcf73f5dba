include broker/security/module.mk
# broker/: the networked server and its CLI, in four parts (each a kc_module):
#
#   broker/proto  native protocol: frame codec + blocking client   -> libbrk_proto.a
#   broker/kafka  Kafka protocol: request/response codec, groups   -> libbrk_kafka.a
#   broker/cli    kafka_cli: REPL, one-shot commands, load test     -> libbrk_cli.a, kafka_cli
#   broker        the server: event loops, requests, storage        -> libbrk.a, kafka_broker
#
# The broker's tests (broker/tests/) are end-to-end: they start build/bin/kafka_broker on an
# ephemeral 127.0.0.1 port and drive it over the network.

$(eval $(call kc_module,broker/proto,brk_proto,common,))
$(eval $(call kc_module,broker/kafka,brk_kafka,common,))

broker/cli_LDLIBS := -ledit
$(eval $(call kc_module,broker/cli,brk_cli,broker/proto common,kafka_cli))

ifneq ($(wildcard broker/main.c),)
broker_RUN_ARGS ?=
$(eval $(call kc_module,broker,brk,broker/kafka broker/proto partitioning appendLog mmap threadCore zeroCopy common,kafka_broker))
RUN_TARGET := run-broker
endif
