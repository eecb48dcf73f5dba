# broker/replica/: the broker as a cluster member (README.md "A cluster" in broker/) -
# registration through broker/cluster, the view published to the core's partition
# authority (brk_cluster.h), the replica logs, controlled shutdown.  -> libbrk_replica.a
$(eval $(call kc_module,broker/replica,brk_replica,broker/cluster broker/kafka/fetcher replication broker/core broker/security $(BRK_STORAGE),))
