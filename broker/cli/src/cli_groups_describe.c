/*
 * cli_groups_describe.c - `kafka_cli groups describe`: who is in a group, what it has
 * committed, and how far behind the log end it is (kafka-consumer-groups.sh --describe).
 *
 *   FindCoordinator(G) -> DescribeGroups(G)   state, assignor, members and, for a consumer
 *                                             group, each member's assignment (bytes in
 *                                             Kafka's ConsumerProtocolAssignment format)
 *                      -> OffsetFetch(G, all) committed offsets
 *   Metadata + ListOffsets(latest)            each partition's log end, from its leader
 *
 * Three views, as Kafka's tool has them: the offsets (default), --members, --state. --json
 * prints all three at once, per group.
 */
#include <stdlib.h>
#include <string.h>

#include "cli_admin.h"
#include "kc_common.h"

/* One line of describe: a partition the group committed or is assigned. */
struct row {
    const char *topic;
    int32_t partition;
    int64_t committed; /* -1: nothing committed */
    int64_t end;       /* the log end offset; -1 unknown */
    int member;        /* index into the group's members; -1: none */
    int16_t error;     /* ListOffsets' code for it */
};

static int row_cmp(const void *a, const void *b)
{
    const struct row *x = a, *y = b;
    int c = strcmp(x->topic, y->topic);
    return c ? c : (x->partition > y->partition) - (x->partition < y->partition);
}

struct described {
    const char *group;
    const struct kp_describe_groups_resp_described_group *g;
    struct cli_kconn *coord;
    struct kp_consumer_protocol_assignment *asg; /* per member (consumer groups) */
    struct row *rows;
    size_t nrows;
    struct kp_arena arena; /* assignments, topic names */
};

/* The members' assignments, decoded as ConsumerProtocolAssignment (consumer groups). */
static void decode_assignments(struct described *d)
{
    int32_t n = d->g->members.n;
    d->asg = kp_arena_alloc(&d->arena, ((size_t)n + 1) * sizeof(*d->asg));
    for (int32_t i = 0; d->asg && i < n; i++) {
        struct kc_slice b = d->g->members.v[i].member_assignment;
        size_t used;
        kp_init(&kp_consumer_protocol_assignment_schema, &d->asg[i]);
        if (!kp_slice_eq(d->g->protocol_type, "consumer") || b.len < 2)
            continue;
        /* a version, then the body; newer versions are read as the newest known (Kafka's
         * ConsumerProtocol does the same: fields are only ever added) */
        int16_t v = (int16_t)kc_load_be16(b.p);
        if (v < 0 || kp_decode(&kp_consumer_protocol_assignment_schema, KC_MIN(v, 3), b.p + 2,
                               (size_t)b.len - 2, &d->arena, &d->asg[i], &used) != 0)
            kp_init(&kp_consumer_protocol_assignment_schema, &d->asg[i]);
    }
}

static int add_row(struct described *d, struct row r, size_t *cap)
{
    if (d->nrows == *cap) {
        size_t c = *cap ? *cap * 2 : 64;
        struct row *more = realloc(d->rows, c * sizeof(*more));
        if (!more)
            return CLI_EBROKER;
        d->rows = more;
        *cap = c;
    }
    d->rows[d->nrows++] = r;
    return CLI_OK;
}

/* Rows: every committed partition, then every assigned one not committed. */
static int build_rows(struct described *d, const struct cli_ktp *com, size_t ncom)
{
    size_t cap = 0;
    int rc = CLI_OK;
    for (size_t i = 0; i < ncom && rc == CLI_OK; i++)
        rc = add_row(d, (struct row){com[i].topic, com[i].partition, com[i].in, -1, -1, 0}, &cap);
    size_t committed = d->nrows;
    for (int32_t m = 0; d->asg && m < d->g->members.n && rc == CLI_OK; m++)
        for (int32_t t = 0; t < d->asg[m].assigned_partitions.n && rc == CLI_OK; t++) {
            const struct kp_consumer_protocol_assignment_topic_partition *tp =
                &d->asg[m].assigned_partitions.v[t];
            char *topic = cli__kstr_dup(&d->arena, tp->topic);
            for (int32_t p = 0; topic && p < tp->partitions.n && rc == CLI_OK; p++) {
                struct row key = {.topic = topic, .partition = tp->partitions.v[p]};
                struct row *hit = bsearch(&key, d->rows, committed, sizeof(key), row_cmp);
                if (hit)
                    hit->member = m;
                else
                    rc = add_row(d, (struct row){topic, key.partition, -1, -1, m, 0}, &cap);
            }
        }
    if (d->nrows)
        qsort(d->rows, d->nrows, sizeof(*d->rows), row_cmp);
    return rc;
}

