/*
 * cli_kparts.c - partitions, and the requests that must reach each partition's leader.
 *
 * ListOffsets and DeleteRecords act on partitions, and only a partition's leader answers
 * for it (another broker says NOT_LEADER_OR_FOLLOWER). So a verb with partitions spread
 * over a cluster sends one request per leader:
 *
 *   tps (sorted by topic, partition)      Metadata(their topics)
 *   a-0 a-1 a-2 b-0                  ->   a-0: leader 1, a-1: leader 2, a-2: leader 1, b-0: 2
 *                                    ->   broker 1: {a: [0, 2]}     broker 2: {a: [1], b: [0]}
 *   answers set each partition's out and error; a partition whose leader moved meanwhile
 *   (NOT_LEADER_OR_FOLLOWER, LEADER_NOT_AVAILABLE) is asked again, with fresh Metadata,
 *   until the deadline: cli__kafka_by_leader.
 *
 * The op (struct cli_kleader_op) knows the API's shapes: build a request for some
 * partitions of one leader, take the answer. Everything else is here, once.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_admin.h"
#include "kc_common.h"

int cli__ktp_cmp(const void *a, const void *b)
{
    const struct cli_ktp *x = a, *y = b;
    int c = strcmp(x->topic, y->topic);
    return c ? c : (x->partition > y->partition) - (x->partition < y->partition);
}

/* The topic named s in a Metadata answer, or NULL. */
static const struct kp_metadata_resp_topic *md_topic(const struct kp_metadata_resp *md,
                                                     const char *s)
{
    for (int32_t i = 0; i < md->topics.n; i++)
        if (kp_slice_eq(md->topics.v[i].name, s))
            return &md->topics.v[i];
    return NULL;
}

/* ---- every partition of some topics ------------------------------------------------------- */

static int append_partitions(struct cli_kafka *k, const struct kp_metadata_resp_topic *t,
                             const char *name, struct cli_ktp **out, size_t *nout)
{
    char what[300];
    if (!t || t->error_code) {
        snprintf(what, sizeof(what), "topic '%s'", name);
        return cli__kerr(k, what, t ? t->error_code : KP_ERR_UNKNOWN_TOPIC_OR_PARTITION,
                         (struct kc_slice){NULL, -1});
    }
    struct cli_ktp *more = realloc(*out, (*nout + (size_t)t->partitions.n + 1) * sizeof(**out));
    if (!more)
        return CLI_EBROKER;
    *out = more;
    for (int32_t p = 0; p < t->partitions.n; p++)
        more[(*nout)++] = (struct cli_ktp){
            .topic = name, .partition = t->partitions.v[p].partition_index, .leader = -1};
    return CLI_OK;
}

int cli__kafka_partitions(struct cli_kafka *k, const char *const *topics, int n,
                          struct cli_ktp **out, size_t *nout)
{
    struct cli_kresp resp;
    struct cli_ktp *tps = NULL;
    size_t ntps = 0;
    int rc = cli__kafka_metadata(k, topics, n, &resp), first = CLI_OK;
    if (rc)
        return rc;
    for (int i = 0; i < n && rc == CLI_OK; i++) {
        rc = append_partitions(k, md_topic(resp.r.msg, topics[i]), topics[i], &tps, &ntps);
        if (rc == CLI_EBROKER && first == CLI_OK)
            first = rc, rc = CLI_OK; /* report every missing topic, then fail */
    }
    cli__kresp_fini(&resp);
    if (rc == CLI_OK)
        rc = first;
    if (rc) {
        free(tps);
        return rc;
    }
    if (ntps > 1) /* qsort wants an array, even of nothing */
        qsort(tps, ntps, sizeof(*tps), cli__ktp_cmp);
    *out = tps;
    *nout = ntps;
    return CLI_OK;
}

/* ---- leaders --------------------------------------------------------------------------------- */

