# broker/: the networked server and its CLI - a protocol-neutral core, and one adapter
# ("door") per protocol beside it, each a codec half (pure, fuzzed) and a serving half:
#
#   broker/core          the core: process, loops, connections, answers  -> libbrk_core.a
#                        in order, parked requests, storage services
#   broker/native/codec  native protocol: frames + blocking client (np_) -> libbrk_np.a
#                        (its client's TLS and SASL halves use zeroCopy and broker/security)
#   broker/native/serve  the native door (brk_native_)                   -> libbrk_native.a
#   broker/kafka/codec   Kafka's wire format, generated from its JSON (kp_) -> libbrk_kp.a
#   broker/kafka/group   the consumer-group coordinator, pure (kg_)      -> libbrk_kg.a
#   broker/kafka/serve   the Kafka door (brk_kafka_)                     -> libbrk_kafka_serve.a
#   broker/kafka/fetcher a follower's replica fetcher, a Kafka client (kfr_) -> libbrk_kfr.a
#   broker/http/codec    HTTP/1.1 heads, Prometheus text (hp_)           -> libbrk_hp.a
#   broker/http/serve    the HTTP door: /metrics, /health (brk_http_)   -> libbrk_http.a
#   broker/cluster       the cluster's metadata on ZooKeeper (clu_)       -> libbrk_cluster.a
#   broker/replica       the broker as a cluster member (brep_)           -> libbrk_replica.a
#   broker/cli           kafka_cli: REPL, one-shot commands, load test   -> kafka_cli
#   broker               main.c composes core + doors                     -> kafka_broker
#
# Dependencies point one way: door -> core -> storage modules; a codec half depends on
# common/ only (the native client's TLS and SASL files aside: they are separate objects, so
# a program that never calls them links neither OpenSSL nor broker/security).
# The broker's tests (broker/tests/) are end-to-end: they start build/bin/kafka_broker on an ephemeral 127.0.0.1 port and drive it over the network.

BRK_STORAGE := partitioning appendLog mmap threadCore zeroCopy common
BRK_CORE := broker/core broker/security

include broker/security/module.mk
include broker/cluster/module.mk

$(eval $(call kc_module,broker/native/codec,brk_np,broker/security zeroCopy common,))
include broker/kafka/codec/module.mk
$(eval $(call kc_module,broker/kafka/group,brk_kg,broker/kafka/codec common,))
$(eval $(call kc_module,broker/kafka/fetcher,brk_kfr,broker/kafka/codec common,))
$(eval $(call kc_module,broker/core,brk_core,broker/security $(BRK_STORAGE),))
$(eval $(call kc_module,broker/native/serve,brk_native,broker/native/codec $(BRK_CORE) $(BRK_STORAGE),))
$(eval $(call kc_module,broker/kafka/serve,brk_kafka_serve,$(BRK_CORE) broker/kafka/group broker/kafka/codec $(BRK_STORAGE),))

include broker/http/codec/module.mk
$(eval $(call kc_module,broker/http/serve,brk_http,$(BRK_CORE) broker/http/codec $(BRK_STORAGE),))

broker/cli_LDLIBS := -ledit -ljansson
$(eval $(call kc_module,broker/cli,brk_cli,broker/native/codec broker/kafka/codec broker/http/codec broker/security zeroCopy common,kafka_cli))

include broker/replica/module.mk

broker_RUN_ARGS ?=
$(eval $(call kc_module,broker,brk,broker/replica broker/cluster replication broker/http/serve broker/kafka/serve broker/native/serve broker/native/codec $(BRK_CORE) broker/http/codec broker/kafka/group broker/kafka/fetcher broker/kafka/codec $(BRK_STORAGE),kafka_broker))
