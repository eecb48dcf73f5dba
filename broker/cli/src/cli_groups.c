/*
 * cli_groups.c - `kafka_cli groups ...`: Kafka's kafka-consumer-groups.sh
 * (ConsumerGroupCommand), over the Kafka protocol. reset-offsets lives in
 * cli_groups_reset.c.
 *
 *   verb                  requests                                     sent to
 *   list                  ListGroups                                   every broker
 *   describe G...         FindCoordinator, DescribeGroups, OffsetFetch the coordinator
 *                         Metadata, ListOffsets (log end offsets)      each partition's leader
 *   delete G...           DeleteGroups                                 the coordinator
 *   delete-offsets G      OffsetDelete                                 the coordinator
 *
 * A group lives on one broker, its coordinator; its committed offsets too. Its lag is
 * the distance from the committed offset to the partition's log end, which only the
 * partition's leader knows:
 *
 *   GROUP  TOPIC     PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG  CONSUMER-ID  HOST  CLIENT-ID
 *   app    payments  0          1040            1100            60   rdkafka-..   /10.. rdkafka
 *          ^ OffsetFetch @ coordinator           ^ ListOffsets(-1) @ leader
 *                                                                    ^ DescribeGroups: who
 *                                                                      holds the partition
 *
 * A partition assigned to a member with nothing committed shows "-" as its offset and lag;
 * one with a commit and no member shows "-" as its consumer, as Kafka's tool prints them.
 */
#include <stdlib.h>
#include <string.h>

#include "cli_admin.h"
#include "kc_common.h"

bool cli__group_inactive(struct kc_slice state)
{
    return kp_slice_eq(state, "Empty") || kp_slice_eq(state, "Dead");
}

/* ---- DescribeGroups, OffsetFetch ------------------------------------------------------------ */

int cli__group_describe(struct cli_admin *a, const char *group, struct cli_kresp *out,
                        const struct kp_describe_groups_resp_described_group **g,
                        struct cli_kconn **coord)
{
    struct kp_describe_groups_req req;
    struct kc_slice name = kp_slice_str(group);
    char what[300];
    kp_init(&kp_describe_groups_req_schema, &req);
    KP_SET(req.groups, 1, &name);
    for (;;) {
        int16_t v;
        int rc = cli__kafka_coordinator(&a->k, group, coord);
        if (rc || (rc = cli__kafka_version(&a->k, *coord, KP_API_DESCRIBE_GROUPS, 0, 5, &v)) ||
            (rc = cli__kafka_call(&a->k, *coord, KP_API_DESCRIBE_GROUPS, v, &req, out)))
            return rc;
        const struct kp_describe_groups_resp *r = out->r.msg;
        int16_t code = r->groups.n == 1 ? r->groups.v[0].error_code : KP_ERR_UNKNOWN_SERVER_ERROR;
        if (code == 0) {
            *g = &r->groups.v[0];
            return CLI_OK;
        }
        cli__kresp_fini(out);
        if (!cli__kafka_retry(&a->k, code)) {
            snprintf(what, sizeof(what), "cannot describe group '%s'", group);
            return cli__kerr(&a->k, what, code, (struct kc_slice){NULL, -1});
        }
    }
}

static struct kp_offset_fetch_req *offset_fetch_request(struct kp_arena *arena, int16_t v,
                                                        const char *group)
{
    struct kp_offset_fetch_req *req = kp_new(arena, &kp_offset_fetch_req_schema, 1);
    struct kp_offset_fetch_req_group *g = kp_new(arena, &kp_offset_fetch_req_group_schema, 1);
    if (!req || !g)
        return NULL;
    if (v < 8) {
        req->group_id = kp_slice_str(group);
        req->topics.n = -1; /* every topic it committed (v2+) */
    } else {
        g->group_id = kp_slice_str(group);
        g->topics.n = -1;
        KP_SET(req->groups, 1, g);
    }
    return req;
}

