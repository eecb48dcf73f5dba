# replication/: Kafka's ISR replication protocol as pure state machines -> libkc_replication,
# kafka_replication (three replicas in one process; the KIP-101 case, both ways; < 1 s).
replication_RUN_ARGS ?=
$(eval $(call kc_module,replication,kc_replication,common,kafka_replication))