/* Set leader (or a retriable error) of each pending partition from md. */
static void leaders_from(const struct kp_metadata_resp *md, struct cli_ktp *tps, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct cli_ktp *tp = &tps[i];
        const struct kp_metadata_resp_topic *t = tp->done ? NULL : md_topic(md, tp->topic);
        const struct kp_metadata_resp_partition *p = NULL;
        if (tp->done)
            continue;
        for (int32_t j = 0; t && !t->error_code && j < t->partitions.n && !p; j++)
            if (t->partitions.v[j].partition_index == tp->partition)
                p = &t->partitions.v[j];
        tp->leader = p ? p->leader_id : -1;
        tp->error = t && t->error_code ? t->error_code
                    : !p               ? KP_ERR_UNKNOWN_TOPIC_OR_PARTITION
                    : p->leader_id < 0 ? KP_ERR_LEADER_NOT_AVAILABLE
                                       : 0;
        tp->done = tp->error && !cli__kerr_retriable(tp->error);
    }
}

static int assign_leaders(struct cli_kafka *k, struct cli_ktp *tps, size_t n)
{
    const char **names = malloc(n * sizeof(*names));
    struct cli_kresp resp;
    int nn = 0, rc;
    if (!names)
        return CLI_EBROKER;
    for (size_t i = 0; i < n; i++) /* sorted: a topic's partitions are together */
        if (!tps[i].done && (nn == 0 || strcmp(names[nn - 1], tps[i].topic) != 0))
            names[nn++] = tps[i].topic;
    rc = cli__kafka_metadata(k, names, nn, &resp);
    free(names);
    if (rc)
        return rc;
    leaders_from(resp.r.msg, tps, n);
    cli__kresp_fini(&resp);
    return CLI_OK;
}

/* One request to one leader for sel[0..m), its answer taken. */
static int ask_leader(struct cli_kafka *k, int32_t leader, struct cli_ktp **sel, size_t m,
                      const struct cli_kleader_op *op)
{
    struct cli_kconn *conn;
    struct cli_kresp resp;
    struct kp_arena arena;
    int16_t v;
    int rc = cli__kafka_node(k, leader, &conn);
    if (rc || (rc = cli__kafka_version(k, conn, op->key, op->lo, op->hi, &v)))
        return rc;
    kp_arena_init(&arena, 0);
    void *req = op->build(&arena, v, sel, m);
    rc = req ? cli__kafka_call(k, conn, op->key, v, req, &resp) : CLI_EBROKER;
    kp_arena_fini(&arena);
    if (rc)
        return rc;
    for (size_t i = 0; i < m; i++)
        sel[i]->error = KP_ERR_UNKNOWN_SERVER_ERROR; /* until the answer names it */
    op->take(resp.r.msg, v, sel, m);
    cli__kresp_fini(&resp);
    for (size_t i = 0; i < m; i++) {
        sel[i]->done = !cli__kerr_retriable(sel[i]->error);
        sel[i]->leader = -1; /* not asked again this round */
    }
    return CLI_OK;
}

/* One round: every pending partition with a leader, one request per leader. */
static int ask_leaders(struct cli_kafka *k, struct cli_ktp *tps, size_t n,
                       const struct cli_kleader_op *op, struct cli_ktp **sel)
{
    for (size_t i = 0; i < n; i++) {
        int32_t leader = tps[i].leader;
        size_t m = 0;
        if (tps[i].done || leader < 0)
            continue;
        for (size_t j = i; j < n; j++)
            if (!tps[j].done && tps[j].leader == leader)
                sel[m++] = &tps[j];
        int rc = ask_leader(k, leader, sel, m, op);
        if (rc)
            return rc;
    }
    return CLI_OK;
}

int cli__kafka_by_leader(struct cli_kafka *k, struct cli_ktp *tps, size_t n,
                         const struct cli_kleader_op *op)
{
    struct cli_ktp **sel = malloc((n ? n : 1) * sizeof(*sel));
    int rc = sel ? CLI_OK : CLI_EBROKER;
    if (n > 1)
        qsort(tps, n, sizeof(*tps), cli__ktp_cmp);
    for (size_t i = 0; i < n; i++)
        tps[i].done = false, tps[i].error = 0, tps[i].leader = -1;
    while (rc == CLI_OK) {
        int16_t again = 0;
        if ((rc = assign_leaders(k, tps, n)) || (rc = ask_leaders(k, tps, n, op, sel)))
            break;
        for (size_t i = 0; i < n && !again; i++)
            if (!tps[i].done)
                again = tps[i].error;
        if (!again || !cli__kafka_retry(k, again))
            break;
    }
    for (size_t i = 0; i < n; i++)
        tps[i].done = true; /* what is still pending keeps its last error */
    free(sel);
    return rc;
}