/* The committed offsets of one answer into *tps; its top-level error code into *code. */
static int offsets_take(const struct kp_offset_fetch_resp *r, int16_t v, struct kp_arena *names,
                        struct cli_ktp **tps, size_t *n, int16_t *code)
{
    int32_t nt = v < 8 ? r->topics.n : r->groups.n == 1 ? r->groups.v[0].topics.n : 0;
    *code = v < 8              ? r->error_code
            : r->groups.n == 1 ? r->groups.v[0].error_code
                               : KP_ERR_UNKNOWN_SERVER_ERROR;
    for (int32_t i = 0; i < nt && *code == 0; i++) {
        /* v0-7 and v8+ nest the same fields in differently named structs */
        const struct kp_offset_fetch_resp_topic *t7 = v < 8 ? &r->topics.v[i] : NULL;
        const struct kp_offset_fetch_resp_topics *t8 = v < 8 ? NULL : &r->groups.v[0].topics.v[i];
        int32_t np = t7 ? t7->partitions.n : t8->partitions.n;
        char *topic = cli__kstr_dup(names, t7 ? t7->name : t8->name);
        struct cli_ktp *more = realloc(*tps, (*n + (size_t)np + 1) * sizeof(**tps));
        if (!topic || !more)
            return CLI_EBROKER;
        *tps = more;
        for (int32_t j = 0; j < np; j++) {
            int64_t off =
                t7 ? t7->partitions.v[j].committed_offset : t8->partitions.v[j].committed_offset;
            if (off >= 0) /* -1: nothing committed (Kafka lists such partitions too) */
                more[(*n)++] =
                    (struct cli_ktp){.topic = topic,
                                     .in = off,
                                     .leader = -1,
                                     .partition = t7 ? t7->partitions.v[j].partition_index
                                                     : t8->partitions.v[j].partition_index};
        }
    }
    return CLI_OK;
}

int cli__group_offsets(struct cli_admin *a, const char *group, struct kp_arena *names,
                       struct cli_ktp **tps, size_t *n)
{
    char what[300];
    *tps = NULL;
    *n = 0;
    for (;;) {
        struct cli_kconn *conn;
        struct cli_kresp resp;
        struct kp_arena arena;
        int16_t v, code = 0;
        int rc = cli__kafka_coordinator(&a->k, group, &conn);
        if (rc || (rc = cli__kafka_version(&a->k, conn, KP_API_OFFSET_FETCH, 2, 9, &v)))
            return rc;
        kp_arena_init(&arena, 0);
        void *req = offset_fetch_request(&arena, v, group);
        rc = req ? cli__kafka_call(&a->k, conn, KP_API_OFFSET_FETCH, v, req, &resp) : CLI_EBROKER;
        kp_arena_fini(&arena);
        if (rc == CLI_OK) {
            rc = offsets_take(resp.r.msg, v, names, tps, n, &code);
            cli__kresp_fini(&resp);
        }
        if (rc == CLI_OK && code == 0) {
            if (*n > 1) /* a group with nothing committed has no array at all */
                qsort(*tps, *n, sizeof(**tps), cli__ktp_cmp);
            return CLI_OK;
        }
        free(*tps);
        *tps = NULL;
        *n = 0;
        if (rc || !cli__kafka_retry(&a->k, code)) {
            snprintf(what, sizeof(what), "cannot fetch the offsets of group '%s'", group);
            return rc ? rc : cli__kerr(&a->k, what, code, (struct kc_slice){NULL, -1});
        }
    }
}

int cli__topic_specs(struct cli_admin *a, const struct cli_optlist *specs, struct kp_arena *names,
                     struct cli_ktp **tps, size_t *n)
{
    *tps = NULL;
    *n = 0;
    for (int i = 0; i < specs->n; i++) {
        char topic[256];
        int32_t *parts;
        size_t np;
        struct cli_ktp *add = NULL, *more = NULL;
        size_t nadd = 0;
        if (cli__parse_topic_parts(specs->v[i], topic, sizeof(topic), &parts, &np) != 0)
            return cli__admin_usage(a, "--topic takes T or T:0,1,..., not '%s'", specs->v[i]);
        char *name = cli__kstr_dup(names, kp_slice_str(topic));
        const char *const one[1] = {name};
        int rc = !name ? CLI_EBROKER
                 : np  ? CLI_OK
                       : cli__kafka_partitions(&a->k, one, 1, &add, &nadd);
        if (rc == CLI_OK && !(more = realloc(*tps, (*n + np + nadd + 1) * sizeof(**tps))))
            rc = CLI_EBROKER;
        for (size_t j = 0; rc == CLI_OK && j < np + nadd; j++)
            more[(*n)++] =
                j < np ? (struct cli_ktp){.topic = name, .partition = parts[j], .leader = -1}
                       : add[j - np];
        if (rc == CLI_OK)
            *tps = more;
        free(parts);
        free(add);
        if (rc)
            return rc;
    }
    if (*n > 1)
        qsort(*tps, *n, sizeof(**tps), cli__ktp_cmp);
    return CLI_OK;
}

