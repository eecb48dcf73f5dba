/*
 * clu_znode.h - Kafka's ZooKeeper layout, as pure code: the paths, and the JSON bodies
 * encoded and decoded exactly as Kafka's ZkData.scala writes them. No ZooKeeper here, so
 * everything in this header is tested (and fuzzed) without a server.
 *
 *   /                                   (or the chroot of zookeeper.connect)
 *   ├── cluster/id                      {"version":"1","id":"<base64 uuid>"}     once
 *   ├── controller                      {"version":1,"brokerid":2,"timestamp":"..."}
 *   │                                   EPHEMERAL: the elected controller
 *   ├── controller_epoch                "7"  bumped by every election; its znode
 *   │                                   VERSION is what a controller's writes check
 *   ├── brokers
 *   │   ├── ids/<id>                    EPHEMERAL, version 5 (below); czxid = broker epoch
 *   │   └── topics/<topic>              {"version":3,"topic_id":"...","partitions":
 *   │       │                            {"0":[1,2,3],...},"adding_replicas":{},
 *   │       │                            "removing_replicas":{}}
 *   │       └── partitions/<p>/state    {"controller_epoch":3,"leader":2,"version":1,
 *   │                                    "leader_epoch":7,"isr":[2,1]}
 *   │                                   its znode VERSION is the partition epoch
 *   ├── config/topics/<topic>           {"version":1,"config":{"min.insync.replicas":"2"}}
 *   ├── admin/delete_topics/<topic>     (empty) a request to delete the topic
 *   └── controller_requests/request_<seq>
 *                                       EPHEMERAL|SEQUENTIAL: this project's channel from a
 *                                       broker to the controller (below); not Kafka's
 *
 *   /brokers/ids/<id>, version 5:
 *   {"listener_security_protocol_map":{"PLAINTEXT":"PLAINTEXT"},"endpoints":
 *    ["PLAINTEXT://127.0.0.1:9092"],"jmx_port":-1,"features":{},"host":"127.0.0.1",
 *    "timestamp":"1700000000000","port":9092,"version":5}
 *
 * Requests to the controller (this project's; Kafka sends AlterPartition and
 * ControlledShutdown over its own protocol, and creates topics by writing the assignment
 * itself). The requester creates the node; the controller answers by rewriting it, in the
 * same ZooKeeper transaction as the change it decided, with "answer" added:
 *
 *   {"version":1,"type":"alter_partition","broker":2,"broker_epoch":4294967301,
 *    "topic":"payments","partition":0,"leader_epoch":7,"partition_epoch":12,"isr":[2,1,3]}
 *   {"version":1,"type":"controlled_shutdown","broker":3,"broker_epoch":4294967310}
 *   {"version":1,"type":"create_topic","broker":1,"broker_epoch":...,"topic":"payments",
 *    "partitions":6,"replication_factor":3,"config":{"min.insync.replicas":"2"}}
 *   {"version":1,"type":"create_partitions",...,"topic":"payments","partitions":8,
 *    "assignment":[[1,2,3],[2,3,1]]}        (an operator's replicas for the new ones;
 *                                            without it the controller places them)
 *   ... ,"answer":{"error":0,"remaining":0,"state":{"controller_epoch":3,"leader":2,
 *                  "leader_epoch":7,"partition_epoch":13,"replicas":[2,1,3],"isr":[2,1,3]}}}
 *
 * Decoders take a whole body (a znode's data always arrives whole) and return 0,
 * KC_EMALFORMED (not the JSON Kafka writes: bad syntax, a missing or mistyped field, an
 * inconsistent value), KC_EUNSUPPORTED (well-formed, but a version or feature this project
 * does not implement: a partition reassignment in progress, a leader still recovering from
 * an unclean election), or -ENOMEM. Out-parameters are written only on success. Encoders
 * append to a kc_writer (errors sticky, checked once by the caller) and return 0 or
 * -EINVAL for a value they refuse to write.
 */
#ifndef CLU_ZNODE_H
#define CLU_ZNODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kc_buf.h"
#include "repl_ctl.h"

