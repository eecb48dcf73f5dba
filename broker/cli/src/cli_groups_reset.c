/*
 * cli_groups_reset.c - `kafka_cli groups reset-offsets`: move where a consumer group will
 * start reading, as kafka-consumer-groups.sh --reset-offsets does.
 *
 *   1. the group must be inactive (DescribeGroups: "Empty", or "Dead": never used). A live
 *      member would overwrite the new offsets with its next commit, so Kafka's tool
 *      refuses, and so does this one, for a dry run too;
 *   2. the partitions: --topic T (every partition, from Metadata), --topic T:0,2, or
 *      --all-topics (every partition the group has committed, from OffsetFetch);
 *   3. the new offsets, from each partition's leader (ListOffsets):
 *        --to-earliest    timestamp -2: the log start offset
 *        --to-latest      timestamp -1: the log end offset
 *        --to-datetime T  the first record at or after T; none (T is past the end):
 *                         the log end, as Kafka's tool does
 *        --to-offset N    N, moved inside [log start, log end] with a warning if outside
 *   4. Kafka's rule: nothing changes without --execute. The default is a dry run that
 *      prints the plan and says so; --execute commits it with OffsetCommit at the
 *      coordinator, as a member-less ("standalone") commit: generation -1, member "".
 *
 *   GROUP  TOPIC     PARTITION  NEW-OFFSET
 *   app    payments  0          0
 */
#include <stdlib.h>
#include <string.h>

#include "cli_admin.h"
#include "kc_common.h"

enum to { TO_NONE, TO_EARLIEST, TO_LATEST, TO_DATETIME, TO_OFFSET };

struct reset {
    const char *group;
    struct cli_optlist topics;
    bool all_topics, earliest, latest, dry_run, execute;
    const char *datetime, *offset;
    enum to to;
    int64_t arg; /* the time (ms) or the offset */
    struct cli_ktp *tps;
    size_t n;
    int64_t *next; /* the new offset of tps[i] */
    struct kp_arena names;
};

/* ---- the options ----------------------------------------------------------------------------- */

static int reset_check(struct cli_admin *a, struct reset *r)
{
    int scenarios = r->earliest + r->latest + !!r->datetime + !!r->offset;
    if (scenarios != 1)
        return cli__admin_usage(a, "say where to: one of --to-earliest, --to-latest, "
                                   "--to-datetime, --to-offset");
    if (r->dry_run && r->execute)
        return cli__admin_usage(a, "--dry-run and --execute exclude each other");
    if (!!r->topics.n == r->all_topics)
        return cli__admin_usage(a, "name the partitions: --topic T[:p,...] or --all-topics");
    r->to = r->earliest   ? TO_EARLIEST
            : r->latest   ? TO_LATEST
            : r->datetime ? TO_DATETIME
                          : TO_OFFSET;
    if (r->datetime && cli__parse_datetime(r->datetime, &r->arg) != 0)
        return cli__admin_usage(a,
                                "--to-datetime takes YYYY-MM-DDTHH:mm:SS.sss with an "
                                "optional zone (Z, +hh:mm), not '%s'",
                                r->datetime);
    if (r->offset)
        return cli__admin_num(a, "--to-offset", r->offset, 0, INT64_MAX, &r->arg);
    return CLI_OK;
}

/* ---- the plan -------------------------------------------------------------------------------- */

/* ListOffsets(ts) for every partition into out[i]; CLI_EBROKER after printing each failure. */
static int offsets_at(struct cli_admin *a, struct reset *r, int64_t ts, int64_t *out)
{
    int rc;
    for (size_t i = 0; i < r->n; i++)
        r->tps[i].in = ts;
    if ((rc = cli__kafka_list_offsets(&a->k, r->tps, r->n)))
        return rc;
    for (size_t i = 0; i < r->n; i++) {
        char what[300];
        out[i] = r->tps[i].out;
        if (!r->tps[i].error)
            continue;
        snprintf(what, sizeof(what), "%s-%d", r->tps[i].topic, r->tps[i].partition);
        rc = cli__kerr(&a->k, what, r->tps[i].error, (struct kc_slice){NULL, -1});
    }
    return rc;
}

static void clamp_warn(struct cli_admin *a, const struct cli_ktp *tp, int64_t want, int64_t got,
                       const char *side)
{
    fprintf(a->cli->err,
            "warning: new offset (%lld) is %s than the %s offset of %s-%d: it will be %lld\n",
            (long long)want, side[0] == 'e' ? "lower" : "higher", side, tp->topic, tp->partition,
            (long long)got);
}

