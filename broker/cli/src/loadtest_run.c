/*
 * loadtest_run.c - the load test's conductor: prepare the topic, start the producers
 * together, draw progress, gather latencies into percentiles, verify, and report.
 *
 * Time runs from the moment every producer is connected and released, to the moment the
 * last one has its last acknowledgement. Latency is per request (one record with --batch 1,
 * a batch otherwise): send time to answer, over every request of every producer.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_int.h"
#include "kc_common.h"
#include "loadtest_int.h"

#define LT_VERIFY_MAX_BYTES (8 << 20)

struct lt_verify {
    uint8_t **seen;    /* per producer, a bit per sequence number */
    int64_t *last;     /* [partition * producers + producer]: last sequence seen there */
    int32_t partition;
    int64_t foreign;   /* records of other runs */
};

static int lt_usage(struct cli *cli, const char *why)
{
    return cli__usage(cli, "test", why);
}

static int lt_check_opts(struct cli *cli, const struct cli_loadtest_opts *o)
{
    if (o->count < 1)
        return lt_usage(cli, "count must be at least 1");
    if (o->size < 0 || o->batch < 1 || o->producers < 1 || o->window < 1)
        return lt_usage(cli, "--size must be >= 0; --batch, --producers, --window >= 1");
    if (o->producers > 1024 || o->window > 65536)
        return lt_usage(cli, "at most 1024 producers and a window of 65536");
    if (o->verify && o->size < 16)
        return lt_usage(cli, "--verify needs --size >= 16 (each value carries a 16-byte stamp)");
    return CLI_OK;
}

/* Make sure the topic exists; *ends gets every partition's log end before the test. */
static int lt_prepare(struct cli *cli, const struct cli_loadtest_opts *o, int64_t **ends,
                      int32_t *nparts)
{
    struct np_metadata_resp md;
    struct np_metadata_iter it;
    struct np_topic_meta tm;
    struct np_create_topic_resp cr;
    int rc = np_client_metadata(&cli->client, o->topic, &md);
    if (rc == NP_ERR(NP_E_UNKNOWN_TOPIC)) {
        rc = np_client_create_topic(&cli->client, o->topic, o->partitions ? o->partitions : -1,
                                    &cr);
        if (rc == 0 || rc == NP_ERR(NP_E_TOPIC_EXISTS))
            rc = np_client_metadata(&cli->client, o->topic, &md);
    }
    if (rc)
        return cli__report(cli, rc);
    np_metadata_iter_init(&it, &md);
    if (!np_metadata_next(&it, &tm) || tm.npartitions < 1)
        return cli__report(cli, KC_EMALFORMED);
    *ends = calloc((size_t)tm.npartitions, sizeof(int64_t));
    if (!*ends)
        return cli__report(cli, -ENOMEM);
    for (int32_t i = 0; i < tm.npartitions; i++) {
        struct np_partition_meta pm;
        np_metadata_part(&tm, i, &pm);
        (*ends)[i] = pm.log_end;
    }
    *nparts = tm.npartitions;
    return CLI_OK;
}

static void lt_progress(FILE *f, const struct lt_shared *sh, int64_t t0, bool final)
{
    char rate[32];
    int64_t done = atomic_load(&sh->acked), total = sh->o->count;
    double secs = (double)(kc_mono_ns() - t0) / 1e9;
    int width = 30, filled = (int)(width * done / (total ? total : 1));
    fprintf(f, "\r[%.*s%*s] %3d%% %lld/%lld records %s rec/s", filled,
            "##############################", width - filled, "", (int)(100 * done / total),
            (long long)done, (long long)total,
            kc_fmt_si(secs > 0 ? (double)done / secs : 0, rate, sizeof(rate)));
    if (final)
        fputs("\r\033[K", f);
    fflush(f);
}

