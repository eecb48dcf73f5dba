/*
 * versions.c - what this broker serves, API by API and version by version, and
 * ApiVersions, the request in which it says so.
 *
 * ApiVersions is a contract: a client picks, per API, the highest version both sides
 * know, and a broker that advertises a version must answer it (Kafka closes the
 * connection on anything else, and a client cannot tell that from a crash). So the table
 * below is both what is advertised and what serve.c lets through: one list, no second
 * copy to drift.
 *
 * The rule: every version of each offered API from the lowest Kafka 4.0 still serves to
 * the highest Kafka 3.9 serves (kp_versions.h: kafka40_min, kafka39_max), flexible ones
 * included. Below Kafka 4.0's floor, only what real clients need, each for a reason:
 *
 *   Produce 0-2          librdkafka <= 2.11 enables gzip, snappy and lz4 only if the
 *                        Produce range contains 0 (its check asks for [0, 0], a fixed
 *                        version, not a minimum: KAFKA-18659), so Kafka 4.0 advertises
 *                        them too. They carry the v0/v1 message formats, which Kafka 4.0
 *                        no longer takes: answered per partition UNSUPPORTED_VERSION (35)
 *                        instead of closing the connection (produce.c).
 *   ListOffsets 0        the old "list of offsets" form: cheap, and still sent by tools
 *                        built against old protocol tables.
 *   FindCoordinator 0    librdkafka <= 2.11 turns on its consumer-group support, and lz4,
 *                        only if FindCoordinator's range contains 0 (rdkafka_feature.c).
 *   JoinGroup 0-1        librdkafka <= 2.11's "broker balanced consumer" feature checks
 *                        JoinGroup 0 (and SASL/GSSAPI keys on it); Kafka 4.0.0 removed
 *                        them, 4.0.1 restored them for that reason (KAFKA-19444).
 *   Metadata 0-3         kafka-python 2.0.2 probes the broker with Metadata v0, infers
 *                        its version from this table ("2.4"), and then speaks fixed
 *                        versions from its own list, Metadata v1 among them (the rest it
 *                        sends - Produce 7, Fetch 4, ListOffsets 1, FindCoordinator 0,
 *                        JoinGroup 2, SyncGroup 1, LeaveGroup 1, OffsetCommit 2,
 *                        OffsetFetch 1 - lie inside the ranges anyway: observed, and kept
 *                        so by broker/tests/test_0108_kafka_python.c). v2-3 are served
 *                        too: a gap in a range is not something ApiVersions can say.
 *   OffsetForLeaderEpoch 0-1  v2 is Kafka 4.0's floor (KIP-896); v0-1 differ only by
 *                        fields a reader defaults (no current_leader_epoch, no epoch in
 *                        the answer), so they cost nothing and old tools keep working.
 *   SaslHandshake 0      kafka-python 2.0.2 authenticates only with v0, whose tokens
 *                        then travel as bare [size | bytes] frames (sasl.c); Kafka 3.9
 *                        serves it, 4.0 dropped it (KIP-896).
 *
 * The SASL APIs are advertised on every listener, as Kafka does; on a PLAINTEXT or SSL
 * listener they are answered ILLEGAL_SASL_STATE (sasl.c).
 *
 * The rest of librdkafka's checks (ApiVersions 0, Produce 3 and Fetch 4 for the v2
 * message format, Produce 7 + Fetch 10 for zstd) fall inside the ranges anyway. Fetch
 * 0-3 (message formats v0/v1) are not advertised and close the connection, as in
 * Kafka 4.0.
 *
 * ApiVersions itself: v0-4. A request above v4 is answered in the v0 layout with
 * UNSUPPORTED_VERSION and this broker's ApiVersions range (serve.c, through
 * kp_api_versions_fallback), so a newer client retries with a version it finds there.
 * v3+ requests name the client software ("librdkafka 2.0.2"): logged at debug level with
 * the peer, and checked as Kafka checks them (INVALID_REQUEST if malformed, KIP-511).
 */
#include <errno.h>

#include "kafka_int.h"
#include "kp_versions.h"

/* The APIs served, indexed by api key: on, and the lowest version served (-1: Kafka
 * 4.0's). ApiVersions lists them in key order. */
