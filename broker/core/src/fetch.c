/*
 * fetch.c - reading for consumers: a file slice of whole batches, sent with sendfile.
 *
 * A consumer asks for what follows an offset. The log finds the batch that contains it and
 * returns a slice of the segment file - that batch and the whole batches after it, up to
 * max_bytes - holding a reference on the segment so retention cannot pull it away while
 * the slice is being sent. The broker never reads or copies the records it serves: the
 * adapter queues the slice (brk_resp_file) and zeroCopy sends it from the page cache.
 *
 * Waiting for data is not here: a request at the log end parks and watches the log
 * (brk_park_watch, park.c), and appendLog itself wakes it when an append passes the
 * offset (appendLog/src/watch.c tells how no wake-up is ever lost).
 */
#include "brk_int.h"

int brk_fetch_read(struct brk_server *srv, struct alog *log, int64_t offset, size_t max_bytes,
                   struct alog_slice *slice)
{
    return alog_read(log, offset, KC_MIN(max_bytes, (size_t)srv->cfg.fetch_max_bytes), slice);
}