/* ---- paths ---- */

#define CLU_ZK_CLUSTER_ID       "/cluster/id"
#define CLU_ZK_CONTROLLER       "/controller"
#define CLU_ZK_CONTROLLER_EPOCH "/controller_epoch"
#define CLU_ZK_BROKER_IDS       "/brokers/ids"
#define CLU_ZK_TOPICS           "/brokers/topics"
#define CLU_ZK_TOPIC_CONFIGS    "/config/topics"
#define CLU_ZK_DELETE_TOPICS    "/admin/delete_topics"
#define CLU_ZK_REQUESTS         "/controller_requests"
#define CLU_ZK_REQUEST_PREFIX   CLU_ZK_REQUESTS "/request_"

/* The longest path this layout makes, plus room for a chroot prefix. */
#define CLU_PATH_MAX 640

/* Write one path into buf[0..cap): 0, or KC_ETOOLARGE. Topic names are not checked here
 * (repl_topic_name_valid is the caller's job; a valid name never contains '/'). */
int clu_path_broker(char *buf, size_t cap, int32_t id);
int clu_path_topic(char *buf, size_t cap, const char *topic);
int clu_path_partitions(char *buf, size_t cap, const char *topic);
int clu_path_partition(char *buf, size_t cap, const char *topic, int32_t partition);
int clu_path_state(char *buf, size_t cap, const char *topic, int32_t partition);
int clu_path_topic_config(char *buf, size_t cap, const char *topic);
int clu_path_delete_topic(char *buf, size_t cap, const char *topic);

/* What a path (a watch's, relative to the chroot) names. */
enum clu_path_kind {
    CLU_P_OTHER,            /* not a path this module watches */
    CLU_P_CONTROLLER,       /* /controller */
    CLU_P_CONTROLLER_EPOCH, /* /controller_epoch */
    CLU_P_BROKER_IDS,       /* /brokers/ids */
    CLU_P_BROKER,           /* /brokers/ids/<id>: id */
    CLU_P_TOPICS,           /* /brokers/topics */
    CLU_P_TOPIC,            /* /brokers/topics/<t>: name */
    CLU_P_STATE,            /* /brokers/topics/<t>/partitions/<p>/state: name, id = p */
    CLU_P_TOPIC_CONFIG,     /* /config/topics/<t>: name */
    CLU_P_DELETE_TOPICS,    /* /admin/delete_topics */
    CLU_P_DELETE_TOPIC,     /* /admin/delete_topics/<t>: name */
    CLU_P_REQUESTS,         /* /controller_requests */
    CLU_P_REQUEST,          /* /controller_requests/request_<seq>: name = "request_<seq>" */
};

struct clu_path {
    enum clu_path_kind kind;
    int32_t id;                    /* broker id or partition; -1 when the kind has none */
    char name[REPL_TOPIC_MAX + 1]; /* topic or request node name; "" when none */
};

/* Classify a path. 0, or KC_EMALFORMED for a path inside this layout that cannot be one
 * of its nodes (a broker id that is not a number, a bad topic name, ...). */
int clu_path_parse(const char *path, struct clu_path *out);

/* zookeeper.connect: "host:port[,host:port...][/chroot]". The chroot ("" for none) is
 * created when missing; "/" means none. 0, or -EINVAL. */
struct clu_connect {
    char hosts[512];
    char chroot[256];
};
int clu_connect_parse(const char *s, struct clu_connect *out);

/* ---- ids: Kafka's Uuid.toString, base64url without padding (22 characters) ---- */

#define CLU_UUID_LEN 22
/* A fresh random id (getrandom); never all zero, never starting with '-' (as Kafka). */
int clu_uuid_new(char out[CLU_UUID_LEN + 1]);
bool clu_uuid_valid(const char *s);

/* ---- /brokers/ids/<id> ---- */

#define CLU_LISTENERS_MAX REPL_ENDPOINT_MAX