/* Start every producer, release them together, wait (drawing progress), join. */
static int64_t lt_run(struct cli *cli, struct lt_shared *sh, struct lt_producer *prs, int n)
{
    int started = 0;
    for (int i = 0; i < n; i++) {
        atomic_fetch_add(&sh->running, 1);
        if (pthread_create(&prs[i].thread, NULL, lt__main, &prs[i]) != 0) {
            atomic_fetch_sub(&sh->running, 1);
            atomic_store(&sh->abort, true);
            break;
        }
        started++;
    }
    int64_t t0 = kc_mono_ns();
    pthread_mutex_lock(&sh->mu);
    sh->go = true;
    pthread_cond_broadcast(&sh->cv);
    pthread_mutex_unlock(&sh->mu);
    bool bar = sh->o->progress && isatty(fileno(cli->err));
    while (atomic_load(&sh->running) > 0) {
        kc_sleep_ms(100);
        if (bar)
            lt_progress(cli->err, sh, t0, false);
    }
    if (bar)
        lt_progress(cli->err, sh, t0, true);
    for (int i = 0; i < started; i++)
        pthread_join(prs[i].thread, NULL);
    if (started < n)
        fprintf(cli->err, "error: could not start producer thread %d\n", started);
    return t0;
}

static void lt_latency(struct lt_producer *prs, int n, struct cli_loadtest_result *res)
{
    size_t total = 0, at = 0;
    for (int i = 0; i < n; i++)
        total += prs[i].nlat;
    int64_t *all = malloc(sizeof(int64_t) * (total ? total : 1));
    if (!all || total == 0) {
        free(all);
        return;
    }
    for (int i = 0; i < n; i++) {
        memcpy(all + at, prs[i].lat, sizeof(int64_t) * prs[i].nlat);
        at += prs[i].nlat;
    }
    res->have_latency = true;
    res->lat_p50_ns = kc_percentile_i64(all, total, 50);
    res->lat_p99_ns = kc_percentile_i64(all, total, 99);
    res->lat_p999_ns = kc_percentile_i64(all, total, 99.9);
    res->lat_max_ns = kc_percentile_i64(all, total, 100);
    free(all);
}

/* ---- verify ---------------------------------------------------------------------------- */

static void lt_check_record(const struct lt_shared *sh, const struct lt_producer *prs,
                            struct lt_verify *v, const struct kc_record *rec,
                            struct cli_loadtest_result *res)
{
    const struct cli_loadtest_opts *o = sh->o;
    if (rec->value_len != o->size || kc_load_be32(rec->value) != sh->run_id) {
        v->foreign++;
        return;
    }
    uint32_t id = kc_load_be32(rec->value + 4);
    int64_t seq = (int64_t)kc_load_be64(rec->value + 8);
    if (id >= (uint32_t)o->producers || seq < 0 || seq >= prs[id].count ||
        !lt__value_ok(rec->value, (size_t)rec->value_len)) {
        res->verify_corrupt++;
        return;
    }
    uint8_t *bits = v->seen[id];
    if (bits[seq / 8] & (1u << (seq % 8)))
        res->verify_duplicates++;
    bits[seq / 8] |= (uint8_t)(1u << (seq % 8));
    int64_t *last = &v->last[(size_t)v->partition * (size_t)o->producers + id];
    if (seq <= *last)
        res->verify_out_of_order++;
    *last = seq;
}

/* Check the whole batches in records; *next gets the offset after the last one. */
static int lt_check_batches(const struct lt_shared *sh, const struct lt_producer *prs,
                            struct lt_verify *v, struct kc_slice records, int64_t from,
                            int64_t *next, struct cli_loadtest_result *res)
{
    struct kc_record_iter it;
    struct kc_record rec;
    for (size_t off = 0; off < (size_t)records.len;) {
        const uint8_t *p = records.p + off;
        int size = kc_batch_validate(p, (size_t)records.len - off, NULL);
        if (size < 0 || kc_record_iter_init(&it, p, (size_t)size) != 0)
            return size < 0 ? size : KC_EUNSUPPORTED;
        int rc;
        while ((rc = kc_record_iter_next(&it, &rec)) == 1)
            if (rec.offset >= from)
                lt_check_record(sh, prs, v, &rec, res);
        if (rc < 0)
            return rc;
        *next = kc_batch_last_offset(p) + 1;
        off += (size_t)size;
    }
    return 0;
}

