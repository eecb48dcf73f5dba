/*
 * cli_admin.h - kafka_cli's admin verbs: the families, their verbs, and what they share.
 *
 *   kafka_cli [global options] <family> <verb> [args] [--bootstrap-server H:P,...] [--json]
 *
 *   family          verbs                                           mirrors
 *   topics          list describe create delete alter add-partitions kafka-topics.sh
 *   groups          list describe reset-offsets delete delete-offsets kafka-consumer-groups.sh
 *   configs         describe alter                                  kafka-configs.sh
 *   delete-records  (one verb: the family is the verb)              kafka-delete-records.sh
 *   acls            list add remove                                 kafka-acls.sh
 *   scram           describe set delete                             kafka-configs.sh --entity-type users
 *
 * Every verb speaks Kafka's protocol (cli_kafka.h) to --bootstrap-server, which defaults to
 * the global --bootstrap-server, then to -b's address: this project's broker serves both
 * protocols on one port, so `kafka_cli -b host:9092 topics list` needs nothing more.
 *
 * Output: people get lines and aligned tables on stdout; --json gets one JSON document on
 * stdout instead (cli_out.h). Errors go to stderr as "error: ..." lines, with kafka_cli's
 * exit statuses (cli.h): 0 done, 1 the broker refused (some of) it, 2 bad usage, 3 the
 * broker unreachable, 4 TLS or SASL refused. A verb that acted on several things (three
 * topics to delete) reports each; one refusal makes the status 1, and the JSON document
 * still describes every item, each with its "error" (null when it worked). A verb that
 * could not run at all (usage, network) prints no JSON.
 */
#ifndef CLI_ADMIN_H
#define CLI_ADMIN_H

#include "cli_int.h"
#include "cli_kafka.h"
#include "cli_out.h"

struct cli_admin;
struct cli_ktp;

struct cli_verb {
    const char *name;
    const char *args;    /* synopsis after "<family> <verb>" */
    const char *summary; /* one line */
    const char *details; /* option lines, or NULL */
    int (*run)(struct cli_admin *a, int argc, char **argv); /* argv[0] is the verb */
};

struct cli_family {
    const char *name;    /* "topics" */
    const char *mirrors; /* "kafka-topics.sh (TopicCommand)" */
    const struct cli_verb *verbs;
    int nverbs;
};

/* One verb's run: its options, its output, its client. */
struct cli_admin {
    struct cli *cli;
    const struct cli_family *family;
    const struct cli_verb *verb;
    const char *bootstrap; /* --bootstrap-server after the verb, or NULL */
    bool json;
    bool help;
    bool opened;
    struct cli_kafka k;
    struct cli_json j;     /* on cli->out */
};

#define CLI_ADMIN_OPTS_MAX 32

/*
 * Parse argv[1..] against opts (NULL-name terminated) plus the common options
 * (--bootstrap-server, --json, --help); min..max positionals into pos. CLI_OK, or a usage
 * error already printed. With --help the verb's help is printed, a->help set, and CLI_OK
 * returned: the verb returns at once.
 */
int cli__admin_args(struct cli_admin *a, int argc, char **argv, const struct cli_opt *opts,
                    char **pos, int min, int max, int *npos);
/* Print "error: why" and the verb's synopsis; CLI_EUSAGE. */
int cli__admin_usage(struct cli_admin *a, const char *why, ...)
    __attribute__((format(printf, 2, 3)));
/* s as a number in [min, max] for the named option, or a usage error. */
int cli__admin_num(struct cli_admin *a, const char *what, const char *s, int64_t min,
                   int64_t max, int64_t *out);
/* Connect (the first call; later calls return CLI_OK). */
int cli__admin_open(struct cli_admin *a);

/* "topic=name" strings of a repeated option, split at the first '=' into key and value.
 * CLI_OK or a usage error naming the option. */
int cli__admin_kv(struct cli_admin *a, const char *opt, const char *text, char *key,
                  size_t kcap, const char **value);

/* The families (one file each). */
extern const struct cli_family cli__topics_family;
extern const struct cli_family cli__groups_family;
extern const struct cli_family cli__configs_family;
extern const struct cli_family cli__records_family;
extern const struct cli_family cli__elect_family;
extern const struct cli_family cli__acls_family;
extern const struct cli_family cli__scram_family;

