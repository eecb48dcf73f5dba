/*
 * cli_elect.c - elect-leaders: Kafka's kafka-leader-election.sh over ElectLeaders (KIP-460).
 *
 *   kafka_cli elect-leaders --election-type preferred --all-topic-partitions
 *   kafka_cli elect-leaders --election-type unclean --topic payments --partition 3
 *
 * PREFERRED hands each partition back to its preferred replica (the first of its
 * assignment) if that one is live and in sync; UNCLEAN gives a partition with no live
 * leader to any live replica, in sync or not (records only the lost replicas held are
 * gone). The answer, per partition, is printed as Kafka's tool prints it: elected, "valid
 * replica already elected" (ELECTION_NOT_NEEDED, not an error), or the error; the exit
 * status is 0 only when every partition was elected or needed no election.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_admin.h"
#include "cli_int.h"
#include "kc_common.h"

#define NOT_NEEDED 84 /* ELECTION_NOT_NEEDED */

struct elect_opts {
    const char *type, *topic, *partition;
    bool all;
};

/* The request's topic_partitions: null for every partition, else the one named. */
static int elect_targets(struct cli_admin *a, const struct elect_opts *o, int8_t *type,
                         struct kp_elect_leaders_req_topic_partitions *tp, int32_t *part)
{
    int64_t p = -1;
    if (!o->type || (strcmp(o->type, "preferred") != 0 && strcmp(o->type, "unclean") != 0 &&
                     strcmp(o->type, "PREFERRED") != 0 && strcmp(o->type, "UNCLEAN") != 0))
        return cli__admin_usage(a, "--election-type preferred|unclean is needed");
    *type = (o->type[0] == 'u' || o->type[0] == 'U') ? 1 : 0;
    if (o->all == !!o->topic)
        return cli__admin_usage(a, "give --all-topic-partitions, or --topic (and --partition)");
    if (o->partition && !o->topic)
        return cli__admin_usage(a, "--partition needs --topic");
    int rc = o->partition ? cli__admin_num(a, "--partition", o->partition, 0, INT32_MAX, &p)
                          : CLI_OK;
    if (rc)
        return rc;
    if (o->topic && !o->partition)
        return cli__admin_usage(a, "--partition P is needed with --topic (Kafka's tool asks "
                                   "for both)");
    kp_init(&kp_elect_leaders_req_topic_partitions_schema, tp);
    if (o->topic) {
        tp->topic = kp_slice_str(o->topic);
        *part = (int32_t)p;
        KP_SET(tp->partitions, 1, part);
    }
    return CLI_OK;
}

/* One partition's line (or JSON object); true if it is an error. */
static bool print_one(struct cli_admin *a, const char *type, struct kc_slice topic,
                      const struct kp_elect_leaders_resp_partition_result *r)
{
    int16_t code = r->error_code;
    if (a->json) {
        cli__json_open(&a->j, '{');
        cli__json_kslice(&a->j, "topic", topic);
        cli__json_kint(&a->j, "partition", r->partition_id);
        cli__json_kstr(&a->j, "result", code == 0            ? "elected"
                                        : code == NOT_NEEDED ? "not_needed"
                                                             : cli__kerr_name(code));
        if (code && code != NOT_NEEDED)
            cli__json_kslice(&a->j, "message", r->error_message);
        cli__json_close(&a->j, '}');
    } else if (code == 0) {
        fprintf(a->cli->out, "Successfully completed leader election (%s) for partition %.*s-%d\n",
                type, (int)topic.len, (const char *)topic.p, (int)r->partition_id);
    } else if (code == NOT_NEEDED) {
        fprintf(a->cli->out, "Valid replica already elected for partition %.*s-%d\n",
                (int)topic.len, (const char *)topic.p, (int)r->partition_id);
    } else {
        char what[320];
        snprintf(what, sizeof(what), "leader election (%s) for partition %.*s-%d", type,
                 (int)topic.len, (const char *)topic.p, (int)r->partition_id);
        (void)cli__kerr(&a->k, what, code, r->error_message);
    }
    return code != 0 && code != NOT_NEEDED;
}

