# mmap/: mapped files and Kafka's mapped offset/time index -> libkc_mmap, kafka_mmap.
# No arguments: make a segment in a temp dir, search it, time mapped vs pread (~3 s).
mmap_RUN_ARGS ?=
$(eval $(call kc_module,mmap,kc_mmap,common,kafka_mmap))
