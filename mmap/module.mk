# mmap/: mapped files and Kafka's mapped offset/time index -> libkc_mmap, kafka_mmap.
$(eval $(call kc_module,mmap,kc_mmap,common,kafka_mmap))
