/*
 * store_ckpt.c - the data directory's checkpoints, in Kafka's format, and the journal that
 * says which logs a crash may have left with unflushed records.
 *
 *   recovery-point-offset-checkpoint    log-start-offset-checkpoint    cleaner-offset-checkpoint
 *   0                  version          0                              0
 *   3                  entries          3                              1
 *   payments 0 81920   topic partition  payments 0 0                   __consumer_offsets 7 5120
 *   payments 1 80110   offset           payments 1 0
 *   orders 0 12                         orders 0 0
 *
 * One file of each kind for every partition of the directory, as Kafka's LogManager keeps
 * them (Kafka: per log.dirs entry), written whole with kc_atomic_replace: a crash leaves
 * the old file or the new one. With a hundred thousand partitions that is ~3 MB, written
 * every few seconds if anything changed: a write of the page cache and two fsyncs.
 *
 * What a crash leaves unknown is which logs were appended to after their recovery point
 * was written. Kafka does not know either: it recovers every log at start (opening every
 * segment of every partition). Here a log is written to the open-log journal BEFORE it
 * opens (life.c), durably, and leaves it only once a checkpoint written after its close
 * lists its final recovery point:
 *
 *   open-log-journal
 *   0                  version
 *   payments 0         appended (O_APPEND, fdatasync; one fsync for every log opening at
 *   orders 0           the same moment), rewritten whole after each checkpoint
 *
 * A line is written when its log opens (so a killed process leaves it in the page cache,
 * beside the records it may have acknowledged) and made durable (one fdatasync for every
 * line written meanwhile) before that log's data is first fsynced: an acknowledged (acks=all)
 * record is on disk only after its log's line is. So after a crash the logs whose
 * acknowledged records lie past their recovery point are all listed, and the work of the
 * next start (the store's sweep) is proportional to them, not to how many logs there are.
 * A log whose line never became durable had nothing fsynced past its recovery point; what
 * the kernel may have written back of it anyway is verified (CRC) when the log next opens,
 * which always re-reads whatever lies past the recovery point (recover.c). A line torn by
 * the crash (no newline) is ignored.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alog_params.h"
#include "kc_common.h"
#include "kc_err.h"
#include "kc_fs.h"
#include "kc_log.h"
#include "kc_parse.h"
#include "kc_time.h"
#include "store_int.h"

/* ---- names: "<topic>-<partition>" <-> "topic partition" ----------------------------- */

int alog__entry_line(const char *name, char *out, size_t cap)
{
    const char *dash = strrchr(name, '-');
    int64_t p;
    if (!dash || dash == name || kc_parse_i64(dash + 1, 0, INT32_MAX, &p) != 0)
        return -EINVAL;
    for (const char *c = name; c < dash; c++) {
        if (*c == ' ' || *c == '\n' || *c == '\t' || *c == '\r')
            return -EINVAL; /* a checkpoint line cannot hold it */
    }
    int n = snprintf(out, cap, "%.*s %" PRId64, (int)(dash - name), name, p);
    return n > 0 && (size_t)n < cap ? n : -ENAMETOOLONG;
}

/* "topic partition" (the first two fields of line) -> malloc'ed "topic-partition". */
static char *name_of(const char *topic, size_t tlen, const char *part, size_t plen)
{
    char *name = malloc(tlen + plen + 2);
    if (name)
        snprintf(name, tlen + plen + 2, "%.*s-%.*s", (int)tlen, topic, (int)plen, part);
    return name;
}

/* ---- reading ------------------------------------------------------------------------ */

struct line {
    const char *f[3];
    size_t len[3];
    int nf;
};

/* Split one line into up to 3 space-separated fields; false if it has more. */
static bool split(const char *p, size_t n, struct line *l)
{
    l->nf = 0;
    for (size_t i = 0; i < n;) {
        while (i < n && p[i] == ' ')
            i++;
        if (i == n)
            break;
        if (l->nf == 3)
            return false;
        size_t j = i;
        while (j < n && p[j] != ' ')
            j++;
        l->f[l->nf] = p + i;
        l->len[l->nf++] = j - i;
        i = j;
    }
    return true;
}

static int parse_i64(const char *p, size_t n, int64_t *out)
{
    char buf[24];
    if (n == 0 || n >= sizeof(buf))
        return -EINVAL;
    memcpy(buf, p, n);
    buf[n] = '\0';
    return kc_parse_i64(buf, 0, INT64_MAX, out);
}