/* Log end offsets of every row, from the partitions' leaders. */
static int fill_ends(struct cli_admin *a, struct described *d)
{
    struct cli_ktp *tps = calloc(d->nrows + 1, sizeof(*tps));
    int rc = tps ? CLI_OK : CLI_EBROKER;
    for (size_t i = 0; tps && i < d->nrows; i++)
        tps[i] = (struct cli_ktp){.topic = d->rows[i].topic,
                                  .partition = d->rows[i].partition,
                                  .in = -1,
                                  .leader = -1}; /* -1: the latest offset */
    if (rc == CLI_OK && d->nrows)
        rc = cli__kafka_list_offsets(&a->k, tps, d->nrows);
    for (size_t i = 0; rc == CLI_OK && i < d->nrows; i++) { /* both sorted the same way */
        d->rows[i].error = tps[i].error;
        d->rows[i].end = tps[i].error ? -1 : tps[i].out;
    }
    free(tps);
    return rc;
}

static int describe_one(struct cli_admin *a, const char *group, struct described *d,
                        struct cli_kresp *resp)
{
    struct cli_ktp *com = NULL;
    size_t ncom = 0;
    int rc = cli__group_describe(a, group, resp, &d->g, &d->coord);
    if (rc)
        return rc;
    d->group = group;
    decode_assignments(d);
    if ((rc = cli__group_offsets(a, group, &d->arena, &com, &ncom)) == CLI_OK &&
        (rc = build_rows(d, com, ncom)) == CLI_OK)
        rc = fill_ends(a, d);
    free(com);
    return rc;
}

static const struct kp_describe_groups_resp_described_group_member *
row_member(const struct described *d, const struct row *r)
{
    return r->member >= 0 ? &d->g->members.v[r->member] : NULL;
}

/* A number, or "-" for an unknown (negative) one. */
static void table_num(struct cli_table *t, int64_t v)
{
    if (v >= 0)
        cli__table_add(t, "%lld", (long long)v);
    else
        cli__table_add(t, "-");
}

static void human_offsets(struct cli_admin *a, const struct described *d)
{
    static const char *const heads[] = {"GROUP",          "TOPIC",          "PARTITION",
                                        "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG",
                                        "CONSUMER-ID",    "HOST",           "CLIENT-ID"};
    struct cli_table t;
    const struct kc_slice none = {NULL, -1};
    cli__table_init(&t, 9, heads);
    for (size_t i = 0; i < d->nrows; i++) {
        const struct row *r = &d->rows[i];
        const struct kp_describe_groups_resp_described_group_member *m = row_member(d, r);
        cli__table_slice(&t, kp_slice_str(d->group));
        cli__table_add(&t, "%s", r->topic);
        cli__table_add(&t, "%d", r->partition);
        table_num(&t, r->committed);
        table_num(&t, r->end);
        table_num(&t, r->committed >= 0 && r->end >= 0 ? KC_MAX(r->end - r->committed, 0) : -1);
        cli__table_slice(&t, m ? m->member_id : none);
        cli__table_slice(&t, m ? m->client_host : none);
        cli__table_slice(&t, m ? m->client_id : none);
    }
    cli__table_print(&t, a->cli->out);
    cli__table_fini(&t);
}

