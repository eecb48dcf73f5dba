# partitioning/: the topic registry over the data directory, and the partitioners.
$(eval $(call kc_module,partitioning,kc_partitioning,appendLog mmap common,kafka_partitioning))