/* ---- list ----------------------------------------------------------------------------------- */

struct listed {
    char id[256];
    char state[32];
    char type[32];
};

static int listed_cmp(const void *a, const void *b)
{
    return strcmp(((const struct listed *)a)->id, ((const struct listed *)b)->id);
}

/* ListGroups at one broker, appended to *l (consumer groups only, as Kafka's tool lists). */
static int list_at(struct cli_admin *a, int32_t node, struct listed **l, size_t *n)
{
    struct kp_list_groups_req req;
    struct cli_kconn *conn;
    struct cli_kresp resp;
    char what[64];
    int16_t v;
    int rc = cli__kafka_node(&a->k, node, &conn);
    if (rc || (rc = cli__kafka_version(&a->k, conn, KP_API_LIST_GROUPS, 0, 5, &v)))
        return rc;
    kp_init(&kp_list_groups_req_schema, &req);
    if ((rc = cli__kafka_call(&a->k, conn, KP_API_LIST_GROUPS, v, &req, &resp)))
        return rc;
    const struct kp_list_groups_resp *r = resp.r.msg;
    struct listed *more = realloc(*l, (*n + (size_t)r->groups.n + 1) * sizeof(**l));
    snprintf(what, sizeof(what), "ListGroups at broker %d", node);
    rc = r->error_code ? cli__kerr(&a->k, what, r->error_code, (struct kc_slice){NULL, -1})
         : more        ? CLI_OK
                       : CLI_EBROKER;
    for (int32_t i = 0; rc == CLI_OK && i < r->groups.n; i++) {
        const struct kp_list_groups_resp_listed_group *g = &r->groups.v[i];
        if (g->protocol_type.len > 0 && !kp_slice_eq(g->protocol_type, "consumer"))
            continue;
        cli__kstr(g->group_id, more[*n].id, sizeof(more[*n].id));
        cli__kstr(v >= 4 ? g->group_state : kp_slice_str("Unknown"), more[*n].state, 32);
        cli__kstr(g->protocol_type, more[*n].type, sizeof(more[*n].type));
        (*n)++;
    }
    if (more)
        *l = more;
    cli__kresp_fini(&resp);
    return rc;
}

/* Every consumer group of every broker, sorted and without repeats. */
static int list_all(struct cli_admin *a, struct listed **l, size_t *n)
{
    int rc = cli__kafka_refresh(&a->k);
    size_t m = 0;
    *l = NULL;
    *n = 0;
    for (int i = 0; rc == CLI_OK && i < a->k.nbrokers; i++)
        rc = list_at(a, a->k.brokers[i].id, l, n);
    if (rc == CLI_OK && *n) {
        qsort(*l, *n, sizeof(**l), listed_cmp);
        for (size_t i = 0; i < *n; i++)
            if (m == 0 || strcmp((*l)[m - 1].id, (*l)[i].id) != 0)
                (*l)[m++] = (*l)[i];
        *n = m;
    }
    return rc;
}

