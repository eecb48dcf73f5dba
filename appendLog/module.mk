# appendLog/: the segmented log, recovery, flusher, retention -> libkc_appendLog,
# kafka_appendLog (`make run` runs the demo until the broker lands).
appendLog_RUN_ARGS ?=
$(eval $(call kc_module,appendLog,kc_appendLog,mmap common,kafka_appendLog))
