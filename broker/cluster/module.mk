# broker/cluster/: the cluster's metadata on ZooKeeper (README.md) - Kafka's ZooKeeper-mode
# layout (broker registrations, the controller and its epoch, topic assignments, partition
# states), the controller that turns ZooKeeper's news into replication's events and its
# records into conditional writes, and every broker's view. Needs Debian's
# libzookeeper-mt-dev (the C client, multi-threaded flavour); its tests start a real
# ZooKeeper (Debian's zookeeper package, Java).  -> libbrk_cluster.a, kafka_cluster_zk
broker/cluster_LDLIBS := -lzookeeper_mt
broker/cluster_RUN_ARGS ?=
$(eval $(call kc_module,broker/cluster,brk_cluster,replication common,kafka_cluster_zk))
