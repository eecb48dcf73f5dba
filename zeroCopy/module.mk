# zeroCopy/: per-connection output queues of memory pieces and file ranges (sendfile).
$(eval $(call kc_module,zeroCopy,kc_zeroCopy,common,kafka_zeroCopy))