typedef int (*line_fn)(struct alog_store *s, const struct line *l, void *arg);

/* One line of a checkpoint-shaped file: i counts lines from 0 (the version). */
static int one_line(struct alog_store *s, const struct line *l, int64_t i, int nfields, bool counted,
                    int64_t *expect, line_fn fn, void *arg)
{
    if (i == 0)
        return l->nf == 1 && l->len[0] == 1 && l->f[0][0] == '0' ? 0 : KC_ECORRUPT;
    if (i == 1 && counted)
        return l->nf == 1 && parse_i64(l->f[0], l->len[0], expect) == 0 ? 0 : KC_ECORRUPT;
    return l->nf == nfields ? fn(s, l, arg) : KC_ECORRUPT;
}

/* Walk a checkpoint-shaped file: version 0, (a count,) then lines of nfields fields. A
 * last line without a newline is ignored (a torn append to the journal). -ENOENT if the
 * file is missing, KC_ECORRUPT if it is not that shape. */
static int walk_file(struct alog_store *s, const char *file, int nfields, bool counted, line_fn fn,
                     void *arg)
{
    char path[4096], *text;
    size_t len;
    if (kc_path_join(path, sizeof(path), s->dir, file))
        return KC_ETOOLARGE;
    int rc = kc_read_file(path, ALOG_CHECKPOINT_MAX_BYTES, &text, &len);
    if (rc)
        return rc == KC_ETOOLARGE ? KC_ECORRUPT : rc;
    int64_t expect = -1, i = 0;
    const char *p = text, *end = text + len, *nl;
    for (; rc == 0 && p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL; i++) {
        struct line l;
        rc = split(p, (size_t)(nl - p), &l) ? 0 : KC_ECORRUPT;
        if (rc == 0)
            rc = one_line(s, &l, i, nfields, counted, &expect, fn, arg);
        p = nl + 1;
    }
    int64_t entries = i - (counted ? 2 : 1);
    if (rc == 0 && (entries < 0 || (counted && (entries != expect || p != end))))
        rc = KC_ECORRUPT;
    free(text);
    return rc;
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const struct store_entry *)a)->name, ((const struct store_entry *)b)->name);
}

static struct store_entry *find(struct alog_store *s, const char *topic, size_t tlen,
                                const char *part, size_t plen)
{
    char *name = name_of(topic, tlen, part, plen);
    if (!name)
        return NULL;
    struct store_entry key = {.name = name};
    struct store_entry *e =
        s->nfound ? bsearch(&key, s->found, s->nfound, sizeof(key), cmp_entry) : NULL;
    free(name);
    return e;
}

static int add_rp(struct alog_store *s, const struct line *l, void *arg)
{
    size_t *cap = arg;
    int64_t off;
    if (parse_i64(l->f[2], l->len[2], &off))
        return KC_ECORRUPT;
    if (s->nfound == *cap) {
        size_t ncap = *cap ? *cap * 2 : 1024;
        struct store_entry *grown = reallocarray(s->found, ncap, sizeof(*grown));
        if (!grown)
            return -ENOMEM;
        s->found = grown;
        *cap = ncap;
    }
    char *name = name_of(l->f[0], l->len[0], l->f[1], l->len[1]);
    if (!name)
        return -ENOMEM;
    s->found[s->nfound++] = (struct store_entry){name, off, -1, -1, false, false};
    return 0;
}

/* arg: 0 the log start, 1 the cleaner's offset. Lines for logs without a recovery point
 * are ignored: such a log is recovered from the start anyway. */
static int add_offset(struct alog_store *s, const struct line *l, void *arg)
{
    int64_t off;
    if (parse_i64(l->f[2], l->len[2], &off))
        return KC_ECORRUPT;
    struct store_entry *e = find(s, l->f[0], l->len[0], l->f[1], l->len[1]);
    if (e && *(int *)arg == 0)
        e->start = off;
    else if (e)
        e->cleaned = off;
    return 0;
}

static int add_journal(struct alog_store *s, const struct line *l, void *arg)
{
    (void)arg;
    struct store_entry *e = find(s, l->f[0], l->len[0], l->f[1], l->len[1]);
    if (e)
        e->in_journal = true;
    return 0;
}

/* A file that cannot be read is ignored, with a warning: every consequence is safe (a
 * missing recovery point means "recover everything", a missing journal after a crash means
 * every log is suspect, see alog__store_read_checkpoints). */
