/*
 * crash.c - the crash loop's driver: start, load, kill -9, (power cut), restart, verify.
 *
 * See rel_crash.h for what it proves and crash_int.h for the model. Everything random
 * (kill moments, batch sizes, partitions, the power cut's cut points) comes from one seed,
 * printed first, so a failing run can be replayed with the same choices (thread timing
 * differs, so the replay is close, not identical).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crash_int.h"
#include "kc_common.h"

void rel_crash_opts_default(struct rel_crash_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->cycles = 5;
    o->seed = 1;
    o->acks = -1;
    o->producers = 4;
    o->partitions = 4;
    o->records_per_cycle = 3000;
    o->window = 8;
    o->kill_min_ms = 30;
    o->kill_max_ms = 400;
    o->recovery_kill_pct = 15;
}

/* Async flushes (every 100 ms), 1 MiB segments so that rolls and multi-segment recovery
 * happen, two network loops. */
static const char *const broker_args[] = {
    "--override", "log.flush.interval.ms=100",     "--override", "log.segment.bytes=1048576",
    "--override", "num.network.threads=2",         "--override", "log.retention.ms=-1",
    "--override", "log.index.interval.bytes=1024", NULL};

static int check_opts(const struct rel_crash_opts *o)
{
    if (o->cycles < 1 || (o->acks != -1 && o->acks != 1) || o->producers < 1 ||
        o->producers > CRL_MAX_PRODUCERS || o->partitions < 1 || o->partitions > CRL_MAX_PARTS ||
        o->records_per_cycle < 1 || o->window < 1 || o->window > CRL_MAX_WINDOW ||
        o->kill_min_ms < 0 || o->kill_max_ms < o->kill_min_ms || !o->bin_dir || !o->dir ||
        (o->powercut && (!o->shim || !*o->shim)))
        return -EINVAL;
    return 0;
}

/* ---- the power cut --------------------------------------------------------------------- */

/* Overwrite [from, to) of fd with zeros (unwritten extents) or garbage (a torn sector). */
static int scribble(int fd, uint64_t from, uint64_t to, uint64_t *rng)
{
    uint8_t buf[4096];
    bool zeros = rel_rand(rng) & 1;
    for (uint64_t at = from; at < to;) {
        size_t n = (size_t)KC_MIN(to - at, sizeof(buf));
        for (size_t i = 0; i < n; i++)
            buf[i] = zeros ? 0 : (uint8_t)rel_rand(rng);
        ssize_t w = kc_pwrite_all(fd, buf, n, (off_t)at);
        if (w < 0)
            return (int)w;
        at += n;
    }
    return 0;
}

/* Delete a segment (its .log and index files) whose name never reached the disk. */
static int cut_segment_away(const char *logpath)
{
    char other[REL_PATH_MAX + 16];
    size_t base = strlen(logpath) - 4;
    const char *ext[] = {".index", ".timeindex"};
    for (size_t i = 0; i < KC_ARRAY_SIZE(ext); i++) {
        snprintf(other, sizeof(other), "%.*s%s", (int)base, logpath, ext[i]);
        if (unlink(other) != 0 && errno != ENOENT)
            return -errno;
    }
    return unlink(logpath) == 0 ? 0 : -errno;
}

/* A power cut's work: the table of what was fsynced, a random source, what it took. */
struct cut_ctx {
    struct flt_ctl *ctl;
    uint64_t *rng;
    struct rel_cut *cut;
};

/* One .log file: keep what was fsynced, and a random part of the rest. */
static int cut_file(struct cut_ctx *x, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return -errno;
    struct flt_sync *e = flt_sync_find(x->ctl, path, (uint64_t)st.st_ino);
    uint64_t size = (uint64_t)st.st_size, synced = e ? atomic_load(&e->synced) : 0;
    if (!e || !atomic_load(&e->dirent)) {
        if (rel_rand(x->rng) % 2) { /* its directory entry was never made durable */
            x->cut->files++;
            x->cut->bytes += size;
            return cut_segment_away(path);
        }
    }
    /* Shorter than what an fsync covered: recovery cut a torn batch whose first bytes an
     * fsync had caught mid-write (SIGKILL can stop a pwrite between pages). Those bytes
     * were never acknowledged; the verifier judges what was. */
    synced = KC_MIN(synced, size);
    uint64_t keep = (uint64_t)rel_rand_range(x->rng, (int64_t)synced, (int64_t)size);
    int fd = open(path, O_RDWR | O_CLOEXEC), rc = 0;
    if (fd < 0)
        return -errno;
    if (keep < size && rel_rand(x->rng) % 2)
        rc = scribble(fd, keep, KC_MIN(size, keep + 8192), x->rng);
    else if (keep < size && ftruncate(fd, (off_t)keep) != 0)
        rc = -errno;
    close(fd);
    x->cut->bytes += size - keep;
    if (rc == 0 && flt_sync_set(x->ctl, path, (uint64_t)st.st_ino, keep) != 0)
        rc = -EOVERFLOW; /* the table is full */
    return rc;
}

