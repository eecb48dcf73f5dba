# broker/security/: the security building blocks the broker wires in (README.md):
# SCRAM-SHA-256/512 and PLAIN on one credential store, Kafka's ACL authorizer, and the
# principal of a client certificate. Pure where it can be; OpenSSL's libcrypto for the
# hashes, HMACs, PBKDF2, randomness and X.509 names.  -> libbrk_sec.a, kafka_security
broker/security_LDLIBS := -lcrypto
$(eval $(call kc_module,broker/security,brk_sec,common,kafka_security))
