/*
 * cli_kafka.h - kafka_cli's Kafka-protocol client: what the admin verbs stand on.
 *
 * The admin verbs (topics, groups, configs, delete-records, acls, scram) speak Kafka's own
 * protocol, so they work against any Kafka-compatible broker and against a cluster, not
 * only against this project's broker. Every request and answer is a struct of libbrk_kp
 * (broker/kafka/codec), encoded and decoded at the version chosen for it; the bytes move
 * through the native client's transport (np_client: TCP, TLS, timeouts), so the TLS and
 * SASL options mean the same thing on both sides.
 *
 *   kafka_cli topics list --bootstrap-server a:9092,b:9092
 *        |
 *   cli__kafka_open: the first bootstrap address that answers, opened as every
 *   connection is (cli__kconn_open):
 *        connect -> TLS (--tls-ca) -> ApiVersions -> SaslHandshake v1 + SaslAuthenticate
 *        then Metadata for no topic: the brokers, the controller, the cluster id
 *        |
 *   a verb asks for the broker its request must go to:
 *        cli__kafka_any          any broker: the bootstrap connection (Metadata, configs)
 *        cli__kafka_controller   the controller (CreateTopics, DeleteTopics, ...)
 *        cli__kafka_node         a broker by id: a partition's leader (ListOffsets,
 *                               DeleteRecords), a broker's own configs
 *        cli__kafka_coordinator  a group's coordinator, found with FindCoordinator
 *   each its own connection, opened on first use and kept until cli__kafka_close.
 *        |
 *   per connection and API, the version: the highest both sides speak within the range
 *   the verb was written for (cli__kversion_pick); no common version is an error that
 *   names the API. Then the request struct at that version, and cli__kafka_call: one
 *   frame out, its answer in, decoded.
 *
 * Retries: an answer that says "ask again" (NOT_CONTROLLER, NOT_COORDINATOR, a leader or
 * a coordinator moving) is retried after a short pause with fresh routing, until the
 * verb's deadline (the --timeout, from cli__kafka_open): cli__kafka_retry. Every network
 * wait is bounded by the same timeout: a silent broker is an error, never a hang.
 *
 * Return values: a cli_status (cli.h). Failures are printed on cli->err when they happen,
 * once, as "error: ..." lines, so a verb only passes the status up.
 *
 * Rules: a struct cli_kafka belongs to one thread and one verb. Decoded answers
 * (struct cli_kresp) own their bytes: they live until cli__kresp_fini, whatever happens to
 * the connection meanwhile.
 */
#ifndef CLI_KAFKA_H
#define CLI_KAFKA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli.h"
#include "kp_api.h"
#include "kp_errors.h"
#include "kp_msgs.h"

struct cli_kafka;

#define CLI_KAFKA_CLIENT_ID  "kafka_cli"
#define CLI_KAFKA_KEYS       128  /* api keys a version table holds (Kafka's are below 100) */
#define CLI_KAFKA_BACKOFF_MS 100  /* first pause before a retry; doubles, at most ... */
#define CLI_KAFKA_BACKOFF_MAX_MS 1000
#define CLI_KAFKA_ADDRS_MAX  16   /* bootstrap addresses */
#define CLI_KAFKA_CONNS_MAX  64   /* brokers a verb may talk to */

/* ---- versions ----------------------------------------------------------------------------- */

/* What one broker said in ApiVersions. */
struct cli_kversions {
    bool has[CLI_KAFKA_KEYS];
    int16_t min[CLI_KAFKA_KEYS];
    int16_t max[CLI_KAFKA_KEYS];
};

#define CLI_KV_NOT_OFFERED (-1) /* the broker does not serve the API at all */
#define CLI_KV_NO_OVERLAP  (-2) /* it does, but no version within [lo, hi] */

/*
 * The version to use: the highest in [lo, hi] (what the caller can build and read) that
 * the broker serves, also never above what the codec implements. A version >= 0, or
 * CLI_KV_NOT_OFFERED / CLI_KV_NO_OVERLAP. Pure.
 */