/* How many partitions member m holds. */
static int32_t member_partitions(const struct described *d, int32_t m)
{
    int32_t n = 0;
    for (int32_t t = 0; d->asg && t < d->asg[m].assigned_partitions.n; t++)
        n += d->asg[m].assigned_partitions.v[t].partitions.n;
    return n;
}

static void human_members(struct cli_admin *a, const struct described *d)
{
    static const char *const heads[] = {"GROUP", "CONSUMER-ID", "GROUP-INSTANCE-ID",
                                        "HOST",  "CLIENT-ID",   "#PARTITIONS"};
    struct cli_table t;
    cli__table_init(&t, 6, heads);
    for (int32_t m = 0; m < d->g->members.n; m++) {
        const struct kp_describe_groups_resp_described_group_member *mm = &d->g->members.v[m];
        cli__table_slice(&t, kp_slice_str(d->group));
        cli__table_slice(&t, mm->member_id);
        cli__table_slice(&t, mm->group_instance_id);
        cli__table_slice(&t, mm->client_host);
        cli__table_slice(&t, mm->client_id);
        cli__table_add(&t, "%d", member_partitions(d, m));
    }
    cli__table_print(&t, a->cli->out);
    cli__table_fini(&t);
}

static void human_state(struct cli_admin *a, const struct described *d)
{
    static const char *const heads[] = {"GROUP", "COORDINATOR (ID)", "ASSIGNMENT-STRATEGY", "STATE",
                                        "#MEMBERS"};
    struct cli_table t;
    cli__table_init(&t, 5, heads);
    cli__table_slice(&t, kp_slice_str(d->group));
    cli__table_add(&t, "%s (%d)", d->coord->addr, d->coord->node);
    cli__table_slice(&t, d->g->protocol_data.len > 0 ? d->g->protocol_data
                                                     : (struct kc_slice){NULL, -1});
    cli__table_slice(&t, d->g->group_state);
    cli__table_add(&t, "%d", d->g->members.n);
    cli__table_print(&t, a->cli->out);
    cli__table_fini(&t);
}

static void json_assignment(struct cli_json *j, const struct kp_consumer_protocol_assignment *asg)
{
    cli__json_key(j, "assignment");
    cli__json_open(j, '[');
    for (int32_t t = 0; asg && t < asg->assigned_partitions.n; t++) {
        cli__json_open(j, '{');
        cli__json_kslice(j, "topic", asg->assigned_partitions.v[t].topic);
        cli__json_key(j, "partitions");
        cli__json_open(j, '[');
        for (int32_t p = 0; p < asg->assigned_partitions.v[t].partitions.n; p++)
            cli__json_int(j, asg->assigned_partitions.v[t].partitions.v[p]);
        cli__json_close(j, ']');
        cli__json_close(j, '}');
    }
    cli__json_close(j, ']');
}

static void json_members(struct cli_json *j, const struct described *d)
{
    cli__json_key(j, "members");
    cli__json_open(j, '[');
    for (int32_t m = 0; m < d->g->members.n; m++) {
        const struct kp_describe_groups_resp_described_group_member *mm = &d->g->members.v[m];
        cli__json_open(j, '{');
        cli__json_kslice(j, "member_id", mm->member_id);
        cli__json_kslice(j, "group_instance_id", mm->group_instance_id);
        cli__json_kslice(j, "client_id", mm->client_id);
        cli__json_kslice(j, "host", mm->client_host);
        json_assignment(j, d->asg ? &d->asg[m] : NULL);
        cli__json_close(j, '}');
    }
    cli__json_close(j, ']');
}

