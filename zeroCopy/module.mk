# zeroCopy/: per-connection output queues of memory pieces and file ranges (sendfile).
# TLS (zc_tls.h) is OpenSSL 3: every binary that links zeroCopy links libssl and libcrypto.
zeroCopy_LDLIBS := -lssl -lcrypto
$(eval $(call kc_module,zeroCopy,kc_zeroCopy,common,kafka_zeroCopy))