struct clu_broker_reg {
    int version;                          /* decoded: 1..5; encoded: always 5 */
    char endpoints[CLU_LISTENERS_MAX];    /* "NAME://host:port" joined by ',' */
    char protocol_map[CLU_LISTENERS_MAX]; /* "NAME:PROTOCOL" joined by ',' */
    char host[256];                       /* the first PLAINTEXT endpoint's, "" if none */
    int32_t port;                         /* ... or -1 */
    char rack[64];                        /* "" for none */
    int32_t jmx_port;
    int64_t timestamp; /* ms since the epoch (a string in the JSON) */
};

/* Fill a registration from Kafka's settings: advertised.listeners ("PLAINTEXT://h:9092,
 * SSL://h:9093") and listener.security.protocol.map ("NAME:PROTOCOL,..."; NULL: each
 * listener name is its protocol). -EINVAL for a malformed list or an unknown protocol. */
int clu_broker_reg_init(struct clu_broker_reg *b, const char *listeners, const char *protocol_map,
                        const char *rack, int64_t now_ms);
int clu_broker_reg_encode(const struct clu_broker_reg *b, struct kc_writer *w);
int clu_broker_reg_decode(const char *p, size_t len, struct clu_broker_reg *out);

/* ---- /controller, /controller_epoch ---- */

int clu_controller_encode(int32_t broker_id, int64_t now_ms, struct kc_writer *w);
int clu_controller_decode(const char *p, size_t len, int32_t *broker_id);
int clu_epoch_encode(int32_t epoch, struct kc_writer *w);
int clu_epoch_decode(const char *p, size_t len, int32_t *epoch); /* decimal, >= 0 */

/* ---- /brokers/topics/<t> ---- */

struct clu_replicas {
    int n;
    int32_t r[REPL_MAX_REPLICAS];
};

struct clu_assignment {
    char topic_id[CLU_UUID_LEN + 1]; /* "" when the body has none (versions 1, 2) */
    int32_t npart;
    struct clu_replicas *parts; /* parts[0..npart), malloc'ed: clu_assignment_fini */
};

/* Partitions must be "0".."n-1" (each once), each a non-empty list of distinct broker ids
 * (>= 0). A non-empty adding_replicas/removing_replicas (a reassignment) is
 * KC_EUNSUPPORTED. */
int clu_assignment_decode(const char *p, size_t len, struct clu_assignment *out);
void clu_assignment_fini(struct clu_assignment *a);
/* Version 3 from the partitions' replica lists (parts[i].replicas). */
int clu_assignment_encode(const char *topic_id, const struct repl_pstate *parts, int32_t npart,
                          struct kc_writer *w);

/* ---- /brokers/topics/<t>/partitions/<p>/state ---- */

/* Writes controller_epoch, leader, leader_epoch, isr of ps (version 1). */
int clu_pstate_encode(const struct repl_pstate *ps, struct kc_writer *w);
/* Fills ps's controller_epoch, leader, leader_epoch, nisr, isr; the caller sets replicas
 * (from the assignment) and partition_epoch (the znode's version), then checks the whole
 * with clu_pstate_valid. leader_recovery_state RECOVERING (1) is KC_EUNSUPPORTED. */
int clu_pstate_decode(const char *p, size_t len, struct repl_pstate *ps);
/* The rules repl_ctl and repl_replica hold every state to: replicas distinct, ISR a
 * non-empty subset of them, the leader in the ISR or -1, epochs >= 0. */
bool clu_pstate_valid(const struct repl_pstate *ps);

/* ---- /config/topics/<t> ---- */

struct clu_kv {
    const char *key;
    const char *value;
};

/* {"version":1,"config":{...}}; -EINVAL for a NULL key or value. */
int clu_topic_config_encode(const struct clu_kv *kv, int n, struct kc_writer *w);
/* The same, from a JSON object's text (as a create_topic request carries it). */
int clu_topic_config_encode_json(const char *config, size_t len, struct kc_writer *w);
/* *kv is one malloc'ed block holding the pairs and their strings (free(*kv)); every value
 * must be a string, as Kafka writes them. */
int clu_topic_config_decode(const char *p, size_t len, struct clu_kv **kv, int *n);

