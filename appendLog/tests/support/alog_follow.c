/*
 * alog_follow.c - what the follower tests share (alog_follow.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "alog_follow.h"
#include "alog_fixture.h"
#include "kc_common.h"
#include "kc_fs.h"

/* A leader's batch: n records at base, in epoch, its base offset and epoch in place. */
uint8_t *fx_lbatch(int64_t base, int n, int32_t epoch, size_t *len)
{
    uint8_t *b = fx_batch(base, n, 24, 1000 + base, len);
    kc_batch_set_base_offset(b, base);
    kc_batch_set_leader_epoch(b, epoch);
    return b;
}

/* Append b to a growing buffer (a fetch answer). */
void fx_put(uint8_t **buf, size_t *len, const uint8_t *b, size_t n)
{
    *buf = realloc(*buf, *len + n);
    assert_non_null(*buf);
    memcpy(*buf + *len, b, n);
    *len += n;
}

/* k batches of n records from base, epoch e each, back to back. */
uint8_t *fx_lrun(int64_t base, int k, int n, int32_t e, size_t *len)
{
    uint8_t *buf = NULL;
    *len = 0;
    for (int i = 0; i < k; i++) {
        size_t m;
        uint8_t *b = fx_lbatch(base + (int64_t)i * n, n, e, &m);
        fx_put(&buf, len, b, m);
        free(b);
    }
    return buf;
}

void fx_replica(struct alog *log, const uint8_t *p, size_t len, int64_t want_end)
{
    size_t used;
    int64_t end;
    assert_int_equal(alog_append_replica(log, p, len, &used, &end), 0);
    assert_int_equal(used, len);
    assert_int_equal(end, want_end);
}

/* Everything from `from` to the end, as read back (alog_read_copy, batch by batch). */
size_t fx_read_all(struct alog *log, int64_t from, struct kc_writer *w)
{
    kc_writer_reset(w);
    int64_t at = from, next;
    while (at < alog_end_offset(log)) {
        int rc = alog_read_copy(log, at, 1 << 20, w, &next);
        if (rc)
            fail_msg("read at %lld: %s", (long long)at, kc_strerror(rc));
        at = next;
    }
    return kc_writer_len(w);
}

struct alog *fx_follow_open(const char *dir, uint64_t seg_bytes, struct alog_flusher *f)
{
    struct alog_config cfg;
    fx_config(&cfg, seg_bytes);
    cfg.index_interval_bytes = 100; /* index entries in small segments: cuts must drop some */
    struct alog *log;
    assert_int_equal(alog_open(&log, dir, &cfg, f), 0);
    return log;
}


struct alog_store *fx_store_open(const char *dir)
{
    struct alog_store_config sc;
    alog_store_config_init(&sc);
    sc.cleaner_threads = 0;
    struct alog_store *s;
    assert_int_equal(alog_store_open(&s, dir, &sc), 0);
    return s;
}

struct alog *fx_store_log(struct alog_store *s, const char *s_dir, uint64_t seg_bytes)
{
    struct alog_config cfg;
    fx_config(&cfg, seg_bytes);
    struct alog *log;
    char dir[4096];
    fx_path(dir, sizeof(dir), s_dir, "t-0");
    assert_int_equal(kc_mkdir_p(dir, 0755), 0);
    assert_int_equal(alog_store_add(s, "t-0", &cfg, &log), 0);
    return log;
}
