# threadCore/: pinned worker threads and the per-core event loop (epoll, timers, tasks).
$(eval $(call kc_module,threadCore,kc_threadCore,common,kafka_threadCore))