static int lt_verify_partition(struct cli *cli, const struct lt_shared *sh,
                               const struct lt_producer *prs, struct lt_verify *v,
                               int64_t from, struct cli_loadtest_result *res)
{
    struct np_consume_batch_resp resp;
    for (;;) {
        struct np_consume_batch_req req = {np_str(sh->o->topic), v->partition, from, INT32_MAX,
                                           LT_VERIFY_MAX_BYTES, 0};
        int rc = np_client_consume_batch(&cli->client, &req, &resp);
        if (rc)
            return cli__report(cli, rc);
        if (resp.records.len == 0)
            return CLI_OK;
        int64_t next = from;
        rc = lt_check_batches(sh, prs, v, resp.records, from, &next, res);
        if (rc) {
            fprintf(cli->err, "error: verify: partition %d offset %lld: %s\n", v->partition,
                    (long long)from, kc_strerror(rc));
            return CLI_EBROKER;
        }
        if (next <= from)
            return CLI_OK;
        from = next;
    }
}

static int lt_verify(struct cli *cli, const struct lt_shared *sh, const struct lt_producer *prs,
                     const int64_t *starts, int32_t nparts, struct cli_loadtest_result *res)
{
    int np = sh->o->producers, rc = CLI_OK;
    struct lt_verify v = {0};
    v.seen = calloc((size_t)np, sizeof(*v.seen));
    v.last = malloc(sizeof(int64_t) * (size_t)nparts * (size_t)np);
    for (int i = 0; v.seen && i < np; i++)
        if (!(v.seen[i] = calloc((size_t)prs[i].count / 8 + 1, 1)))
            rc = CLI_EUSAGE;
    if (!v.seen || !v.last || rc)
        rc = cli__report(cli, -ENOMEM);
    for (size_t i = 0; rc == CLI_OK && i < (size_t)nparts * (size_t)np; i++)
        v.last[i] = -1;
    for (v.partition = 0; rc == CLI_OK && v.partition < nparts; v.partition++)
        rc = lt_verify_partition(cli, sh, prs, &v, starts[v.partition], res);
    int64_t seen = 0;
    for (int i = 0; v.seen && i < np; i++) {
        for (int64_t s = 0; v.seen[i] && s < prs[i].count; s++)
            seen += (v.seen[i][s / 8] >> (s % 8)) & 1;
        free(v.seen[i]);
    }
    free(v.seen);
    free(v.last);
    res->verify_missing = sh->o->count - seen;
    res->verified = rc == CLI_OK && !res->verify_missing && !res->verify_duplicates &&
                    !res->verify_corrupt && !res->verify_out_of_order;
    return rc;
}

/* ---- the whole test -------------------------------------------------------------------- */

static void lt_result(const struct lt_shared *sh, struct lt_producer *prs, int n, int64_t t0,
                      struct cli_loadtest_result *res)
{
    int64_t end = t0;
    for (int i = 0; i < n; i++) {
        end = KC_MAX(end, prs[i].end_ns);
        res->requests += prs[i].requests;
    }
    res->records = atomic_load(&sh->acked);
    res->bytes = res->records * sh->o->size;
    res->errors = atomic_load(&sh->errors);
    res->seconds = (double)(end - t0) / 1e9;
    if (res->seconds > 0) {
        res->records_per_sec = (double)res->records / res->seconds;
        res->mb_per_sec = (double)res->bytes / 1e6 / res->seconds;
    }
    lt_latency(prs, n, res);
}

static int lt_report_failures(struct cli *cli, struct lt_producer *prs, int n)
{
    int status = CLI_OK;
    for (int i = 0; i < n; i++) {
        if (prs[i].rc == 0 || prs[i].rc == -ECANCELED)
            continue;
        fprintf(cli->err, "error: %s\n", prs[i].err);
        int s = np_is_err(prs[i].rc) ? CLI_EBROKER : prs[i].rc == -EACCES ? CLI_EAUTH : CLI_ENET;
        status = KC_MAX(status, s);
    }
    return status;
}