static int read_one(struct alog_store *s, const char *file, int nfields, bool counted, line_fn fn,
                    void *arg, bool *ok)
{
    int rc = walk_file(s, file, nfields, counted, fn, arg);
    *ok = rc == 0;
    if (rc == KC_ECORRUPT)
        kc_log_warn("alog store %s: %s is corrupt: ignored", s->dir, file);
    return rc == 0 || rc == -ENOENT || rc == KC_ECORRUPT ? 0 : rc;
}

static void drop_found(struct alog_store *s)
{
    for (size_t i = 0; i < s->nfound; i++)
        free(s->found[i].name);
    free(s->found);
    s->found = NULL;
    s->nfound = 0;
}

int alog__store_read_checkpoints(struct alog_store *s)
{
    size_t cap = 0;
    int which = 0;
    bool ok, journal_ok = true;
    int rc = read_one(s, ALOG_RECOVERY_POINT_FILE, 3, true, add_rp, &cap, &ok);
    if (rc == 0 && !ok)
        drop_found(s); /* a partial table is worse than none */
    if (rc == 0 && s->nfound > 1)
        qsort(s->found, s->nfound, sizeof(*s->found), cmp_entry);
    if (rc == 0)
        rc = read_one(s, ALOG_LOG_START_FILE, 3, true, add_offset, &which, &ok);
    which = 1;
    if (rc == 0)
        rc = read_one(s, ALOG_CLEANER_FILE, 3, true, add_offset, &which, &ok);
    if (rc == 0 && !s->clean_start) {
        rc = read_one(s, ALOG_JOURNAL_FILE, 2, false, add_journal, NULL, &journal_ok);
        char path[4096];
        s->fresh = rc == 0 && s->nfound == 0 &&
                   kc_path_join(path, sizeof(path), s->dir, ALOG_JOURNAL_FILE) == 0 &&
                   access(path, F_OK) != 0;
    }
    if (rc == 0 && !s->clean_start && !journal_ok && s->nfound > 0) {
        kc_log_warn("alog store %s: no readable %s after an unclean stop: every log is "
                    "recovered at its first open", s->dir, ALOG_JOURNAL_FILE);
        for (size_t i = 0; i < s->nfound; i++)
            s->found[i].in_journal = true;
    }
    return rc;
}

const struct store_entry *alog__store_found(const struct alog_store *s, const char *name)
{
    struct store_entry key = {.name = (char *)name};
    if (!s->nfound)
        return NULL;
    return bsearch(&key, s->found, s->nfound, sizeof(key), cmp_entry);
}

/* ---- writing ------------------------------------------------------------------------ */

struct snap {
    struct kc_writer rp, start, cleaned;
    int64_t n, ncleaned;
};

static void put_line(struct kc_writer *w, const char *line, int64_t off)
{
    char buf[512];
    int n = snprintf(buf, sizeof(buf), "%s %" PRId64 "\n", line, off);
    if (n > 0 && (size_t)n < sizeof(buf))
        kc_write_raw(w, buf, (size_t)n);
}

/* Every log's line (table_lock held). A closed log's recovery point is its end. */
static void snapshot(struct alog_store *s, struct snap *sn)
{
    for (int i = 0; i < s->nlogs; i++) {
        struct alog *log = s->logs[i];
        char line[300];
        if (!log || !log->has_entry || alog__entry_line(log->name, line, sizeof(line)) < 0)
            continue;
        put_line(&sn->rp, line, atomic_load(&log->recovery_point));
        int64_t start = atomic_load(&log->start_offset), pending = atomic_load(&log->start_pending);
        put_line(&sn->start, line, start > pending ? start : pending); /* admin.c */
        sn->n++;
        int64_t cleaned = atomic_load(&log->cleaned_offset);
        if (cleaned >= 0) {
            put_line(&sn->cleaned, line, cleaned);
            sn->ncleaned++;
        }
    }
}

static int write_file(struct alog_store *s, const char *file, struct kc_writer *body, int64_t n)
{
    char path[4096], head[32];
    struct kc_writer w;
    kc_writer_init(&w, 0);
    int hn = snprintf(head, sizeof(head), "%d\n%" PRId64 "\n", ALOG_CHECKPOINT_VERSION, n);
    kc_write_raw(&w, head, (size_t)hn);
    kc_write_raw(&w, kc_writer_data(body), kc_writer_len(body));
    int rc = kc_writer_error(&w);
    if (rc == 0)
        rc = kc_path_join(path, sizeof(path), s->dir, file);
    if (rc == 0)
        rc = kc_atomic_replace(path, kc_writer_data(&w), kc_writer_len(&w));
    kc_writer_fini(&w);
    return rc;
}

