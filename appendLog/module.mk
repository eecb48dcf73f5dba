# appendLog/: the segmented log, recovery, flusher, retention -> libkc_appendLog,
# kafka_appendLog (`make run` runs the demo until the broker lands).
# No arguments: the tour (append, reopen, read, crash and recover, dump) in a temporary
# directory that is removed at the end; it takes well under a second.
appendLog_RUN_ARGS ?=
$(eval $(call kc_module,appendLog,kc_appendLog,mmap common,kafka_appendLog))
