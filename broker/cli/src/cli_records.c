/*
 * cli_records.c - `kafka_cli delete-records`: Kafka's kafka-delete-records.sh, over the
 * Kafka protocol (DeleteRecords, to each partition's leader).
 *
 * Deleting records moves a partition's log start offset forward: the records before it
 * can no longer be read, and the segments wholly before it are removed by retention. The
 * answer is the new log start, the "low watermark". Offset -1 means the high watermark:
 * everything the partition holds.
 *
 *   kafka_cli delete-records --topic payments --partition 0 --offset 1000
 *   kafka_cli delete-records --offset-json-file offsets.json      (Kafka's file format:)
 *
 *   {"partitions": [{"topic": "payments", "partition": 0, "offset": 1000},
 *                   {"topic": "payments", "partition": 1, "offset": -1}],
 *    "version": 1}
 *
 * The file is read with jansson (Debian's libjansson), strictly: a missing or mistyped
 * field, or a partition named twice (Kafka's tool refuses that too), is a usage error
 * that names it.
 */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cli_admin.h"
#include "kc_common.h"

#define OFFSETS_FILE_MAX (16u << 20)

/* ---- the offsets file -------------------------------------------------------------------- */

static int bad(char *why, size_t cap, const char *fmt, size_t index)
{
    snprintf(why, cap, fmt, index);
    return -EINVAL;
}

/* One {"topic", "partition", "offset"} object into tp (its topic copied into names). */
static int offsets_entry(json_t *e, size_t i, struct kp_arena *names, struct cli_ktp *tp, char *why,
                         size_t cap)
{
    json_t *topic = json_object_get(e, "topic"), *part = json_object_get(e, "partition"),
           *off = json_object_get(e, "offset");
    if (!json_is_object(e))
        return bad(why, cap, "partitions[%zu] is not an object", i);
    if (!json_is_string(topic) || json_string_length(topic) == 0)
        return bad(why, cap, "partitions[%zu] has no \"topic\" string", i);
    if (!json_is_integer(part) || json_integer_value(part) < 0 ||
        json_integer_value(part) > INT32_MAX)
        return bad(why, cap, "partitions[%zu] has no \"partition\" number (0 or more)", i);
    if (!json_is_integer(off) || json_integer_value(off) < -1)
        return bad(why, cap, "partitions[%zu] has no \"offset\" number (-1 or more)", i);
    *tp = (struct cli_ktp){
        .topic = cli__kstr_dup(names, (struct kc_slice){(const uint8_t *)json_string_value(topic),
                                                        (int32_t)json_string_length(topic)}),
        .partition = (int32_t)json_integer_value(part),
        .in = json_integer_value(off),
        .leader = -1};
    return tp->topic ? 0 : -ENOMEM;
}

int cli__parse_offsets_json(const char *text, size_t len, struct kp_arena *names,
                            struct cli_ktp **tps, size_t *n, char *why, size_t cap)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    json_t *parts = root ? json_object_get(root, "partitions") : NULL;
    struct cli_ktp *v = NULL;
    size_t count = json_is_array(parts) ? json_array_size(parts) : 0;
    int rc = 0;
    if (!root)
        snprintf(why, cap, "not JSON: line %d column %d: %s", jerr.line, jerr.column, jerr.text);
    else if (!json_is_array(parts) || count == 0)
        snprintf(why, cap, "no \"partitions\" array, or an empty one");
    rc = !root || !count ? -EINVAL : (v = calloc(count, sizeof(*v))) ? 0 : -ENOMEM;
    for (size_t i = 0; rc == 0 && i < count; i++)
        rc = offsets_entry(json_array_get(parts, i), i, names, &v[i], why, cap);
    if (rc == 0)
        qsort(v, count, sizeof(*v), cli__ktp_cmp);
    for (size_t i = 1; rc == 0 && i < count; i++)
        if (cli__ktp_cmp(&v[i - 1], &v[i]) == 0) {
            snprintf(why, cap, "%s-%d is named twice", v[i].topic, v[i].partition);
            rc = -EINVAL;
        }
    json_decref(root);
    if (rc) {
        free(v);
        return rc;
    }
    *tps = v;
    *n = count;
    return 0;
}

/* ---- DeleteRecords ------------------------------------------------------------------------ */

static void *delete_records_build(struct kp_arena *arena, int16_t v, struct cli_ktp *const *tps,
                                  size_t n)
{
    struct kp_delete_records_req *req = kp_new(arena, &kp_delete_records_req_schema, 1);
    struct kp_delete_records_req_topic *t =
        kp_new(arena, &kp_delete_records_req_topic_schema, (int32_t)n);
    struct kp_delete_records_req_partition *p =
        kp_new(arena, &kp_delete_records_req_partition_schema, (int32_t)n);
    int32_t nt = 0;
    (void)v;
    if (!req || !t || !p)
        return NULL;
    for (size_t i = 0; i < n; i++) { /* sorted: a topic's partitions are together */
        if (nt == 0 || !kp_slice_eq(t[nt - 1].name, tps[i]->topic)) {
            t[nt].name = kp_slice_str(tps[i]->topic);
            t[nt++].partitions.v = &p[i];
        }
        p[i].partition_index = tps[i]->partition;
        p[i].offset = tps[i]->in;
        t[nt - 1].partitions.n++;
    }
    KP_SET(req->topics, nt, t);
    req->timeout_ms = 30000;
    return req;
}