/* ---- /cluster/id ---- */

int clu_cluster_id_encode(const char *id, struct kc_writer *w);
int clu_cluster_id_decode(const char *p, size_t len, char id[CLU_UUID_LEN + 1]);

/* ---- /controller_requests/request_<seq> ---- */

enum clu_req_type {
    CLU_REQ_ALTER_PARTITION = 1, /* a leader proposes an ISR (KIP-497's AlterPartition) */
    CLU_REQ_CONTROLLED_SHUTDOWN, /* a broker asks to hand its leaderships away */
    CLU_REQ_CREATE_TOPIC,        /* CreateTopics, decided by the controller (as KRaft) */
    CLU_REQ_CREATE_PARTITIONS,   /* CreatePartitions: a topic grows to `partitions` */
    CLU_REQ_ELECT_LEADERS,       /* ElectLeaders: an operator's election, some partitions */
};

struct clu_request {
    enum clu_req_type type;
    int32_t broker;
    int64_t broker_epoch;
    char topic[REPL_TOPIC_MAX + 1]; /* all but CONTROLLED_SHUTDOWN */
    int32_t partition;              /* ALTER_PARTITION */
    struct repl_isr_change isr;     /* ALTER_PARTITION (isr.leader is `broker`) */
    int32_t partitions;             /* CREATE_TOPIC; CREATE_PARTITIONS: the new total */
    int32_t replication_factor;     /* CREATE_TOPIC */
    const char *config;             /* CREATE_TOPIC: the "config" object's JSON text, or */
    size_t config_len;              /* NULL; points into the decoded body */
    /* CREATE_TOPIC, CREATE_PARTITIONS: an operator's replicas for the new partitions, in
     * order, as the "assignment" array's JSON text ([[1,2],[2,3]]: every list of the same
     * length; a creation's are `partitions` lists of `replication_factor`), or NULL: the
     * controller places them. Points into the decoded body, like config. */
    const char *assignment;
    size_t assignment_len;
    int32_t nassigned;              /* its lists */
    /* ELECT_LEADERS: the type (enum repl_election) and the partitions, strictly ascending,
     * as the "partitions" array's JSON text (points into the decoded body) */
    int32_t election;
    const char *elect;
    size_t elect_len;
    int32_t nelect;
    /* The answer, once the controller wrote it. */
    bool answered;
    int32_t error;            /* Kafka's error code (enum repl_kerr), or -1 UNKNOWN_SERVER_ERROR */
    int32_t remaining;        /* CONTROLLED_SHUTDOWN: partitions it still leads;
                               * ELECT_LEADERS: partitions left without the leader asked */
    bool has_state;           /* ALTER_PARTITION: the partition's committed state */
    struct repl_pstate state; /* (partition_epoch included) */
};

int clu_request_encode(const struct clu_request *rq, struct kc_writer *w);
/* The config and assignment pointers of *out point into p: keep p while using them. */
int clu_request_decode(const char *p, size_t len, struct clu_request *out);
/* An assignment's JSON text from n lists of rf broker ids (ids[i * rf + k]); -EINVAL
 * unless 1 <= rf <= REPL_MAX_REPLICAS and n >= 1. */
int clu_request_assignment_encode(const int32_t *ids, int32_t n, int rf, struct kc_writer *w);
/* A decoded request's assignment into out[0..rq->nassigned) (.replicas, .nreplicas; the
 * rest zeroed): 0, or KC_EMALFORMED (no assignment), -ENOMEM. */
int clu_request_assigned(const struct clu_request *rq, struct repl_pstate *out);
/* An election's partitions as JSON text (n >= 1, strictly ascending, >= 0), or -EINVAL. */
int clu_request_elect_encode(const int32_t *parts, int32_t n, struct kc_writer *w);
/* A decoded election's partitions into out[0..rq->nelect): 0, or KC_EMALFORMED. */
int clu_request_elected(const struct clu_request *rq, int32_t *out);
const char *clu_req_type_name(enum clu_req_type type);

#endif