static int plan(struct cli_admin *a, struct reset *r)
{
    int64_t *ends = malloc((r->n + 1) * sizeof(*ends));
    int rc = ends ? CLI_OK : CLI_EBROKER;
    if (rc == CLI_OK && r->to != TO_EARLIEST) /* every other scenario needs the log ends */
        rc = offsets_at(a, r, -1, ends);
    if (rc == CLI_OK && r->to == TO_LATEST)
        memcpy(r->next, ends, r->n * sizeof(*ends));
    else if (rc == CLI_OK)
        rc = offsets_at(a, r, r->to == TO_DATETIME ? r->arg : -2, r->next);
    for (size_t i = 0; rc == CLI_OK && i < r->n; i++) {
        int64_t start = r->next[i];
        if (r->to == TO_DATETIME && r->next[i] < 0)
            r->next[i] = ends[i]; /* no record at or after the time: the log end */
        if (r->to != TO_OFFSET)
            continue;
        r->next[i] = KC_MIN(KC_MAX(r->arg, start), ends[i]);
        if (r->arg != r->next[i])
            clamp_warn(a, &r->tps[i], r->arg, r->next[i], r->arg < start ? "earliest" : "latest");
    }
    free(ends);
    return rc;
}

/* ---- OffsetCommit ------------------------------------------------------------------------------
 */

static void *commit_request(struct kp_arena *arena, const struct reset *r)
{
    struct kp_offset_commit_req *req = kp_new(arena, &kp_offset_commit_req_schema, 1);
    struct kp_offset_commit_req_topic *t =
        kp_new(arena, &kp_offset_commit_req_topic_schema, (int32_t)r->n);
    struct kp_offset_commit_req_partition *p =
        kp_new(arena, &kp_offset_commit_req_partition_schema, (int32_t)r->n);
    int32_t nt = 0;
    if (!req || !t || !p)
        return NULL;
    req->group_id = kp_slice_str(r->group);
    req->generation_id_or_member_epoch = -1; /* no member: a standalone commit */
    req->member_id = kp_slice_str("");
    for (size_t i = 0; i < r->n; i++) { /* sorted: a topic's partitions are together */
        if (nt == 0 || !kp_slice_eq(t[nt - 1].name, r->tps[i].topic)) {
            t[nt].name = kp_slice_str(r->tps[i].topic);
            t[nt++].partitions.v = &p[i];
        }
        p[i].partition_index = r->tps[i].partition;
        p[i].committed_offset = r->next[i];
        p[i].committed_metadata = kp_slice_str("");
        t[nt - 1].partitions.n++;
    }
    KP_SET(req->topics, nt, t);
    return req;
}

/* Each partition's code into tps[].error; one that asks for a retry, or 0. */
static int16_t commit_take(const struct kp_offset_commit_resp *resp, struct reset *r)
{
    struct cli_ktp **ptrs = malloc((r->n + 1) * sizeof(*ptrs));
    int16_t again = 0;
    for (size_t i = 0; i < r->n; i++) {
        r->tps[i].error = KP_ERR_UNKNOWN_SERVER_ERROR; /* until the answer names it */
        if (ptrs)
            ptrs[i] = &r->tps[i];
    }
    for (int32_t i = 0; ptrs && i < resp->topics.n; i++)
        for (int32_t j = 0; j < resp->topics.v[i].partitions.n; j++) {
            const struct kp_offset_commit_resp_partition *p = &resp->topics.v[i].partitions.v[j];
            struct cli_ktp *tp =
                cli__ktp_find(ptrs, r->n, resp->topics.v[i].name, p->partition_index);
            if (tp)
                tp->error = p->error_code;
            if (tp && cli__kerr_retriable(p->error_code))
                again = p->error_code;
        }
    free(ptrs);
    return again;
}

static int commit(struct cli_admin *a, struct reset *r)
{
    for (;;) {
        struct cli_kconn *conn;
        struct cli_kresp resp;
        struct kp_arena arena;
        int16_t v;
        int rc = cli__kafka_coordinator(&a->k, r->group, &conn);
        if (rc || (rc = cli__kafka_version(&a->k, conn, KP_API_OFFSET_COMMIT, 2, 9, &v)))
            return rc;
        kp_arena_init(&arena, 0);
        void *req = commit_request(&arena, r);
        rc = req ? cli__kafka_call(&a->k, conn, KP_API_OFFSET_COMMIT, v, req, &resp) : CLI_EBROKER;
        kp_arena_fini(&arena);
        if (rc)
            return rc;
        int16_t again = commit_take(resp.r.msg, r);
        cli__kresp_fini(&resp);
        if (!again || !cli__kafka_retry(&a->k, again))
            return CLI_OK;
    }
}

/* ---- output ---------------------------------------------------------------------------------- */