static void delete_records_take(const void *msg, int16_t v, struct cli_ktp *const *tps, size_t n)
{
    const struct kp_delete_records_resp *r = msg;
    (void)v;
    for (int32_t i = 0; i < r->topics.n; i++)
        for (int32_t j = 0; j < r->topics.v[i].partitions.n; j++) {
            const struct kp_delete_records_resp_partition_result *p =
                &r->topics.v[i].partitions.v[j];
            struct cli_ktp *tp = cli__ktp_find(tps, n, r->topics.v[i].name, p->partition_index);
            if (tp) {
                tp->error = p->error_code;
                tp->out = p->low_watermark;
            }
        }
}

static int records_print(struct cli_admin *a, const struct cli_ktp *tps, size_t n)
{
    int rc = CLI_OK;
    if (a->json) {
        cli__json_list_begin(&a->j, "partitions");
    } else {
        fprintf(a->cli->out, "Records delete operation completed:\n");
    }
    for (size_t i = 0; i < n; i++) {
        const char *err = tps[i].error ? cli__kerr_name(tps[i].error) : NULL;
        if (a->json) {
            cli__json_open(&a->j, '{');
            cli__json_kstr(&a->j, "topic", tps[i].topic);
            cli__json_kint(&a->j, "partition", tps[i].partition);
            cli__json_key(&a->j, "low_watermark");
            err ? cli__json_null(&a->j) : cli__json_int(&a->j, tps[i].out);
            cli__json_kstr(&a->j, "error", err);
            cli__json_close(&a->j, '}');
        } else if (!err) {
            fprintf(a->cli->out, "partition: %s-%d\tlow_watermark: %lld\n", tps[i].topic,
                    tps[i].partition, (long long)tps[i].out);
        }
        if (err) {
            fprintf(a->cli->err, "error: partition %s-%d: %s\n", tps[i].topic, tps[i].partition,
                    err);
            rc = CLI_EBROKER;
        }
    }
    if (a->json) {
        cli__json_list_end(&a->j);
    }
    return rc;
}

/* ---- the verb ------------------------------------------------------------------------------ */

struct records_opts {
    const char *file, *topic, *partition, *offset;
};

/* The partitions to act on, from the file or the three options. */
static int records_targets(struct cli_admin *a, const struct records_opts *o,
                           struct kp_arena *names, struct cli_ktp **tps, size_t *n)
{
    char *text, why[320];
    size_t len;
    int64_t part, off;
    int rc;
    if (!o->file == !o->topic || (!o->topic != !o->partition) || (!o->topic != !o->offset))
        return cli__admin_usage(a, "give --offset-json-file F, or --topic, --partition and "
                                   "--offset");
    if (o->topic) {
        if ((rc = cli__admin_num(a, "--partition", o->partition, 0, INT32_MAX, &part)) ||
            (rc = cli__admin_num(a, "--offset", o->offset, -1, INT64_MAX, &off)))
            return rc;
        if (!(*tps = calloc(1, sizeof(**tps))))
            return CLI_EBROKER;
        **tps = (struct cli_ktp){o->topic, (int32_t)part, off, 0, -1, 0, false};
        *n = 1;
        return CLI_OK;
    }
    if ((rc = kc_read_file(o->file, OFFSETS_FILE_MAX, &text, &len)) != 0)
        return cli__admin_usage(a, "--offset-json-file %s: %s", o->file, kc_strerror(rc));
    rc = cli__parse_offsets_json(text, len, names, tps, n, why, sizeof(why));
    free(text);
    return rc ? cli__admin_usage(a, "--offset-json-file %s: %s", o->file, why) : CLI_OK;
}

static int delete_records(struct cli_admin *a, int argc, char **argv)
{
    static const struct cli_kleader_op op = {KP_API_DELETE_RECORDS, 0, 2, delete_records_build,
                                             delete_records_take};
    struct records_opts o = {0};
    struct kp_arena names;
    struct cli_ktp *tps = NULL;
    size_t n = 0;
    char *pos[1];
    int npos, rc;
    const struct cli_opt opts[] = {{"offset-json-file", &o.file, NULL, NULL},
                                   {"topic", &o.topic, NULL, NULL},
                                   {"partition", &o.partition, NULL, NULL},
                                   {"offset", &o.offset, NULL, NULL},
                                   {NULL, NULL, NULL, NULL}};
    if ((rc = cli__admin_args(a, argc, argv, opts, pos, 0, 0, &npos)) || a->help)
        return rc;
    kp_arena_init(&names, 0);
    if ((rc = records_targets(a, &o, &names, &tps, &n)) == CLI_OK &&
        (rc = cli__admin_open(a)) == CLI_OK &&
        (rc = cli__kafka_by_leader(&a->k, tps, n, &op)) == CLI_OK)
        rc = records_print(a, tps, n);
    free(tps);
    kp_arena_fini(&names);
    return rc;
}

static const struct cli_verb records_verbs[] = {
    {"", "--topic T --partition P --offset O | --offset-json-file F",
     "delete the records before an offset (the log start moves there; -1: the high watermark)",
     "--offset-json-file F  Kafka's format: {\"partitions\": [{\"topic\": \"t\", "
     "\"partition\": 0,\n"
     "                      \"offset\": 3}], \"version\": 1}",
     delete_records},
};

const struct cli_family cli__records_family = {"delete-records", "kafka-delete-records.sh",
                                               records_verbs, KC_ARRAY_SIZE(records_verbs)};