/* Rewrite the journal to the logs that still need it (table_lock and journal_lock held):
 * open ones, unknown ones, and those closed after the checkpoint seq began. */
static int rewrite_journal(struct alog_store *s, int64_t seq, bool closing)
{
    struct kc_writer w;
    kc_writer_init(&w, 0);
    kc_write_raw(&w, "0\n", 2);
    for (int i = 0; i < s->nlogs; i++) {
        struct alog *log = s->logs[i];
        if (!log)
            continue;
        int st = atomic_load(&log->state);
        log->in_journal = !closing && (st != ALOG_COLD || log->closed_seq >= seq);
        char line[300];
        if (log->in_journal && alog__entry_line(log->name, line, sizeof(line)) > 0) {
            kc_write_raw(&w, line, strlen(line));
            kc_write_raw(&w, "\n", 1);
        }
    }
    char path[4096];
    int rc = kc_writer_error(&w);
    if (rc == 0)
        rc = kc_path_join(path, sizeof(path), s->dir, ALOG_JOURNAL_FILE);
    if (rc == 0)
        rc = kc_atomic_replace(path, kc_writer_data(&w), kc_writer_len(&w));
    kc_writer_fini(&w);
    if (rc == 0 && !closing) { /* appends go to the new file from now on */
        int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
        if (fd < 0)
            return -errno;
        if (s->journal_fd >= 0)
            (void)close(s->journal_fd); /* the old file's fd: everything on it was synced */
        s->journal_fd = fd;
    }
    if (rc == 0) /* the new file holds every listed log's line, durably */
        s->journal_synced = s->journal_asked;
    return rc;
}

int alog__store_write_checkpoints(struct alog_store *s, bool closing)
{
    struct snap sn = {.n = 0};
    kc_writer_init(&sn.rp, 0);
    kc_writer_init(&sn.start, 0);
    kc_writer_init(&sn.cleaned, 0);
    pthread_mutex_lock(&s->ckpt_lock);
    atomic_store(&s->ckpt_dirty, false);
    int64_t seq = atomic_fetch_add(&s->ckpt_seq, 1) + 1; /* logs closing from now: >= seq */
    pthread_mutex_unlock(&s->ckpt_lock);
    pthread_mutex_lock(&s->table_lock);
    int64_t gen = ++s->ckpt_gen;
    snapshot(s, &sn);
    int rc = kc_writer_error(&sn.rp) ? kc_writer_error(&sn.rp) : kc_writer_error(&sn.start);
    if (rc == 0)
        rc = write_file(s, ALOG_RECOVERY_POINT_FILE, &sn.rp, sn.n);
    if (rc == 0)
        rc = write_file(s, ALOG_LOG_START_FILE, &sn.start, sn.n);
    if (rc == 0)
        rc = write_file(s, ALOG_CLEANER_FILE, &sn.cleaned, sn.ncleaned);
    if (rc == 0) { /* the recovery points are durable: the journal may forget */
        pthread_mutex_lock(&s->journal_lock);
        rc = rewrite_journal(s, seq, closing);
        pthread_mutex_unlock(&s->journal_lock);
    }
    if (rc == 0)
        s->ckpt_written = gen; /* the logs gone from the table are gone from the files */
    pthread_mutex_unlock(&s->table_lock);
    if (rc)
        atomic_store(&s->ckpt_dirty, true); /* try again at the next interval */
    s->last_ckpt_ms = kc_mono_ms();
    kc_writer_fini(&sn.rp);
    kc_writer_fini(&sn.start);
    kc_writer_fini(&sn.cleaned);
    return rc;
}

/* ---- the clean-shutdown marker ------------------------------------------------------- */

int alog__store_take_marker(struct alog_store *s, bool *clean)
{
    char path[4096];
    if (kc_path_join(path, sizeof(path), s->dir, ALOG_CLEAN_SHUTDOWN_FILE))
        return KC_ETOOLARGE;
    if (unlink(path) < 0) {
        if (errno != ENOENT)
            return -errno;
        *clean = false;
        return 0;
    }
    *clean = true;
    /* Gone for good before the first log opens: a crash from here on must be seen as one. */
    return kc_fsync(s->dir_fd);
}

