/*
 * cli_kcluster.c - the cluster as kafka_cli's admin verbs see it: the bootstrap list, the
 * brokers and the controller from Metadata, and which connection each request takes.
 *
 *   --bootstrap-server a:9092,b:9092
 *        |  the first address that answers (Kafka's clients do the same; a down broker
 *        v  in the list costs one refused connect)
 *   conns[0]  the bootstrap connection: Metadata, DescribeConfigs of topics, ACLs, ...
 *   Metadata  brokers {id, host, port, rack}, controller id, cluster id
 *        |
 *   conns[1..]  one per broker id, opened when a request must go there:
 *        the controller          CreateTopics, DeleteTopics, CreatePartitions,
 *                                AlterUserScramCredentials
 *        a partition's leader    ListOffsets, DeleteRecords
 *        a group's coordinator   DescribeGroups, OffsetFetch, OffsetCommit, DeleteGroups,
 *                                OffsetDelete (FindCoordinator says which broker it is)
 *        a broker by id          its own configs
 *
 * A broker whose advertised address is the bootstrap address reuses that connection, so
 * a single broker costs one connection (and one TLS and SASL handshake), as it should.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_int.h"
#include "cli_kafka.h"
#include "kc_common.h"

/* ---- the bootstrap list --------------------------------------------------------------------- */

/* Split "a:1, b:2" into k->addrs. CLI_OK or CLI_EUSAGE (printed). */
static int parse_bootstrap(struct cli_kafka *k, const char *list)
{
    const char *p = list;
    k->naddrs = 0;
    while (*p) {
        size_t skip = strspn(p, " \t,"), n;
        p += skip;
        n = strcspn(p, ",");
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n == 0)
            break;
        if (k->naddrs == CLI_KAFKA_ADDRS_MAX || n >= sizeof(k->addrs[0])) {
            fprintf(k->cli->err,
                    "error: --bootstrap-server: at most %d addresses of at most "
                    "%zu characters\n",
                    CLI_KAFKA_ADDRS_MAX, sizeof(k->addrs[0]) - 1);
            return CLI_EUSAGE;
        }
        memcpy(k->addrs[k->naddrs], p, n);
        k->addrs[k->naddrs++][n] = '\0';
        p += n;
    }
    if (k->naddrs == 0) {
        fprintf(k->cli->err, "error: --bootstrap-server needs host:port[,host:port...]\n");
        return CLI_EUSAGE;
    }
    return CLI_OK;
}

/* Open conns[0] to the first bootstrap address that answers. */
static int open_bootstrap(struct cli_kafka *k)
{
    int rc = CLI_ENET;
    for (int i = 0; i < k->naddrs; i++) {
        rc = cli__kconn_open(k, k->conns[0], k->addrs[i], -1);
        if (rc == CLI_OK || rc == CLI_EAUTH || rc == CLI_EUSAGE)
            return rc; /* refused credentials would be refused by every broker */
    }
    if (k->naddrs > 1)
        fprintf(k->cli->err, "error: none of the %d bootstrap servers could be reached\n",
                k->naddrs);
    return rc;
}

int cli__kafka_open(struct cli_kafka *k, struct cli *cli, const char *bootstrap)
{
    memset(k, 0, sizeof(*k));
    k->cli = cli;
    k->controller = -1;
    k->backoff_ms = CLI_KAFKA_BACKOFF_MS;
    k->deadline_ms = kc_mono_ms() + cli->timeout_ms;
    int rc = parse_bootstrap(k, bootstrap);
    if (rc)
        return rc;
    if (!(k->conns[0] = calloc(1, sizeof(*k->conns[0]))))
        return CLI_EUSAGE;
    k->nconns = 1;
    if ((rc = open_bootstrap(k)) != CLI_OK)
        return rc;
    return cli__kafka_refresh(k);
}

void cli__kafka_close(struct cli_kafka *k)
{
    for (int i = 0; i < k->nconns; i++) {
        cli__kconn_close(k->conns[i]);
        free(k->conns[i]);
    }
    free(k->brokers);
    k->nconns = k->nbrokers = 0;
    k->brokers = NULL;
}

/* ---- Metadata ---------------------------------------------------------------------------------
 */