static int groups_list(struct cli_admin *a, int argc, char **argv)
{
    bool state = false;
    char *pos[1];
    int n, rc;
    struct listed *l = NULL;
    size_t nl = 0;
    struct cli_table t;
    const struct cli_opt opts[] = {{"state", NULL, &state, NULL}, {NULL, NULL, NULL, NULL}};
    if ((rc = cli__admin_args(a, argc, argv, opts, pos, 0, 0, &n)) || a->help ||
        (rc = cli__admin_open(a)) || (rc = list_all(a, &l, &nl)))
        goto out;
    cli__table_init(&t, 2, (const char *const[]){"GROUP", "STATE"});
    if (a->json) {
        cli__json_list_begin(&a->j, "groups");
    }
    for (size_t i = 0; i < nl; i++) {
        if (a->json) {
            cli__json_open(&a->j, '{');
            cli__json_kstr(&a->j, "group", l[i].id);
            cli__json_kstr(&a->j, "state", l[i].state);
            cli__json_kstr(&a->j, "protocol_type", l[i].type);
            cli__json_close(&a->j, '}');
        } else if (state) {
            cli__table_slice(&t, kp_slice_str(l[i].id));
            cli__table_add(&t, "%s", l[i].state);
        } else {
            cli_escape(a->cli->out, (const uint8_t *)l[i].id, (int32_t)strlen(l[i].id));
            fputc('\n', a->cli->out);
        }
    }
    if (a->json) {
        cli__json_list_end(&a->j);
    } else if (state) {
        cli__table_print(&t, a->cli->out);
    }
    cli__table_fini(&t);
out:
    free(l);
    return rc;
}

/* ---- delete ---------------------------------------------------------------------------------- */

/* DeleteGroups for one group at its coordinator: Kafka's code for it. */
static int delete_one(struct cli_admin *a, const char *group, int16_t *code)
{
    struct kp_delete_groups_req req;
    struct kc_slice name = kp_slice_str(group);
    kp_init(&kp_delete_groups_req_schema, &req);
    KP_SET(req.groups_names, 1, &name);
    for (;;) {
        struct cli_kconn *conn;
        struct cli_kresp resp;
        int16_t v;
        int rc = cli__kafka_coordinator(&a->k, group, &conn);
        if (rc || (rc = cli__kafka_version(&a->k, conn, KP_API_DELETE_GROUPS, 0, 2, &v)) ||
            (rc = cli__kafka_call(&a->k, conn, KP_API_DELETE_GROUPS, v, &req, &resp)))
            return rc;
        const struct kp_delete_groups_resp *r = resp.r.msg;
        *code = r->results.n == 1 ? r->results.v[0].error_code : KP_ERR_UNKNOWN_SERVER_ERROR;
        cli__kresp_fini(&resp);
        if (!*code || !cli__kafka_retry(&a->k, *code))
            return CLI_OK;
    }
}

static int groups_delete(struct cli_admin *a, int argc, char **argv)
{
    char *pos[CLI_OPTLIST_MAX], what[300];
    int n, rc, worst = CLI_OK;
    if ((rc = cli__admin_args(a, argc, argv, NULL, pos, 1, CLI_OPTLIST_MAX, &n)) || a->help ||
        (rc = cli__admin_open(a)))
        return rc;
    if (a->json) {
        cli__json_list_begin(&a->j, "groups");
    }
    for (int i = 0; i < n && worst != CLI_ENET && worst != CLI_EAUTH; i++) {
        int16_t code = 0;
        if ((rc = delete_one(a, pos[i], &code)) != CLI_OK) {
            worst = rc;
            continue;
        }
        if (a->json) {
            cli__json_open(&a->j, '{');
            cli__json_kstr(&a->j, "group", pos[i]);
            cli__json_kbool(&a->j, "deleted", !code);
            cli__json_kstr(&a->j, "error", code ? cli__kerr_name(code) : NULL);
            cli__json_close(&a->j, '}');
        } else if (!code) {
            fprintf(a->cli->out, "Deleted group '%s'.\n", pos[i]);
        }
        snprintf(what, sizeof(what), "cannot delete group '%s'%s", pos[i],
                 code == CLI_KERR_NON_EMPTY_GROUP ? " (it has active members)" : "");
        if (code)
            worst = cli__kerr(&a->k, what, code, (struct kc_slice){NULL, -1});
    }
    if (a->json) {
        cli__json_list_end(&a->j);
    }
    return worst;
}

/* ---- delete-offsets -----------------------------------------------------------------------------
 */

