# broker/http/codec: the HTTP door's pure half (request heads, responses, the Prometheus
# text format), no sockets -> libbrk_hp.a. The broker's HTTP listener and kafka_cli top
# link it. See README.md.
$(eval $(call kc_module,broker/http/codec,brk_hp,common,))