static void take_brokers(struct cli_kafka *k, const struct kp_metadata_resp *md)
{
    struct cli_kbroker *b = md->brokers.n > 0 ? calloc((size_t)md->brokers.n, sizeof(*b)) : NULL;
    if (!b && md->brokers.n > 0)
        return; /* keep the old list: routing may be stale, never wrong about who exists */
    for (int32_t i = 0; i < md->brokers.n; i++) {
        b[i].id = md->brokers.v[i].node_id;
        b[i].port = md->brokers.v[i].port;
        cli__kstr(md->brokers.v[i].host, b[i].host, sizeof(b[i].host));
        cli__kstr(md->brokers.v[i].rack, b[i].rack, sizeof(b[i].rack));
    }
    free(k->brokers);
    k->brokers = b;
    k->nbrokers = md->brokers.n;
    k->controller = md->controller_id;
    cli__kstr(md->cluster_id, k->cluster_id, sizeof(k->cluster_id));
}

static int metadata_call(struct cli_kafka *k, const char *const *topics, int n,
                         struct cli_kresp *out)
{
    struct kp_metadata_req req;
    struct kp_metadata_req_topic *t = n > 0 ? calloc((size_t)n, sizeof(*t)) : NULL;
    struct cli_kconn *conn;
    int16_t v;
    int rc;
    if (n > 0 && !t)
        return CLI_EBROKER;
    kp_init(&kp_metadata_req_schema, &req);
    for (int i = 0; i < n; i++) {
        kp_init(&kp_metadata_req_topic_schema, &t[i]);
        t[i].name = kp_slice_str(topics[i]);
    }
    KP_SET(req.topics, topics ? n : -1, t); /* null: every topic (v1+) */
    req.allow_auto_topic_creation = false;  /* describing a topic never creates it */
    if ((rc = cli__kafka_any(k, &conn)) == CLI_OK &&
        (rc = cli__kafka_version(k, conn, KP_API_METADATA, 4, 12, &v)) == CLI_OK)
        rc = cli__kafka_call(k, conn, KP_API_METADATA, v, &req, out);
    free(t);
    return rc;
}

int cli__kafka_metadata(struct cli_kafka *k, const char *const *topics, int n,
                        struct cli_kresp *out)
{
    struct cli_kresp mine;
    struct cli_kresp *r = out ? out : &mine;
    int rc = metadata_call(k, topics, n, r);
    if (rc)
        return rc;
    take_brokers(k, r->r.msg);
    if (!out)
        cli__kresp_fini(r);
    return CLI_OK;
}

int cli__kafka_refresh(struct cli_kafka *k)
{
    static const char *const no_topic[1];
    return cli__kafka_metadata(k, no_topic, 0, NULL);
}

/* ---- routing ----------------------------------------------------------------------------------
 */

int cli__kafka_any(struct cli_kafka *k, struct cli_kconn **out)
{
    int rc = k->conns[0]->open ? CLI_OK : open_bootstrap(k);
    if (rc == CLI_OK)
        *out = k->conns[0];
    return rc;
}

static void join_addr(char *buf, size_t cap, const char *host, int32_t port)
{
    bool v6 = strchr(host, ':') != NULL;
    snprintf(buf, cap, "%s%s%s:%d", v6 ? "[" : "", host, v6 ? "]" : "", port);
}

/* A connection to broker node at host:port: an open one for that node or that address,
 * else a new one. */
static int node_at(struct cli_kafka *k, int32_t node, const char *host, int32_t port,
                   struct cli_kconn **out)
{
    char addr[280];
    struct cli_kconn *conn = NULL;
    join_addr(addr, sizeof(addr), host, port);
    for (int i = 0; i < k->nconns && !conn; i++)
        if (k->conns[i]->node == node || strcmp(k->conns[i]->addr, addr) == 0)
            conn = k->conns[i];
    if (conn && conn->open && strcmp(conn->addr, addr) == 0) {
        conn->node = node; /* the bootstrap connection, now known by its id */
        *out = conn;
        return CLI_OK;
    }
    if (!conn) {
        if (k->nconns == CLI_KAFKA_CONNS_MAX) {
            fprintf(k->cli->err, "error: more than %d brokers to talk to\n", CLI_KAFKA_CONNS_MAX);
            return CLI_EBROKER;
        }
        if (!(conn = calloc(1, sizeof(*conn))))
            return CLI_EBROKER;
        k->conns[k->nconns++] = conn;
    }
    int rc = cli__kconn_open(k, conn, addr, node);
    if (rc == CLI_OK)
        *out = conn;
    return rc;
}