static int print_plan(struct cli_admin *a, const struct reset *r)
{
    struct cli_table t;
    int rc = CLI_OK;
    cli__table_init(&t, 4, (const char *const[]){"GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"});
    if (a->json) {
        cli__json_open(&a->j, '{');
        cli__json_kstr(&a->j, "group", r->group);
        cli__json_kbool(&a->j, "executed", r->execute);
        cli__json_key(&a->j, "partitions");
        cli__json_open(&a->j, '[');
    }
    for (size_t i = 0; i < r->n; i++) {
        const char *err = r->execute && r->tps[i].error ? cli__kerr_name(r->tps[i].error) : NULL;
        if (a->json) {
            cli__json_open(&a->j, '{');
            cli__json_kstr(&a->j, "topic", r->tps[i].topic);
            cli__json_kint(&a->j, "partition", r->tps[i].partition);
            cli__json_kint(&a->j, "new_offset", r->next[i]);
            cli__json_kstr(&a->j, "error", err);
            cli__json_close(&a->j, '}');
        }
        cli__table_slice(&t, kp_slice_str(r->group));
        cli__table_add(&t, "%s", r->tps[i].topic);
        cli__table_add(&t, "%d", r->tps[i].partition);
        cli__table_add(&t, "%lld", (long long)r->next[i]);
        if (err) {
            fprintf(a->cli->err, "error: %s-%d was not reset: %s\n", r->tps[i].topic,
                    r->tps[i].partition, err);
            rc = CLI_EBROKER;
        }
    }
    if (a->json) {
        cli__json_list_end(&a->j);
    } else {
        cli__table_print(&t, a->cli->out);
    }
    cli__table_fini(&t);
    return rc;
}

/* ---- the verb -------------------------------------------------------------------------------- */

static int inactive_check(struct cli_admin *a, const char *group)
{
    const struct kp_describe_groups_resp_described_group *g;
    struct cli_kconn *coord;
    struct cli_kresp resp;
    int rc = cli__group_describe(a, group, &resp, &g, &coord);
    if (rc)
        return rc;
    if (!cli__group_inactive(g->group_state)) {
        fprintf(a->cli->err,
                "error: assignments can only be reset if the group '%s' is inactive, but the "
                "current state is %.*s (stop its consumers first)\n",
                group, (int)KC_MAX(g->group_state.len, 0), g->group_state.p);
        rc = CLI_EBROKER;
    }
    cli__kresp_fini(&resp);
    return rc;
}

static int reset_run(struct cli_admin *a, struct reset *r)
{
    int rc;
    if ((rc = cli__admin_open(a)) || (rc = inactive_check(a, r->group)))
        return rc;
    rc = r->all_topics ? cli__group_offsets(a, r->group, &r->names, &r->tps, &r->n)
                       : cli__topic_specs(a, &r->topics, &r->names, &r->tps, &r->n);
    if (rc)
        return rc;
    if (r->n == 0) {
        fprintf(a->cli->err, "error: group '%s' has no committed offsets to reset\n", r->group);
        return CLI_EBROKER;
    }
    if (!(r->next = calloc(r->n, sizeof(*r->next))) || (rc = plan(a, r)))
        return rc ? rc : CLI_EBROKER;
    if (r->execute && (rc = commit(a, r)))
        return rc;
    rc = print_plan(a, r);
    if (!r->execute)
        fprintf(a->cli->err, "Dry run (the default): nothing was changed. Add --execute to "
                             "commit these offsets.\n");
    return rc;
}

int cli__groups_reset(struct cli_admin *a, int argc, char **argv)
{
    struct reset r = {.topics = {.n = 0}};
    char *pos[1];
    int n, rc;
    const struct cli_opt opts[] = {{"topic", NULL, NULL, &r.topics},
                                   {"all-topics", NULL, &r.all_topics, NULL},
                                   {"to-earliest", NULL, &r.earliest, NULL},
                                   {"to-latest", NULL, &r.latest, NULL},
                                   {"to-datetime", &r.datetime, NULL, NULL},
                                   {"to-offset", &r.offset, NULL, NULL},
                                   {"dry-run", NULL, &r.dry_run, NULL},
                                   {"execute", NULL, &r.execute, NULL},
                                   {NULL, NULL, NULL, NULL}};
    if ((rc = cli__admin_args(a, argc, argv, opts, pos, 1, 1, &n)) || a->help ||
        (rc = reset_check(a, &r)))
        return rc;
    r.group = pos[0];
    kp_arena_init(&r.names, 0);
    rc = reset_run(a, &r);
    free(r.tps);
    free(r.next);
    kp_arena_fini(&r.names);
    return rc;
}