/* ---- ListOffsets -------------------------------------------------------------------------------
 */

struct cli_ktp *cli__ktp_find(struct cli_ktp *const *tps, size_t n, struct kc_slice topic,
                              int32_t partition)
{
    char name[256];
    struct cli_ktp key = {.topic = cli__kstr(topic, name, sizeof(name)), .partition = partition};
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cli__ktp_cmp(&key, tps[mid]);
        if (c == 0)
            return tps[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

static void *list_offsets_build(struct kp_arena *arena, int16_t v, struct cli_ktp *const *tps,
                                size_t n)
{
    struct kp_list_offsets_req *req = kp_new(arena, &kp_list_offsets_req_schema, 1);
    struct kp_list_offsets_req_topic *t =
        kp_new(arena, &kp_list_offsets_req_topic_schema, (int32_t)n);
    struct kp_list_offsets_req_partition *p =
        kp_new(arena, &kp_list_offsets_req_partition_schema, (int32_t)n);
    int32_t nt = 0;
    (void)v;
    if (!req || !t || !p)
        return NULL;
    req->replica_id = -1;     /* a client, not a follower */
    req->isolation_level = 0; /* read_uncommitted: the log end, as Kafka's tools show it */
    for (size_t i = 0; i < n; i++) {
        if (nt == 0 || !kp_slice_eq(t[nt - 1].name, tps[i]->topic)) {
            t[nt].name = kp_slice_str(tps[i]->topic);
            t[nt++].partitions.v = &p[i];
        }
        p[i].partition_index = tps[i]->partition;
        p[i].timestamp = tps[i]->in;
        t[nt - 1].partitions.n++;
    }
    KP_SET(req->topics, nt, t);
    return req;
}

static void list_offsets_take(const void *msg, int16_t v, struct cli_ktp *const *tps, size_t n)
{
    const struct kp_list_offsets_resp *r = msg;
    (void)v;
    for (int32_t i = 0; i < r->topics.n; i++)
        for (int32_t j = 0; j < r->topics.v[i].partitions.n; j++) {
            const struct kp_list_offsets_resp_partition_response *p =
                &r->topics.v[i].partitions.v[j];
            struct cli_ktp *tp = cli__ktp_find(tps, n, r->topics.v[i].name, p->partition_index);
            if (tp) {
                tp->error = p->error_code;
                tp->out = p->offset;
            }
        }
}

int cli__kafka_list_offsets(struct cli_kafka *k, struct cli_ktp *tps, size_t n)
{
    static const struct cli_kleader_op op = {KP_API_LIST_OFFSETS, 1, 9, list_offsets_build,
                                             list_offsets_take};
    return cli__kafka_by_leader(k, tps, n, &op);
}

/* ---- words -------------------------------------------------------------------------------------
 */

int cli__parse_topic_parts(const char *s, char *topic, size_t cap, int32_t **parts, size_t *nparts)
{
    const char *colon = strchr(s, ':');
    size_t n = colon ? (size_t)(colon - s) : strlen(s), count = 0;
    int32_t *v = NULL;
    if (n == 0 || n >= cap)
        return -EINVAL;
    if (colon) {
        const char *p = colon + 1;
        if (!*p || !(v = malloc((strlen(p) / 2 + 1) * sizeof(*v))))
            return -EINVAL;
        for (;;) {
            char num[16];
            int64_t x;
            size_t len = strcspn(p, ",");
            if (len == 0 || len >= sizeof(num))
                goto bad;
            memcpy(num, p, len);
            num[len] = '\0';
            if (kc_parse_i64(num, 0, INT32_MAX, &x) != 0)
                goto bad;
            v[count++] = (int32_t)x;
            if (!p[len])
                break;
            p += len + 1;
        }
    }
    memcpy(topic, s, n);
    topic[n] = '\0';
    *parts = v;
    *nparts = count;
    return 0;
bad:
    free(v);
    return -EINVAL;
}

void cli__assignment_fini(struct cli_assignment *as)
{
    free(as->len);
    free(as->off);
    free(as->ids);
    memset(as, 0, sizeof(*as));
}

/* One broker id at *p (ends at ':', ',' or the end; advances *p): 0 or -EINVAL. */
static int assignment_id(const char **p, int32_t *id)
{
    char num[16];
    int64_t x;
    size_t len = strcspn(*p, ":,");
    if (len == 0 || len >= sizeof(num))
        return -EINVAL;
    memcpy(num, *p, len);
    num[len] = '\0';
    if (kc_parse_i64(num, 0, INT32_MAX, &x) != 0)
        return -EINVAL;
    *id = (int32_t)x;
    *p += len;
    return 0;
}

int cli__parse_assignment(const char *s, struct cli_assignment *out)
{
    size_t cap = strlen(s) / 2 + 1; /* ids and partitions: each takes 2 characters at least */
    struct cli_assignment as = {.len = calloc(cap, sizeof(int32_t)),
                                .off = calloc(cap, sizeof(int32_t)),
                                .ids = calloc(cap, sizeof(int32_t))};
    int32_t nids = 0;
    int rc = as.len && as.off && as.ids ? 0 : -ENOMEM;
    for (const char *p = s; rc == 0;) {
        int32_t id;
        if ((rc = assignment_id(&p, &id)) != 0)
            break;
        for (int32_t k = as.off[as.n]; k < nids; k++)
            if (as.ids[k] == id)
                rc = -EINVAL; /* a broker twice in one partition */
        as.ids[nids++] = id;
        as.len[as.n]++;
        if (*p == ',' || !*p) {
            as.n++;
            if (!*p)
                break;
            as.off[as.n] = nids;
        }
        p++;
    }
    if (rc != 0) {
        cli__assignment_fini(&as);
        return rc;
    }
    *out = as;
    return 0;
}

/* n decimal digits at *p into *out; advances *p. */
static bool digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++, (*p)++) {
        if (**p < '0' || **p > '9')
            return false;
        v = v * 10 + (**p - '0');
    }
    *out = v;
    return true;
}