static int cut_dir(struct cut_ctx *x, const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int rc = 0;
    if (!d)
        return -errno;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        char path[REL_PATH_MAX];
        size_t n = strlen(de->d_name);
        if (de->d_name[0] == '.' ||
            snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= (int)sizeof(path))
            continue;
        if (de->d_type == DT_DIR)
            rc = cut_dir(x, path);
        else if (n > 4 && strcmp(de->d_name + n - 4, ".log") == 0)
            rc = cut_file(x, path);
    }
    closedir(d);
    return rc;
}

int rel_powercut(struct flt_ctl *ctl, const char *dir, uint64_t *rng, struct rel_cut *cut)
{
    struct cut_ctx x = {ctl, rng, cut};
    if (atomic_load(&ctl->sync_overflow))
        return -EOVERFLOW;
    return cut_dir(&x, dir);
}

/* The sabotage hook (rel_crash.h): halve the newest .log of partition 0. */
static int sabotage(struct crl_run *run)
{
    char dir[REL_PATH_MAX + 16], path[2 * REL_PATH_MAX], best[256] = "";
    struct dirent *de;
    struct stat st;
    snprintf(dir, sizeof(dir), "%s/" CRL_TOPIC "-0", run->b.data);
    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        if (n > 4 && !strcmp(de->d_name + n - 4, ".log") && strcmp(de->d_name, best) > 0)
            strlcpy(best, de->d_name, sizeof(best));
    }
    closedir(d);
    snprintf(path, sizeof(path), "%s/%s", dir, best);
    if (!best[0] || stat(path, &st) != 0 || truncate(path, st.st_size / 2) != 0)
        return -ENOENT;
    return 0;
}

int crl__powercut(struct crl_run *run)
{
    struct rel_cut cut = {0};
    int rc = rel_powercut(run->ctl, run->b.data, &run->rng, &cut);
    run->r->cut_files += cut.files;
    run->r->cut_bytes += cut.bytes;
    if (rc == -EOVERFLOW)
        return crl__violation(run, "the power-cut table overflowed (%d files): the model is "
                              "void", FLT_SYNC_MAX);
    return rc;
}

/* ---- one cycle ------------------------------------------------------------------------ */

/* Restart after a kill; sometimes kill it again while it recovers. Returns its start ms. */
static int restart(struct crl_run *run, int64_t *start_ms)
{
    int rc;
    if (rel_rand(&run->rng) % 100 < (uint64_t)run->o->recovery_kill_pct) {
        if ((rc = rel_broker_spawn(&run->b, broker_args)) != 0)
            return rc;
        kc_sleep_ms(rel_rand_range(&run->rng, 0, 40));
        rel_broker_kill9(&run->b);
        run->r->recovery_kills++;
        if (run->o->powercut && (rc = crl__powercut(run)) != 0)
            return rc;
    }
    int64_t t0 = kc_mono_ms();
    rc = rel_broker_start(&run->b, broker_args, CRL_START_MS);
    *start_ms = kc_mono_ms() - t0;
    run->restart_ms[run->cycle - 1] = *start_ms;
    if (rc)
        return crl__violation(run, "the broker did not restart (%s); see %s", kc_strerror(rc),
                              run->b.log);
    return 0;
}