static int elect_print(struct cli_admin *a, const char *type,
                       const struct kp_elect_leaders_resp *r)
{
    int rc = CLI_OK, n = 0;
    if (a->json)
        cli__json_list_begin(&a->j, "partitions");
    for (int32_t t = 0; t < r->replica_election_results.n; t++) {
        const struct kp_elect_leaders_resp_replica_election_result *rt =
            &r->replica_election_results.v[t];
        for (int32_t p = 0; p < rt->partition_result.n; p++, n++)
            if (print_one(a, type, rt->topic, &rt->partition_result.v[p]))
                rc = CLI_EBROKER;
    }
    if (a->json)
        cli__json_list_end(&a->j);
    else if (n == 0)
        fprintf(a->cli->out, "No partition needed a leader election (%s).\n", type);
    return rc;
}

static int elect_leaders(struct cli_admin *a, int argc, char **argv)
{
    struct elect_opts o = {0};
    struct kp_elect_leaders_req req;
    struct kp_elect_leaders_req_topic_partitions tp;
    int32_t part;
    char *pos[1];
    int npos, rc;
    const struct cli_opt opts[] = {{"election-type", &o.type, NULL, NULL},
                                   {"topic", &o.topic, NULL, NULL},
                                   {"partition", &o.partition, NULL, NULL},
                                   {"all-topic-partitions", NULL, &o.all, NULL},
                                   {NULL, NULL, NULL, NULL}};
    if ((rc = cli__admin_args(a, argc, argv, opts, pos, 0, 0, &npos)) || a->help)
        return rc;
    kp_init(&kp_elect_leaders_req_schema, &req);
    if ((rc = elect_targets(a, &o, &req.election_type, &tp, &part)) ||
        (rc = cli__admin_open(a)))
        return rc;
    KP_SET(req.topic_partitions, o.all ? -1 : 1, o.all ? NULL : &tp);
    req.timeout_ms = a->cli->timeout_ms;
    const char *type = req.election_type ? "UNCLEAN" : "PREFERRED";
    for (;;) {
        struct cli_kconn *conn;
        struct cli_kresp resp;
        int16_t v;
        if ((rc = cli__kafka_controller(&a->k, &conn)) ||
            (rc = cli__kafka_version(&a->k, conn, KP_API_ELECT_LEADERS, req.election_type, 2,
                                     &v)) ||
            (rc = cli__kafka_call(&a->k, conn, KP_API_ELECT_LEADERS, v, &req, &resp)))
            return rc;
        const struct kp_elect_leaders_resp *r = resp.r.msg;
        if (r->error_code && cli__kafka_retry(&a->k, r->error_code)) {
            cli__kresp_fini(&resp);
            continue;
        }
        rc = r->error_code ? cli__kerr(&a->k, "cannot elect leaders", r->error_code,
                                       (struct kc_slice){NULL, -1})
                           : elect_print(a, type, r);
        cli__kresp_fini(&resp);
        return rc;
    }
}

static const struct cli_verb elect_verbs[] = {
    {"",
     "--election-type preferred|unclean (--all-topic-partitions | --topic T --partition P)",
     "move leaderships: back to each partition's preferred replica, or (unclean) to any live "
     "replica of a partition that has no leader",
     "--election-type T       preferred: the first replica of the assignment, if live and\n"
     "                        in sync; unclean: any live replica of a leaderless partition\n"
     "                        (records only the lost replicas held are gone)\n"
     "--all-topic-partitions  every partition (those needing no election are not listed)\n"
     "--topic T --partition P one partition",
     elect_leaders},
};

const struct cli_family cli__elect_family = {"elect-leaders", "kafka-leader-election.sh",
                                             elect_verbs, KC_ARRAY_SIZE(elect_verbs)};