/* The zone suffix: Z, +hh:mm, +hhmm, -... (minutes east of UTC into *east), or "" (local). */
static int parse_zone(const char *p, bool *local, int *east)
{
    int hh, mm;
    *local = *p == '\0';
    *east = 0;
    if (*local || (p[0] == 'Z' && !p[1]))
        return 0;
    if (*p != '+' && *p != '-')
        return -EINVAL;
    int sign = *p++ == '-' ? -1 : 1;
    if (!digits(&p, 2, &hh) || (*p == ':' && !*++p) || !digits(&p, 2, &mm) || *p || hh > 23 ||
        mm > 59)
        return -EINVAL;
    *east = sign * (hh * 60 + mm);
    return 0;
}

int cli__parse_datetime(const char *s, int64_t *ms)
{
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    struct tm tm = {0};
    int y, mo, d, h, mi, sec = 0, frac = 0, east;
    bool local;
    const char *p = s;
    if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
        !digits(&p, 2, &d) || *p++ != 'T' || !digits(&p, 2, &h) || *p++ != ':' ||
        !digits(&p, 2, &mi))
        return -EINVAL;
    if (*p == ':' && (++p, !digits(&p, 2, &sec)))
        return -EINVAL;
    if (*p == '.') {
        int i = 0;
        for (p++; *p >= '0' && *p <= '9'; p++, i++)
            frac = i < 3 ? frac * 10 + (*p - '0') : frac;
        if (i == 0)
            return -EINVAL;
        for (; i < 3; i++)
            frac *= 10;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || sec > 60 ||
        parse_zone(p, &local, &east) != 0)
        return -EINVAL;
    tm = (struct tm){.tm_year = y - 1900,
                     .tm_mon = mo - 1,
                     .tm_mday = d,
                     .tm_hour = h,
                     .tm_min = mi,
                     .tm_sec = sec,
                     .tm_isdst = -1};
    time_t t = local ? mktime(&tm) : timegm(&tm) - (time_t)east * 60;
    if (tm.tm_mon != mo - 1) /* February the 29th of a year that has none */
        return -EINVAL;
    *ms = (int64_t)t * 1000 + frac;
    return 0;
}