int cli__kversion_pick(const struct cli_kversions *v, int16_t key, int16_t lo, int16_t hi);

/* ---- answers ------------------------------------------------------------------------------ */

/* A decoded answer: r.msg is a struct kp_<api>_resp pointing into frame. */
struct cli_kresp {
    struct kp_response r;
    uint8_t *frame;
};

void cli__kresp_fini(struct cli_kresp *resp);

/* ---- one connection ----------------------------------------------------------------------- */

struct cli_kconn {
    struct np_client np;  /* the transport: TCP, then TLS once started */
    bool open;
    int32_t node;         /* the broker's id; -1 for a bootstrap connection */
    char addr[280];       /* host:port as dialled */
    int32_t next_corr;
    struct cli_kversions v;
};

/*
 * Open conn to addr (host:port) as described at the top of cli_kconn.c, remembering node
 * (-1 for a bootstrap address). CLI_OK, or a status after printing why; conn is closed on
 * failure. Reopening an open conn closes it first.
 */
int cli__kconn_open(struct cli_kafka *k, struct cli_kconn *conn, const char *addr, int32_t node);
void cli__kconn_close(struct cli_kconn *conn);
/* Print why a request `during` ("Metadata v12") on conn failed at the transport (rc < 0 or
 * KC_EMALFORMED), close conn, and return CLI_ENET (CLI_EAUTH when TLS refused us). */
int cli__kafka_net_failed(struct cli_kafka *k, struct cli_kconn *conn, const char *during,
                          int rc);

/* ---- the cluster -------------------------------------------------------------------------- */

struct cli_kbroker {
    int32_t id;
    char host[256];
    int32_t port;
    char rack[64];       /* "" when the broker has none */
};

struct cli_kafka {
    struct cli *cli;        /* timeout, security, where errors are printed */
    char addrs[CLI_KAFKA_ADDRS_MAX][280]; /* the bootstrap addresses, in the order given */
    int naddrs;
    struct cli_kconn *conns[CLI_KAFKA_CONNS_MAX]; /* [0]: the bootstrap connection */
    int nconns;
    struct cli_kbroker *brokers; /* from the last Metadata answer */
    int nbrokers;
    int32_t controller;     /* -1: not known */
    char cluster_id[128];   /* "" when the broker has none */
    int64_t deadline_ms;    /* kc_mono_ms() after which nothing is retried */
    int backoff_ms;
};

/*
 * Open the client: the first address of bootstrap (comma-separated host:port) that
 * connects, secures itself and answers ApiVersions, then a Metadata answer for the broker
 * list. CLI_OK; CLI_ENET when none could be reached (each address's failure printed),
 * CLI_EAUTH when TLS or SASL refused us, CLI_EUSAGE for an address that does not parse.
 * Close with cli__kafka_close in every case.
 */
int cli__kafka_open(struct cli_kafka *k, struct cli *cli, const char *bootstrap);
void cli__kafka_close(struct cli_kafka *k);

/* The highest version of key in [lo, hi] that conn's broker serves, into *v. CLI_OK, or
 * CLI_EBROKER after printing which API is missing or which versions do not meet. */
int cli__kafka_version(struct cli_kafka *k, struct cli_kconn *conn, int16_t key, int16_t lo,
                      int16_t hi, int16_t *v);

/*
 * Send msg (a struct kp_<api>_req, built for version v) on conn and wait for its answer,
 * decoded into *out (free with cli__kresp_fini, on success only). CLI_OK; CLI_ENET when the
 * connection failed, closed or timed out (printed; the connection is closed and the next
 * cli_kafka_* routing call opens it again); CLI_EBROKER when the answer does not decode.
 */
int cli__kafka_call(struct cli_kafka *k, struct cli_kconn *conn, int16_t key, int16_t v,
                   const void *msg, struct cli_kresp *out);