/* Load, kill at a random moment, collect what the threads saw. */
static int load_and_kill(struct crl_run *run, int64_t *killed_after)
{
    int64_t wait = rel_rand_range(&run->rng, run->o->kill_min_ms, run->o->kill_max_ms);
    int rc = crl__load_start(run);
    int64_t t0 = kc_mono_ms();
    if (rc == 0)
        kc_sleep_ms(wait);
    *killed_after = kc_mono_ms() - t0;
    rel_broker_kill9(&run->b);
    crl__load_join(run);
    for (int i = 0; i < run->o->producers; i++) {
        struct crl_producer *pr = &run->prod[i];
        run->r->sent += pr->sent;
        run->r->acked += pr->acked;
        run->r->errors += pr->errors;
        if (pr->error[0] && rc == 0)
            rc = crl__violation(run, "%s", pr->error);
    }
    run->r->live_checked = run->cons.live_checked;
    run->r->commits_acked = run->cons.commits_acked;
    if (run->cons.error[0] && rc == 0)
        rc = crl__violation(run, "%s", run->cons.error);
    if (rc == 0 && run->o->powercut)
        rc = crl__powercut(run);
    if (rc == 0 && run->o->sabotage && run->cycle == run->o->cycles)
        rc = sabotage(run);
    return rc;
}

static int cycle(struct crl_run *run)
{
    int64_t killed_after = 0, start_ms = 0;
    uint64_t acked0 = run->r->acked, checked0 = run->r->checked;
    int rc = load_and_kill(run, &killed_after);
    if (rc == 0)
        rc = restart(run, &start_ms);
    if (rc == 0)
        rc = crl__verify(run);
    if (run->o->out)
        fprintf(run->o->out,
                "cycle %3d/%d: killed after %4lld ms, %6llu acked; restart %4lld "
                "ms; checked %8llu records, lost %llu%s\n",
                run->cycle, run->o->cycles, (long long)killed_after,
                (unsigned long long)(run->r->acked - acked0), (long long)start_ms,
                (unsigned long long)(run->r->checked - checked0), (unsigned long long)run->r->lost,
                rc ? "  <-- FAILED" : "");
    return rc;
}

/* ---- the run --------------------------------------------------------------------------- */

static int setup(struct crl_run *run)
{
    char ctlpath[REL_PATH_MAX];
    int rc = rel_broker_init(&run->b, run->o->bin_dir, run->o->dir);
    if (rc)
        return rc;
    if (run->o->powercut) {
        snprintf(ctlpath, sizeof(ctlpath), "%s/fault.ctl", run->o->dir);
        if (!(run->ctl = flt_ctl_open(ctlpath)))
            return -errno;
        flt_track_syncs(run->ctl, 1);
        strlcpy(run->b.shim, run->o->shim, sizeof(run->b.shim));
        strlcpy(run->b.ctl, ctlpath, sizeof(run->b.ctl));
    }
    for (int i = 0; i < run->o->producers; i++) {
        run->prod[i].id = i;
        run->prod[i].run = run;
    }
    for (int p = 0; p < CRL_MAX_PARTS; p++) {
        run->cons.acked[p] = -1;
        run->cons.pending[p] = -2;
    }
    run->cons.run = run;
    if ((rc = rel_broker_start(&run->b, broker_args, CRL_START_MS)) != 0)
        return crl__violation(run, "the broker did not start (%s); see %s", kc_strerror(rc),
                              run->b.log);
    struct np_client c;
    struct np_create_topic_resp cr;
    if ((rc = np_client_connect(&c, run->b.addr, CRL_CONNECT_MS)) == 0) {
        rc = np_client_create_topic(&c, CRL_TOPIC, run->o->partitions, &cr);
        np_client_close(&c);
    }
    return rc;
}

/* The end: a clean stop must exit 0, and a clean start must see the same data. */
static int finish(struct crl_run *run)
{
    int st = rel_broker_stop(&run->b, CRL_START_MS);
    if (st != 0)
        return crl__violation(run, "the final SIGTERM stop was not clean (status %d); see %s", st,
                              run->b.log);
    int rc = rel_broker_start(&run->b, broker_args, CRL_START_MS);
    if (rc)
        return crl__violation(run, "no clean restart: %s", kc_strerror(rc));
    uint64_t checked0 = run->r->checked;
    rc = crl__verify(run);
    run->r->final_records = run->r->checked - checked0;
    st = rel_broker_stop(&run->b, CRL_START_MS);
    if (rc == 0 && st != 0)
        rc = crl__violation(run, "the last stop was not clean (status %d)", st);
    return rc;
}