int cli_loadtest(struct cli *cli, const struct cli_loadtest_opts *o,
                 struct cli_loadtest_result *res)
{
    struct lt_shared sh = {.o = o, .cli = cli};
    int64_t *starts = NULL;
    int32_t nparts = 0;
    int rc = lt_check_opts(cli, o);
    memset(res, 0, sizeof(*res));
    res->verified = -1;
    if (rc || (rc = cli__connect(cli)) || (rc = lt_prepare(cli, o, &starts, &nparts)))
        return rc;
    sh.run_id = (uint32_t)(kc_mono_ns() ^ ((int64_t)getpid() << 16));
    pthread_mutex_init(&sh.mu, NULL);
    pthread_cond_init(&sh.cv, NULL);
    struct lt_producer *prs = calloc((size_t)o->producers, sizeof(*prs));
    for (int i = 0; prs && i < o->producers && rc == 0; i++)
        rc = lt__producer_init(&sh, &prs[i], i);
    if (prs) {
        int64_t t0 = lt_run(cli, &sh, prs, o->producers);
        lt_result(&sh, prs, o->producers, t0, res);
        rc = lt_report_failures(cli, prs, o->producers);
        if (rc == CLI_OK && o->verify)
            rc = lt_verify(cli, &sh, prs, starts, nparts, res);
        if (rc == CLI_OK && res->verified == 0)
            rc = CLI_EBROKER;
        for (int i = 0; i < o->producers; i++)
            lt__producer_fini(&prs[i]);
    } else {
        rc = cli__report(cli, -ENOMEM);
    }
    free(prs);
    free(starts);
    pthread_mutex_destroy(&sh.mu);
    pthread_cond_destroy(&sh.cv);
    return rc;
}

static const char *lt_acks_name(int16_t acks)
{
    return acks == NP_ACKS_ALL ? "all" : acks == NP_ACKS_NONE ? "0" : "1";
}

void cli_loadtest_print(FILE *f, const struct cli_loadtest_opts *o,
                        const struct cli_loadtest_result *res)
{
    char b1[32], b2[32], b3[32], b4[32];
    fprintf(f, "test: topic=%s size=%d batch=%d acks=%s producers=%d window=%d\n", o->topic,
            o->size, o->batch, lt_acks_name(o->acks), o->producers, o->window);
    fprintf(f, "records      %lld\n", (long long)res->records);
    fprintf(f, "bytes        %lld (%s)\n", (long long)res->bytes,
            kc_fmt_bytes((double)res->bytes, b1, sizeof(b1)));
    fprintf(f, "seconds      %.3f\n", res->seconds);
    fprintf(f, "records/s    %.0f\n", res->records_per_sec);
    fprintf(f, "MB/s         %.2f\n", res->mb_per_sec);
    if (res->have_latency)
        fprintf(f, "ack latency  p50 %s  p99 %s  p99.9 %s  max %s  (per request of %d)\n",
                kc_fmt_ns((double)res->lat_p50_ns, b1, sizeof(b1)),
                kc_fmt_ns((double)res->lat_p99_ns, b2, sizeof(b2)),
                kc_fmt_ns((double)res->lat_p999_ns, b3, sizeof(b3)),
                kc_fmt_ns((double)res->lat_max_ns, b4, sizeof(b4)), o->batch);
    else
        fprintf(f, "ack latency  n/a (acks=0: nothing is acknowledged)\n");
    if (res->errors)
        fprintf(f, "errors       %lld\n", (long long)res->errors);
    if (res->verified >= 0)
        fprintf(f, "verify       %s: missing %lld, duplicated %lld, corrupt %lld, "
                   "out of order %lld\n",
                res->verified ? "ok" : "FAILED", (long long)res->verify_missing,
                (long long)res->verify_duplicates, (long long)res->verify_corrupt,
                (long long)res->verify_out_of_order);
}