static struct kp_offset_delete_req *offset_delete_request(struct kp_arena *arena, const char *group,
                                                          const struct cli_ktp *tps, size_t n)
{
    struct kp_offset_delete_req *req = kp_new(arena, &kp_offset_delete_req_schema, 1);
    struct kp_offset_delete_req_topic *t =
        kp_new(arena, &kp_offset_delete_req_topic_schema, (int32_t)n);
    struct kp_offset_delete_req_partition *p =
        kp_new(arena, &kp_offset_delete_req_partition_schema, (int32_t)n);
    int32_t nt = 0;
    if (!req || !t || !p)
        return NULL;
    req->group_id = kp_slice_str(group);
    for (size_t i = 0; i < n; i++) { /* sorted: a topic's partitions are together */
        if (nt == 0 || !kp_slice_eq(t[nt - 1].name, tps[i].topic)) {
            t[nt].name = kp_slice_str(tps[i].topic);
            t[nt++].partitions.v = &p[i];
        }
        p[i].partition_index = tps[i].partition;
        t[nt - 1].partitions.n++;
    }
    KP_SET(req->topics, nt, t);
    return req;
}

/* Per partition errors into tps[].error; the request's own code into *code. */
static void offset_delete_take(const struct kp_offset_delete_resp *r, struct cli_ktp *tps, size_t n,
                               int16_t *code)
{
    struct cli_ktp **ptrs = malloc((n + 1) * sizeof(*ptrs));
    *code = r->error_code;
    for (size_t i = 0; i < n; i++) {
        tps[i].error = KP_ERR_UNKNOWN_SERVER_ERROR; /* until the answer names it */
        if (ptrs)
            ptrs[i] = &tps[i];
    }
    for (int32_t i = 0; ptrs && i < r->topics.n; i++)
        for (int32_t j = 0; j < r->topics.v[i].partitions.n; j++) {
            const struct kp_offset_delete_resp_partition *p = &r->topics.v[i].partitions.v[j];
            struct cli_ktp *tp = cli__ktp_find(ptrs, n, r->topics.v[i].name, p->partition_index);
            if (tp)
                tp->error = p->error_code;
        }
    free(ptrs);
}

static int offset_delete_call(struct cli_admin *a, const char *group, struct cli_ktp *tps, size_t n,
                              int16_t *code)
{
    for (;;) {
        struct cli_kconn *conn;
        struct cli_kresp resp;
        struct kp_arena arena;
        int16_t v;
        int rc = cli__kafka_coordinator(&a->k, group, &conn);
        if (rc || (rc = cli__kafka_version(&a->k, conn, KP_API_OFFSET_DELETE, 0, 0, &v)))
            return rc;
        kp_arena_init(&arena, 0);
        void *req = offset_delete_request(&arena, group, tps, n);
        rc = req ? cli__kafka_call(&a->k, conn, KP_API_OFFSET_DELETE, v, req, &resp) : CLI_EBROKER;
        kp_arena_fini(&arena);
        if (rc)
            return rc;
        offset_delete_take(resp.r.msg, tps, n, code);
        cli__kresp_fini(&resp);
        if (!*code || !cli__kafka_retry(&a->k, *code))
            return CLI_OK;
    }
}

static int offset_delete_print(struct cli_admin *a, const char *group, const struct cli_ktp *tps,
                               size_t n)
{
    struct cli_table t;
    int rc = CLI_OK;
    cli__table_init(&t, 3, (const char *const[]){"TOPIC", "PARTITION", "STATUS"});
    if (a->json) {
        cli__json_open(&a->j, '{');
        cli__json_kstr(&a->j, "group", group);
        cli__json_key(&a->j, "partitions");
        cli__json_open(&a->j, '[');
    }
    for (size_t i = 0; i < n; i++) {
        const char *err = tps[i].error ? cli__kerr_name(tps[i].error) : NULL;
        if (a->json) {
            cli__json_open(&a->j, '{');
            cli__json_kstr(&a->j, "topic", tps[i].topic);
            cli__json_kint(&a->j, "partition", tps[i].partition);
            cli__json_kstr(&a->j, "error", err);
            cli__json_close(&a->j, '}');
        }
        cli__table_add(&t, "%s", tps[i].topic);
        cli__table_add(&t, "%d", tps[i].partition);
        cli__table_add(&t, err ? "Error: %s" : "Successful", err ? err : "");
        rc = err ? CLI_EBROKER : rc;
    }
    if (a->json) {
        cli__json_list_end(&a->j);
    } else {
        cli__table_print(&t, a->cli->out);
    }
    cli__table_fini(&t);
    if (rc)
        fprintf(a->cli->err, "error: some offsets of group '%s' were not deleted (above)%s\n",
                group, "; GROUP_SUBSCRIBED_TO_TOPIC: a member still consumes the topic");
    return rc;
}