/* Connections by role (opened on first use; *out stays valid until cli__kafka_close). */
int cli__kafka_any(struct cli_kafka *k, struct cli_kconn **out);
int cli__kafka_node(struct cli_kafka *k, int32_t node, struct cli_kconn **out);
int cli__kafka_controller(struct cli_kafka *k, struct cli_kconn **out);
/* FindCoordinator(group), retried while the coordinator is loading or moving. */
int cli__kafka_coordinator(struct cli_kafka *k, const char *group, struct cli_kconn **out);

/*
 * Metadata for topics[0..n): topics NULL asks for every topic, n 0 with topics not NULL for
 * none (the brokers only). Never creates a topic (allow_auto_topic_creation false, so
 * Metadata v4 or newer). Refreshes the broker list and the controller. out may be NULL
 * (only the refresh); else it holds a struct kp_metadata_resp, decoded at out->r.version.
 */
int cli__kafka_metadata(struct cli_kafka *k, const char *const *topics, int n,
                        struct cli_kresp *out);
/* Metadata for no topic: the brokers and the controller again. */
int cli__kafka_refresh(struct cli_kafka *k);

/*
 * After an answer carrying Kafka error code `code`: is it one that asks the client to try
 * again (a moving leader, controller or coordinator), with time left? Then pause (a
 * growing backoff) and return true: the caller routes again and resends. False for every
 * other code, or once the deadline has passed.
 */
bool cli__kafka_retry(struct cli_kafka *k, int16_t code);
/* Is code one of those (pure)? */
bool cli__kerr_retriable(int16_t code);

/* ---- errors ------------------------------------------------------------------------------- */

/* Kafka's codes that the admin verbs act on and kp_errors.h does not list. */
enum cli_kerr_code {
    CLI_KERR_COORDINATOR_LOAD_IN_PROGRESS = 14,
    CLI_KERR_TOPIC_AUTHORIZATION_FAILED = 29,
    CLI_KERR_GROUP_AUTHORIZATION_FAILED = 30,
    CLI_KERR_CLUSTER_AUTHORIZATION_FAILED = 31,
    CLI_KERR_UNSUPPORTED_SASL_MECHANISM = 33,
    CLI_KERR_NOT_CONTROLLER = 41,
    CLI_KERR_SECURITY_DISABLED = 54,
    CLI_KERR_NON_EMPTY_GROUP = 68,
    CLI_KERR_GROUP_ID_NOT_FOUND = 69,
    CLI_KERR_GROUP_SUBSCRIBED_TO_TOPIC = 86,
    CLI_KERR_RESOURCE_NOT_FOUND = 91,
};

/* Kafka's name of an error code ("TOPIC_ALREADY_EXISTS"); "UNKNOWN_ERROR_<n>" is never
 * returned: codes Kafka has not named are "UNKNOWN". Static strings. */
const char *cli__kerr_name(int16_t code);

/*
 * Print "error: <what>: <NAME>: <message>" on k->cli->err (what may be NULL; message the
 * broker's, or Kafka's description of the code when the broker sent none) and return
 * CLI_EBROKER. A hint is added where kafka_cli knows one (authorization, SASL).
 */
int cli__kerr(struct cli_kafka *k, const char *what, int16_t code, struct kc_slice message);

/* ---- small helpers the verbs share (cli_kutil.c) -------------------------------------------- */

/* Kafka's text form of a topic id: URL-safe base64 of the 16 bytes, no padding (22 chars
 * plus NUL: buf[23]). */
void cli__kuuid_str(const struct kp_uuid *id, char buf[23]);

/* A C string copy of a slice into buf[cap] (truncated; a null slice gives ""). Returns buf. */
char *cli__kstr(struct kc_slice s, char *buf, size_t cap);
/* A C string copy of a slice in the arena (lives until kp_arena_fini); NULL if out of memory. */
char *cli__kstr_dup(struct kp_arena *arena, struct kc_slice s);

#endif