static const struct cli_kbroker *find_broker(const struct cli_kafka *k, int32_t node)
{
    for (int i = 0; i < k->nbrokers; i++)
        if (k->brokers[i].id == node)
            return &k->brokers[i];
    return NULL;
}

int cli__kafka_node(struct cli_kafka *k, int32_t node, struct cli_kconn **out)
{
    const struct cli_kbroker *b = find_broker(k, node);
    int rc;
    if (!b && (rc = cli__kafka_refresh(k)) != CLI_OK)
        return rc;
    if (!b && !(b = find_broker(k, node))) {
        fprintf(k->cli->err, "error: broker %d is not in the cluster's metadata\n", node);
        return CLI_EBROKER;
    }
    return node_at(k, node, b->host, b->port, out);
}

int cli__kafka_controller(struct cli_kafka *k, struct cli_kconn **out)
{
    int rc;
    if (k->controller < 0 && (rc = cli__kafka_refresh(k)) != CLI_OK)
        return rc;
    if (k->controller < 0) {
        fprintf(k->cli->err, "error: the cluster has no controller now (Metadata says -1)\n");
        return CLI_EBROKER;
    }
    return cli__kafka_node(k, k->controller, out);
}

/* ---- group coordinators
 * -------------------------------------------------------------------------- */

/* FindCoordinator for group, once: its node and address from either shape of the answer. */
static int find_coordinator(struct cli_kafka *k, const char *group, int32_t *node, char *host,
                            size_t hcap, int32_t *port, int16_t *code, char *msg, size_t mcap)
{
    struct kp_find_coordinator_req req;
    struct kc_slice key = kp_slice_str(group);
    struct cli_kconn *conn;
    struct cli_kresp resp;
    int16_t v;
    int rc = cli__kafka_any(k, &conn);
    if (rc || (rc = cli__kafka_version(k, conn, KP_API_FIND_COORDINATOR, 0, 6, &v)))
        return rc;
    kp_init(&kp_find_coordinator_req_schema, &req);
    req.key_type = 0; /* a group */
    if (v < 4)
        req.key = key;
    else
        KP_SET(req.coordinator_keys, 1, &key);
    if ((rc = cli__kafka_call(k, conn, KP_API_FIND_COORDINATOR, v, &req, &resp)))
        return rc;
    const struct kp_find_coordinator_resp *r = resp.r.msg;
    const struct kp_find_coordinator_resp_coordinator *c =
        v >= 4 && r->coordinators.n > 0 ? &r->coordinators.v[0] : NULL;
    if (v >= 4 && !c) {
        cli__kresp_fini(&resp);
        fprintf(k->cli->err, "error: FindCoordinator answered without a coordinator\n");
        return CLI_EBROKER;
    }
    *code = c ? c->error_code : r->error_code;
    *node = c ? c->node_id : r->node_id;
    *port = c ? c->port : r->port;
    cli__kstr(c ? c->host : r->host, host, hcap);
    cli__kstr(c ? c->error_message : r->error_message, msg, mcap);
    cli__kresp_fini(&resp);
    return CLI_OK;
}

int cli__kafka_coordinator(struct cli_kafka *k, const char *group, struct cli_kconn **out)
{
    char host[256], msg[256], what[300];
    int32_t node, port;
    int16_t code;
    for (;;) {
        int rc =
            find_coordinator(k, group, &node, host, sizeof(host), &port, &code, msg, sizeof(msg));
        if (rc)
            return rc;
        if (code == 0)
            return node_at(k, node, host, port, out);
        if (!cli__kafka_retry(k, code)) {
            snprintf(what, sizeof(what), "the coordinator of group '%s'", group);
            return cli__kerr(k, what, code, kp_slice_str(msg[0] ? msg : NULL));
        }
    }
}

/* ---- retries ------------------------------------------------------------------------------------
 */

bool cli__kafka_retry(struct cli_kafka *k, int16_t code)
{
    if (!cli__kerr_retriable(code) || kc_mono_ms() + k->backoff_ms > k->deadline_ms)
        return false;
    if (code == CLI_KERR_NOT_CONTROLLER)
        k->controller = -1; /* routing asks Metadata again */
    kc_sleep_ms(k->backoff_ms);
    k->backoff_ms = KC_MIN(k->backoff_ms * 2, CLI_KAFKA_BACKOFF_MAX_MS);
    return true;
}