static int groups_delete_offsets(struct cli_admin *a, int argc, char **argv)
{
    struct cli_optlist topics = {.n = 0};
    struct kp_arena names;
    struct cli_ktp *tps = NULL;
    size_t ntps = 0;
    char *pos[1], what[300];
    int n, rc;
    int16_t code = 0;
    const struct cli_opt opts[] = {{"topic", NULL, NULL, &topics}, {NULL, NULL, NULL, NULL}};
    if ((rc = cli__admin_args(a, argc, argv, opts, pos, 1, 1, &n)) || a->help)
        return rc;
    if (topics.n == 0)
        return cli__admin_usage(a, "name the offsets: --topic T or --topic T:0,1");
    kp_arena_init(&names, 0);
    if ((rc = cli__admin_open(a)) == CLI_OK &&
        (rc = cli__topic_specs(a, &topics, &names, &tps, &ntps)) == CLI_OK &&
        (rc = offset_delete_call(a, pos[0], tps, ntps, &code)) == CLI_OK) {
        snprintf(what, sizeof(what), "cannot delete offsets of group '%s'", pos[0]);
        rc = code ? cli__kerr(&a->k, what, code, (struct kc_slice){NULL, -1})
                  : offset_delete_print(a, pos[0], tps, ntps);
    }
    free(tps);
    kp_arena_fini(&names);
    return rc;
}

/* ---- the family ---------------------------------------------------------------------------------
 */

static const struct cli_verb groups_verbs[] = {
    {"list", "[--state]", "every consumer group of every broker",
     "--state     a STATE column (ListGroups v4+; \"Unknown\" from older brokers)", groups_list},
    {"describe", "<group>... [--members | --state]",
     "members, and per partition the committed offset, log end offset, lag and consumer",
     "--members   one line per member: id, instance id, host, client id, #partitions\n"
     "--state     the coordinator, the assignor, the state and how many members\n"
     "(--json prints all of it)",
     cli__groups_describe},
    {"reset-offsets",
     "<group> --topic T[:p,...]... | --all-topics  --to-earliest | --to-latest | "
     "--to-datetime T | --to-offset N  [--dry-run | --execute]",
     "move a group's committed offsets (only while the group has no members)",
     "--topic T[:p,...]     the partitions (repeat for more topics); --all-topics: every\n"
     "                      partition the group has committed\n"
     "--to-earliest         the log start        --to-latest   the log end\n"
     "--to-datetime T       the first offset at or after T, ISO 8601:\n"
     "                      2024-05-01T12:00:00.000Z (+hh:mm zones; none: local time)\n"
     "--to-offset N         N, kept inside [log start, log end]\n"
     "--dry-run             show the new offsets, change nothing (the default)\n"
     "--execute             commit them",
     cli__groups_reset},
    {"delete", "<group>...", "delete groups that have no members (DeleteGroups)", NULL,
     groups_delete},
    {"delete-offsets", "<group> --topic T[:p,p...]...",
     "delete a group's committed offsets of some partitions (OffsetDelete)",
     "--topic T or T:0,2   every partition of T, or these (repeat it for more topics)",
     groups_delete_offsets},
};

const struct cli_family cli__groups_family = {"groups",
                                              "kafka-consumer-groups.sh (ConsumerGroupCommand)",
                                              groups_verbs, KC_ARRAY_SIZE(groups_verbs)};