/* ---- configs (cli_configs.c), which topics alter shares -------------------------------------- */

/* DescribeConfigs' resource types. */
enum cli_resource {
    CLI_RESOURCE_TOPIC = 2,
    CLI_RESOURCE_BROKER = 4,
};

/*
 * Change the configs of one resource (a topic, or broker `name`): set[0..nset) are
 * "key=value", del[0..ndel) keys to return to their defaults. IncrementalAlterConfigs; on
 * a broker without it, AlterConfigs with the resource's current dynamic configs merged in,
 * as kafka-configs.sh did before Kafka 2.3. Prints the outcome (human or JSON); a status.
 */
int cli__configs_alter(struct cli_admin *a, int type, const char *name,
                       const char *const *set, int nset, const char *const *del, int ndel);

/*
 * Split kafka-configs.sh's --add-config text, "k1=v1, k2=[a,b],k3=v3" (pairs true), into
 * "k=v" strings, or its --delete-config text "k1,k2" (pairs false) into names. They are
 * written into buf (NUL-terminated, spaces around keys and values trimmed, the brackets of
 * a list value dropped and its commas kept) with pointers in out[0..cap); *n gets how many.
 * 0; -EINVAL (an empty item, a pair without '=' or a key, a name with '='); -E2BIG (more
 * than cap items or bufcap bytes). Pure.
 */
int cli__parse_config_list(const char *text, bool pairs, char *buf, size_t bufcap,
                           const char **out, int cap, int *n);

/* ---- groups (cli_groups.c), which reset-offsets shares (cli_groups_reset.c) ------------------ */

/*
 * DescribeGroups for group at its coordinator (found with FindCoordinator, and again while
 * it moves). *g points into *out (free it with cli__kresp_fini); *coord is the coordinator's
 * connection. A group the broker does not know is described with state "Dead", as Kafka
 * does. CLI_OK, or a status printed.
 */
int cli__group_describe(struct cli_admin *a, const char *group, struct cli_kresp *out,
                        const struct kp_describe_groups_resp_described_group **g,
                        struct cli_kconn **coord);
/* The verbs in files of their own. */
int cli__groups_describe(struct cli_admin *a, int argc, char **argv);
int cli__groups_reset(struct cli_admin *a, int argc, char **argv);

/* Does state (a DescribeGroups group_state) mean nobody consumes: "Empty" or "Dead"? */
bool cli__group_inactive(struct kc_slice state);

/*
 * Every committed offset of group (OffsetFetch with every topic, at the coordinator): a
 * malloc'ed array of partitions, sorted, each `in` the committed offset; topic names are
 * copied into names (free with kp_arena_fini). CLI_OK, or a status printed.
 */
int cli__group_offsets(struct cli_admin *a, const char *group, struct kp_arena *names,
                       struct cli_ktp **tps, size_t *n);

/*
 * The partitions named by --topic options ("T" for every partition, "T:0,2" for some),
 * sorted, in a malloc'ed array whose topic strings are copied into names. CLI_OK, or a
 * status printed (a usage error, a topic that does not exist).
 */
int cli__topic_specs(struct cli_admin *a, const struct cli_optlist *specs,
                     struct kp_arena *names, struct cli_ktp **tps, size_t *n);

/* ---- partitions, and requests that go to each partition's leader (cli_kparts.c) ------------ */

/* One partition and what a request learned about it. */
struct cli_ktp {
    const char *topic;  /* not owned: lives as long as the caller's array */
    int32_t partition;
    int64_t in;         /* what to ask: ListOffsets' timestamp, DeleteRecords' offset */
    int64_t out;        /* what came back: the offset, the low watermark */
    int32_t leader;     /* -1 while not known */
    int16_t error;      /* Kafka's code for this partition; 0 */
    bool done;
};

/* Order by topic, then partition (qsort). */
int cli__ktp_cmp(const void *a, const void *b);

/*
 * Every partition of topics[0..n) from Metadata, as a malloc'ed array (*out, *nout; free
 * it). The topic strings point into topics. A topic that does not exist is an error
 * (printed): CLI_EBROKER.
 */