void cli_loadtest_print_json(FILE *f, const struct cli_loadtest_opts *o,
                             const struct cli_loadtest_result *res)
{
    fprintf(f, "{\"topic\":\"");
    cli_escape(f, (const uint8_t *)o->topic, (int32_t)strlen(o->topic)); /* names need none */
    fprintf(f, "\",\"size\":%d,\"batch\":%d,\"acks\":\"%s\",\"producers\":%d,\"window\":%d,"
               "\"records\":%lld,\"bytes\":%lld,\"requests\":%lld,\"seconds\":%.6f,"
               "\"records_per_sec\":%.1f,\"mb_per_sec\":%.3f,",
            o->size, o->batch, lt_acks_name(o->acks), o->producers, o->window,
            (long long)res->records, (long long)res->bytes, (long long)res->requests,
            res->seconds, res->records_per_sec, res->mb_per_sec);
    if (res->have_latency)
        fprintf(f, "\"latency_us\":{\"p50\":%.1f,\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f},",
                (double)res->lat_p50_ns / 1e3, (double)res->lat_p99_ns / 1e3,
                (double)res->lat_p999_ns / 1e3, (double)res->lat_max_ns / 1e3);
    else
        fprintf(f, "\"latency_us\":null,");
    fprintf(f, "\"errors\":%lld,\"verified\":%s", (long long)res->errors,
            res->verified < 0 ? "null" : res->verified ? "true" : "false");
    if (res->verified >= 0)
        fprintf(f, ",\"verify\":{\"missing\":%lld,\"duplicates\":%lld,\"corrupt\":%lld,"
                   "\"out_of_order\":%lld}",
                (long long)res->verify_missing, (long long)res->verify_duplicates,
                (long long)res->verify_corrupt, (long long)res->verify_out_of_order);
    fprintf(f, "}\n");
}

/* ---- the command ----------------------------------------------------------------------- */

struct lt_words {
    const char *size, *batch, *acks, *producers, *window, *partitions;
};

static int lt_parse(struct cli *cli, const struct lt_words *w, struct cli_loadtest_opts *o)
{
    int64_t v;
    struct {
        const char *s, *name;
        int64_t min, max;
        int32_t *out;
    } nums[] = {
        {w->size, "--size", 0, 64 << 20, &o->size},
        {w->batch, "--batch", 1, 1 << 20, &o->batch},
        {w->producers, "--producers", 1, 1024, &o->producers},
        {w->window, "--window", 1, 65536, &o->window},
        {w->partitions, "--partitions", 1, INT32_MAX, &o->partitions},
    };
    for (size_t i = 0; i < KC_ARRAY_SIZE(nums); i++) {
        if (!nums[i].s)
            continue;
        if (cli__num(cli, "test", nums[i].name, nums[i].s, nums[i].min, nums[i].max, &v))
            return CLI_EUSAGE;
        *nums[i].out = (int32_t)v;
    }
    if (w->acks && cli_parse_acks(w->acks, &o->acks) != 0)
        return lt_usage(cli, "--acks must be 0, 1 or all");
    return CLI_OK;
}

int cli__cmd_test(struct cli *cli, int argc, char **argv)
{
    bool help = false;
    char *pos[2];
    int n, rc;
    struct lt_words w = {0};
    struct cli_loadtest_opts o;
    struct cli_loadtest_result res;
    cli_loadtest_opts_init(&o);
    const struct cli_opt opts[] = {
        {"help", NULL, &help, NULL},        {"size", &w.size, NULL, NULL},
        {"batch", &w.batch, NULL, NULL},    {"acks", &w.acks, NULL, NULL},
        {"producers", &w.producers, NULL, NULL}, {"window", &w.window, NULL, NULL},
        {"partitions", &w.partitions, NULL, NULL}, {"json", NULL, &o.json, NULL},
        {"verify", NULL, &o.verify, NULL},  {NULL, NULL, NULL, NULL}};
    rc = cli__args(cli, argc, argv, opts, pos, 2, 2, &n, &help);
    if (rc || help)
        return rc;
    o.topic = pos[0];
    if ((rc = cli__num(cli, "test", "count", pos[1], 1, INT64_MAX / 2, &o.count)) ||
        (rc = lt_parse(cli, &w, &o)))
        return rc;
    o.progress = true; /* drawn only when stderr is a terminal */
    rc = cli_loadtest(cli, &o, &res);
    if (rc == CLI_EUSAGE || (res.records == 0 && rc != CLI_OK))
        return rc;
    if (o.json)
        cli_loadtest_print_json(cli->out, &o, &res);
    else
        cli_loadtest_print(cli->out, &o, &res);
    return rc;
}