static const struct served {
    bool on;
    int8_t min;
} served[BRK_KAFKA_API_KEYS] = {
    [KP_API_PRODUCE] = {true, 0},                    /* 0-2 for librdkafka's compression checks */
    [KP_API_FETCH] = {true, -1},                     /* 4: the v2 message format on */
    [KP_API_LIST_OFFSETS] = {true, 0},               /* 0: the old list of offsets */
    [KP_API_METADATA] = {true, 0},                   /* kafka-python's v0 and v1 */
    [KP_API_OFFSET_COMMIT] = {true, -1},             /* 2 */
    [KP_API_OFFSET_FETCH] = {true, -1},              /* 1 */
    [KP_API_FIND_COORDINATOR] = {true, 0},           /* librdkafka's group and lz4 checks */
    [KP_API_JOIN_GROUP] = {true, 0},                 /* librdkafka's group check (4.0.1 too) */
    [KP_API_HEARTBEAT] = {true, -1},
    [KP_API_LEAVE_GROUP] = {true, -1},
    [KP_API_SYNC_GROUP] = {true, -1},
    [KP_API_DESCRIBE_GROUPS] = {true, -1},
    [KP_API_LIST_GROUPS] = {true, -1},
    [KP_API_API_VERSIONS] = {true, -1},
    [KP_API_CREATE_TOPICS] = {true, -1},             /* 2-7: admin_topics.c */
    [KP_API_DELETE_TOPICS] = {true, -1},             /* 1-6: admin_delete.c */
    [KP_API_DELETE_RECORDS] = {true, -1},            /* 0-2: admin_cluster.c */
    [KP_API_DESCRIBE_CONFIGS] = {true, -1},          /* 1-4: admin_configs.c */
    [KP_API_ALTER_CONFIGS] = {true, -1},             /* 0-2 */
    [KP_API_DESCRIBE_LOG_DIRS] = {true, -1},         /* 1-4: admin_cluster.c */
    [KP_API_CREATE_PARTITIONS] = {true, -1},         /* 0-3: admin_topics.c */
    [KP_API_DELETE_GROUPS] = {true, -1},             /* 1: v0 went in 4.0 (KIP-896) */
    [KP_API_ELECT_LEADERS] = {true, -1},             /* 0-2: admin_elect.c */
    [KP_API_INCREMENTAL_ALTER_CONFIGS] = {true, -1}, /* 0-1: admin_configs.c */
    [KP_API_OFFSET_DELETE] = {true, -1},
    [KP_API_SASL_HANDSHAKE] = {true, 0},             /* 0: kafka-python's raw tokens */
    [KP_API_SASL_AUTHENTICATE] = {true, -1},         /* 0-2: sasl.c */
    [KP_API_DESCRIBE_ACLS] = {true, -1},             /* 1-3: acls.c */
    [KP_API_CREATE_ACLS] = {true, -1},               /* 1-3 */
    [KP_API_DELETE_ACLS] = {true, -1},               /* 1-3 */
    [KP_API_DESCRIBE_USER_SCRAM_CREDENTIALS] = {true, -1}, /* 0: scram.c */
    [KP_API_ALTER_USER_SCRAM_CREDENTIALS] = {true, -1}, /* 0 */
    [KP_API_DESCRIBE_CLUSTER] = {true, -1},          /* 0-1: admin_cluster.c */
    [KP_API_INIT_PRODUCER_ID] = {true, -1},          /* 0-5: producer_ids.c */
    [KP_API_DESCRIBE_PRODUCERS] = {true, -1},        /* 0: describe_producers.c */
    [KP_API_OFFSET_FOR_LEADER_EPOCH] = {true, 0},    /* 0-4: leader_epoch.c */
};

#define NKEYS ((int16_t)(sizeof(served) / sizeof(served[0])))
#define NSERVED 36

/* Kafka 4.0's floor and 3.9's top for key, straight from kp_versions.h at compile time
 * (this runs for every request: no table search). */
static void kafka_range(int16_t key, int16_t *floor40, int16_t *top39)
{
    switch (key) {
#define KAFKA_RANGE(k, max39, min40)                                                          \
    case k:                                                                                   \
        *floor40 = min40;                                                                     \
        *top39 = max39;                                                                       \
        return;
        KP_KAFKA_VERSIONS(KAFKA_RANGE)
#undef KAFKA_RANGE
    }
    *floor40 = *top39 = -1; /* never: every key served is in kp_versions.h */
}

bool brk__kafka_served(int16_t key, int16_t *min, int16_t *max)
{
    int16_t floor40;
    if (key < 0 || key >= NKEYS || !served[key].on)
        return false;
    kafka_range(key, &floor40, max);
    *min = served[key].min >= 0 ? served[key].min : floor40;
    return true;
}

/* Kafka's rule for client_software_name/_version (ApiVersionsRequest.isValid, KIP-511):
 * [a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])? */
static bool software_ok(struct kc_slice s)
{
    if (s.len <= 0)
        return false;
    for (int32_t i = 0; i < s.len; i++) {
        uint8_t c = s.p[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        bool inner = c == '-' || c == '.';
        if (!alnum && (!inner || i == 0 || i == s.len - 1))
            return false;
    }
    return true;
}

int brk__kafka_api_versions(struct brk_conn *c, struct kp_request *req)
{
    const struct kp_api_versions_req *av = req->msg;
    struct kp_api_versions_resp *resp = kp_new(&req->arena, &kp_api_versions_resp_schema, 1);
    struct kp_api_versions_resp_api_version *v =
        kp_new(&req->arena, &kp_api_versions_resp_api_version_schema, NSERVED);
    if (!resp || !v)
        return -ENOMEM;
    if (req->hdr.request_api_version >= 3) {
        kc_log_debug("%s: client software %.*s %.*s", brk_conn_peer(c),
                     (int)KC_MAX(av->client_software_name.len, 0), av->client_software_name.p,
                     (int)KC_MAX(av->client_software_version.len, 0),
                     av->client_software_version.p);
        if (!software_ok(av->client_software_name) ||
            !software_ok(av->client_software_version)) {
            resp->error_code = KP_ERR_INVALID_REQUEST; /* and no table, as Kafka answers */
            return brk__kafka_reply(c, &req->hdr, resp);
        }
    }
    int32_t n = 0;
    for (int16_t key = 0; key < NKEYS; key++) {
        if (brk__kafka_served(key, &v[n].min_version, &v[n].max_version))
            v[n++].api_key = key;
    }
    KP_SET(resp->api_keys, n, v);
    return brk__kafka_reply(c, &req->hdr, resp);
}