int cli__kafka_partitions(struct cli_kafka *k, const char *const *topics, int n,
                          struct cli_ktp **out, size_t *nout);

/* How to ask each leader (cli__kafka_by_leader). */
struct cli_kleader_op {
    int16_t key, lo, hi; /* the API, and the versions this op can build and read */
    /* A request for tps[0..n) (sorted, same leader) at version v, its arrays in arena. */
    void *(*build)(struct kp_arena *arena, int16_t v, struct cli_ktp *const *tps, size_t n);
    /* Take the answer: set out/error of the partitions it names (tps sorted, n). */
    void (*take)(const void *resp, int16_t v, struct cli_ktp *const *tps, size_t n);
};

/*
 * Send op to the leader of every partition in tps[0..n): Metadata for their topics, one
 * request per leader, retried with fresh metadata for the partitions whose answer (or
 * missing leader) asks for it, until the deadline. Each partition ends with its out and
 * error set (UNKNOWN_TOPIC_OR_PARTITION for one the cluster does not have). CLI_OK when
 * every leader answered (some partitions may still carry errors); a status, printed, when
 * the requests themselves failed.
 */
int cli__kafka_by_leader(struct cli_kafka *k, struct cli_ktp *tps, size_t n,
                         const struct cli_kleader_op *op);
/* Same partitions: the answer's (topic, partition) among tps[0..n) (sorted), or NULL. */
struct cli_ktp *cli__ktp_find(struct cli_ktp *const *tps, size_t n, struct kc_slice topic,
                              int32_t partition);

/* ListOffsets through cli__kafka_by_leader: each tp's `in` is a timestamp (-1 latest,
 * -2 earliest, or ms since the epoch), its `out` the offset (-1: no record at or after). */
int cli__kafka_list_offsets(struct cli_kafka *k, struct cli_ktp *tps, size_t n);

/* Parse "T" or "T:0,2,5" (Kafka's --topic syntax for groups). *parts is malloc'ed (NULL and
 * 0 for the whole topic); topic[cap] gets the name. 0, or -EINVAL. Pure. */
int cli__parse_topic_parts(const char *s, char *topic, size_t cap, int32_t **parts,
                           size_t *nparts);

/* kafka-topics.sh's --replica-assignment "3:1,2:3,1:2": partitions in order, separated by
 * ',', each one's broker ids by ':'. The lists' lengths are left to the broker to judge
 * (it says which partition is off); a broker twice in one list is refused here, as
 * Kafka's TopicCommand does. */
struct cli_assignment {
    int32_t n;    /* partitions */
    int32_t *len; /* len[i]: partition i's brokers, at ids[off[i]..] */
    int32_t *off;
    int32_t *ids;
};
/* 0, or -EINVAL (not that syntax), -ENOMEM. Pure; out freed by cli__assignment_fini. */
int cli__parse_assignment(const char *s, struct cli_assignment *out);
void cli__assignment_fini(struct cli_assignment *as);

/*
 * kafka-delete-records.sh's offsets file, {"partitions": [{"topic": T, "partition": P,
 * "offset": O}, ...], "version": 1}, into a malloc'ed sorted array (each `in` the offset,
 * -1: the high watermark; topics copied into names). 0, or -EINVAL with why[cap] set (not
 * JSON, a field missing or mistyped, a partition named twice), -ENOMEM. Pure.
 */
int cli__parse_offsets_json(const char *text, size_t len, struct kp_arena *names,
                            struct cli_ktp **tps, size_t *n, char *why, size_t cap);

/* An ACL operation as kafka-acls.sh takes it: "DescribeConfigs", "describe_configs",
 * "DESCRIBE-CONFIGS" -> SEC_OP_DESCRIBE_CONFIGS (sec_acl.h); 0 for an unknown one or ANY. */
int cli__acl_op_parse(const char *s);

/* ISO 8601 to ms since the epoch, as kafka-consumer-groups.sh --to-datetime takes it:
 * YYYY-MM-DDTHH:mm[:SS[.sss]] and a zone (Z, +hh:mm, +hhmm, -...), local time without one.
 * 0, or -EINVAL. */
int cli__parse_datetime(const char *s, int64_t *ms);

#endif