int alog__store_write_marker(struct alog_store *s)
{
    static const char body[] = "{\"version\":0,\"brokerEpoch\":-1}";
    char path[4096];
    if (kc_path_join(path, sizeof(path), s->dir, ALOG_CLEAN_SHUTDOWN_FILE))
        return KC_ETOOLARGE;
    return kc_atomic_replace(path, body, sizeof(body) - 1);
}

/* ---- the journal --------------------------------------------------------------------- */

int alog__journal_open(struct alog_store *s)
{
    char path[4096];
    if (kc_path_join(path, sizeof(path), s->dir, ALOG_JOURNAL_FILE))
        return KC_ETOOLARGE;
    if (s->clean_start) { /* every log is clean: start an empty journal */
        int rc = kc_atomic_replace(path, "0\n", 2);
        if (rc)
            return rc;
    } else if (access(path, F_OK) != 0) {
        int rc = kc_atomic_replace(path, "0\n", 2); /* none yet: every log was suspect */
        if (rc)
            return rc;
    }
    s->journal_fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    return s->journal_fd >= 0 ? 0 : -errno;
}

void alog__journal_close(struct alog_store *s)
{
    if (s->journal_fd >= 0)
        (void)close(s->journal_fd); /* every line written was fdatasync'ed */
    s->journal_fd = -1;
}

/* The leader's fdatasync: every line written so far (journal_lock held on entry and exit,
 * dropped across the I/O; the descriptor is dup'ed so that a checkpoint's rewrite can
 * swap the file meanwhile). */
static int journal_flush(struct alog_store *s)
{
    uint64_t upto = s->journal_asked;
    int fd = fcntl(s->journal_fd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    s->journal_busy = true;
    pthread_mutex_unlock(&s->journal_lock);
    int rc = kc_fdatasync(fd);
    (void)close(fd);
    pthread_mutex_lock(&s->journal_lock);
    s->journal_busy = false;
    if (rc == 0) {
        s->journal_synced = KC_MAX(s->journal_synced, upto);
    } else { /* those lines may be lost: everyone who wrote one gets the error */
        s->journal_failed_upto = upto;
        s->journal_err = rc;
    }
    pthread_cond_broadcast(&s->journal_cond);
    return rc;
}

/*
 * The line is WRITTEN at once, while the log opens: a process that dies leaves it in the
 * page cache, so after a kill -9 the next start knows this log may hold records past its
 * recovery point (they are in the page cache too, acknowledged with acks=1, and must be
 * found). It is made durable later, by alog__journal_sync, before the log's data is.
 */
int alog__journal_add(struct alog_store *s, struct alog *log)
{
    char line[300];
    int n = alog__entry_line(log->name, line, sizeof(line) - 1);
    if (n < 0)
        return n;
    line[n++] = '\n';
    int rc = 0;
    pthread_mutex_lock(&s->journal_lock);
    if (!log->in_journal) {
        ssize_t w = s->journal_fd >= 0 ? kc_write_all(s->journal_fd, line, (size_t)n) : -EBADF;
        if (w < 0) {
            rc = (int)w;
        } else {
            log->journal_ticket = ++s->journal_asked;
            log->in_journal = true; /* listed (durably once journal_synced passes its ticket) */
        }
    }
    pthread_mutex_unlock(&s->journal_lock);
    return rc;
}

int alog__journal_sync(struct alog_store *s, struct alog *log)
{
    int rc = 0;
    pthread_mutex_lock(&s->journal_lock);
    uint64_t ticket = log->journal_ticket;
    while (rc == 0 && s->journal_synced < ticket) {
        if (ticket <= s->journal_failed_upto)
            rc = s->journal_err; /* a leader wrote our line and failed: write it again */
        else if (!s->journal_busy)
            rc = journal_flush(s); /* lead: write what everyone queued, one fdatasync */
        else
            pthread_cond_wait(&s->journal_cond, &s->journal_lock);
    }
    if (rc) { /* the line is lost with the failed write: queue it again for the next try */
        log->in_journal = false;
        pthread_mutex_unlock(&s->journal_lock);
        (void)alog__journal_add(s, log);
        return rc;
    }
    pthread_mutex_unlock(&s->journal_lock);
    return 0;
}