static void json_offsets(struct cli_json *j, const struct described *d)
{
    cli__json_key(j, "offsets");
    cli__json_open(j, '[');
    for (size_t i = 0; i < d->nrows; i++) {
        const struct row *r = &d->rows[i];
        const struct kp_describe_groups_resp_described_group_member *m = row_member(d, r);
        cli__json_open(j, '{');
        cli__json_kstr(j, "topic", r->topic);
        cli__json_kint(j, "partition", r->partition);
        cli__json_key(j, "current_offset");
        r->committed >= 0 ? cli__json_int(j, r->committed) : cli__json_null(j);
        cli__json_key(j, "log_end_offset");
        r->end >= 0 ? cli__json_int(j, r->end) : cli__json_null(j);
        cli__json_key(j, "lag");
        r->committed >= 0 && r->end >= 0 ? cli__json_int(j, KC_MAX(r->end - r->committed, 0))
                                         : cli__json_null(j);
        cli__json_kslice(j, "member_id", m ? m->member_id : (struct kc_slice){NULL, -1});
        cli__json_kstr(j, "error", r->error ? cli__kerr_name(r->error) : NULL);
        cli__json_close(j, '}');
    }
    cli__json_close(j, ']');
}

static void json_group(struct cli_json *j, const struct described *d)
{
    cli__json_open(j, '{');
    cli__json_kstr(j, "group", d->group);
    cli__json_kslice(j, "state", d->g->group_state);
    cli__json_kslice(j, "protocol_type", d->g->protocol_type);
    cli__json_kslice(j, "assignment_strategy", d->g->protocol_data);
    cli__json_key(j, "coordinator");
    cli__json_open(j, '{');
    cli__json_kint(j, "id", d->coord->node);
    cli__json_kstr(j, "address", d->coord->addr);
    cli__json_close(j, '}');
    json_members(j, d);
    json_offsets(j, d);
    cli__json_close(j, '}');
}

/* Kafka's notes on a group's state, on stderr; CLI_EBROKER for one that does not exist. */
static int state_note(struct cli_admin *a, const struct described *d)
{
    struct kc_slice s = d->g->group_state;
    if (kp_slice_eq(s, "Dead"))
        fprintf(a->cli->err, "error: consumer group '%s' does not exist\n", d->group);
    else if (kp_slice_eq(s, "Empty") && !a->json)
        fprintf(a->cli->err, "Consumer group '%s' has no active members.\n", d->group);
    else if ((kp_slice_eq(s, "PreparingRebalance") || kp_slice_eq(s, "CompletingRebalance")) &&
             !a->json)
        fprintf(a->cli->err, "Warning: consumer group '%s' is rebalancing.\n", d->group);
    for (size_t i = 0; i < d->nrows; i++)
        if (d->rows[i].error)
            fprintf(a->cli->err, "warning: %s-%d: no log end offset: %s\n", d->rows[i].topic,
                    d->rows[i].partition, cli__kerr_name(d->rows[i].error));
    return kp_slice_eq(s, "Dead") ? CLI_EBROKER : CLI_OK;
}

int cli__groups_describe(struct cli_admin *a, int argc, char **argv)
{
    bool members = false, state = false;
    char *pos[CLI_OPTLIST_MAX];
    int n, rc, worst = CLI_OK;
    const struct cli_opt opts[] = {
        {"members", NULL, &members, NULL}, {"state", NULL, &state, NULL}, {NULL, NULL, NULL, NULL}};
    if ((rc = cli__admin_args(a, argc, argv, opts, pos, 1, CLI_OPTLIST_MAX, &n)) || a->help ||
        (rc = cli__admin_open(a)))
        return rc;
    if (a->json) {
        cli__json_list_begin(&a->j, "groups");
    }
    for (int i = 0; i < n && worst != CLI_ENET && worst != CLI_EAUTH; i++) {
        struct described d = {0};
        struct cli_kresp resp;
        kp_arena_init(&d.arena, 0);
        rc = describe_one(a, pos[i], &d, &resp);
        if (rc == CLI_OK && a->json)
            json_group(&a->j, &d); /* a group that does not exist too: state "Dead" */
        if (rc == CLI_OK && (rc = state_note(a, &d)) == CLI_OK && !a->json) {
            if (state)
                human_state(a, &d);
            else if (members)
                human_members(a, &d);
            else
                human_offsets(a, &d);
        }
        if (d.g)
            cli__kresp_fini(&resp);
        free(d.rows);
        kp_arena_fini(&d.arena);
        worst = rc ? rc : worst;
    }
    if (a->json) {
        cli__json_list_end(&a->j);
    }
    return worst;
}