int rel_crash_run(const struct rel_crash_opts *o, struct rel_crash_result *r)
{
    struct crl_run *run = calloc(1, sizeof(*run));
    memset(r, 0, sizeof(*r));
    if (!run)
        return -ENOMEM;
    int rc = check_opts(o);
    int64_t t0 = kc_mono_ms();
    run->o = o;
    run->r = r;
    run->rng = o->seed;
    if (o->out)
        fprintf(o->out,
                "crash loop: seed %llu, %d cycles, acks=%s%s, %d producers, %d "
                "partitions\n",
                (unsigned long long)o->seed, o->cycles, o->acks == -1 ? "all" : "1",
                o->powercut ? ", power cut" : "", o->producers, o->partitions);
    if (rc == 0 && !(run->restart_ms = calloc((size_t)o->cycles, sizeof(int64_t))))
        rc = -ENOMEM;
    if (rc == 0)
        rc = setup(run);
    for (run->cycle = 1; rc == 0 && run->cycle <= o->cycles; run->cycle++) {
        if ((rc = cycle(run)) == 0)
            r->cycles++;
    }
    if (rc == 0)
        rc = finish(run);
    if (r->cycles > 0) {
        r->restart_p50_ms = kc_percentile_i64(run->restart_ms, (size_t)r->cycles, 50);
        r->restart_max_ms = kc_percentile_i64(run->restart_ms, (size_t)r->cycles, 100);
    }
    free(run->restart_ms);
    rel_broker_kill9(&run->b); /* after a failure: nothing left behind */
    for (int i = 0; i < CRL_MAX_PRODUCERS; i++)
        free(run->prod[i].recs);
    flt_ctl_close(run->ctl);
    free(run);
    r->ms = kc_mono_ms() - t0;
    if (rc && !r->error[0])
        snprintf(r->error, sizeof(r->error), "harness: %s", kc_strerror(rc));
    return rc;
}

void rel_crash_print(FILE *f, const struct rel_crash_opts *o, const struct rel_crash_result *r)
{
    fprintf(f, "seed              %llu\n", (unsigned long long)o->seed);
    fprintf(f, "mode              acks=%s, %s\n", o->acks == -1 ? "all" : "1",
            o->powercut ? "kill -9 + power cut (unsynced tails lost)" : "kill -9");
    fprintf(f,
            "cycles            %d (%d more kills during recovery); restart p50 %lld ms, "
            "max %lld ms\n",
            r->cycles, r->recovery_kills, (long long)r->restart_p50_ms,
            (long long)r->restart_max_ms);
    fprintf(f, "records sent      %llu\n", (unsigned long long)r->sent);
    fprintf(f, "acknowledged      %llu\n", (unsigned long long)r->acked);
    fprintf(f,
            "checked           %llu reads after restarts, %llu live by the consumer; %llu "
            "records in the log at the end\n",
            (unsigned long long)r->checked, (unsigned long long)r->live_checked,
            (unsigned long long)r->final_records);
    fprintf(f, "lost              %llu%s\n", (unsigned long long)r->lost,
            o->acks == -1 || !o->powercut ? " (must be 0)"
                                          : " (must be 0: acknowledged and "
                                            "required, or once found)");
    if (o->powercut)
        fprintf(f,
                "cut by power      %llu acks=1 records never fsynced (allowed); %llu bytes, "
                "%d files\n",
                (unsigned long long)r->lost_unsynced, (unsigned long long)r->cut_bytes,
                r->cut_files);
    fprintf(f, "kept unacked      %llu (in flight at the kill, yet on disk: allowed)\n",
            (unsigned long long)r->unacked_present);
    fprintf(f,
            "violations        duplicates %llu, out of order %llu, corrupt %llu, holes %llu, "
            "errors %llu\n",
            (unsigned long long)r->duplicates, (unsigned long long)r->out_of_order,
            (unsigned long long)r->corrupt, (unsigned long long)r->holes,
            (unsigned long long)r->errors);
    fprintf(f, "group commits     %llu acknowledged, %llu checked, %llu lost\n",
            (unsigned long long)r->commits_acked, (unsigned long long)r->commits_checked,
            (unsigned long long)r->commits_lost);
    fprintf(f, "time              %.1f s\n", (double)r->ms / 1000.0);
    fprintf(f, "verdict           %s\n", r->error[0] ? r->error : "ok");
}
