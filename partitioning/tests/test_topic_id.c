/* test_topic_id.c - topic ids: made with the topic, kept in partition.metadata as Kafka
 * keeps them, the same after a restart, given to old topics, refused when they disagree,
 * and replaced by a cluster's id (part_topic_id_adopt), durably and crash-safely. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kc_common.h"
#include "kc_test.h"
#include "part.h"

struct fx {
    char *dir;
    int fds;
};

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    fx->fds = kc_test_fd_count();
    fx->dir = kc_test_tmpdir();
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    kc_test_rmdir(fx->dir);
    assert_int_equal(kc_test_fd_count(), fx->fds); /* every log closed */
    free(fx);
    return 0;
}

static struct part_registry *open_reg(const char *dir, char **log)
{
    struct part_registry *reg = NULL;
    struct kc_test_capture cap;
    if (log)
        kc_test_capture_start(&cap);
    int rc = part_registry_open(&reg, dir, NULL);
    if (log)
        *log = kc_test_capture_stop(&cap);
    assert_int_equal(rc, 0);
    return reg;
}

static const char *meta_path(const char *dir, const char *topic, int p)
{
    static char buf[PATH_MAX];
    snprintf(buf, sizeof(buf), "%s/%s-%d/partition.metadata", dir, topic, p);
    return buf;
}

/* The file's text ("" when missing); static buffer. */
static const char *meta_text(const char *dir, const char *topic, int p)
{
    static char buf[128];
    char *text;
    size_t len;
    if (kc_read_file(meta_path(dir, topic, p), sizeof(buf) - 1, &text, &len) != 0)
        return "";
    memcpy(buf, text, len + 1);
    free(text);
    return buf;
}

static void write_meta(const char *dir, const char *topic, int p, const char *text)
{
    assert_int_equal(kc_atomic_replace(meta_path(dir, topic, p), text, strlen(text)), 0);
}

static bool id_zero(const struct part_topic_id *id)
{
    static const struct part_topic_id zero;
    return memcmp(id, &zero, sizeof(zero)) == 0;
}

/* ---- the text form ------------------------------------------------------------------- */

static void test_topic_id_text_form_is_kafkas_base64url_without_padding(void **state)
{
    (void)state;
    struct part_topic_id id;
    char text[PART_TOPIC_ID_STR];
    for (int i = 0; i < 16; i++)
        id.b[i] = (uint8_t)i;
    part_topic_id_str(&id, text);
    assert_string_equal(text, "AAECAwQFBgcICQoLDA0ODw"); /* base64 of 00..0f, no "==" */
    memset(id.b, 0xff, sizeof(id.b));
    part_topic_id_str(&id, text);
    assert_string_equal(text, "_____________________w"); /* '_' for 63: the URL alphabet */
    id.b[0] = 0xfb;
    part_topic_id_str(&id, text);
    assert_int_equal(text[0], '-'); /* 62 */
}

static void test_topic_id_parse_reads_back_the_text_and_refuses_the_rest(void **state)
{
    (void)state;
    struct part_topic_id id, back;
    char text[PART_TOPIC_ID_STR];
    for (int i = 0; i < 16; i++)
        id.b[i] = (uint8_t)(i * 17 + 3);
    part_topic_id_str(&id, text);
    assert_int_equal(part_topic_id_parse(text, strlen(text), &back), 0);
    assert_memory_equal(&back, &id, sizeof(id));
    memset(&back, 0x5a, sizeof(back));
    for (size_t len = 0; len < strlen(text); len++) /* every truncated prefix */
        assert_int_equal(part_topic_id_parse(text, len, &back), KC_EMALFORMED);
    for (int i = 0; i < 16; i++)
        assert_int_equal(back.b[i], 0x5a); /* written only on success */
    char longer[32];
    snprintf(longer, sizeof(longer), "%sA", text);
    assert_int_equal(part_topic_id_parse(longer, strlen(longer), &back), KC_EMALFORMED);
    char bad[PART_TOPIC_ID_STR];
    memcpy(bad, text, sizeof(bad));
    bad[5] = '+'; /* the other base64 alphabet */
    assert_int_equal(part_topic_id_parse(bad, strlen(bad), &back), KC_EMALFORMED);
    memcpy(bad, text, sizeof(bad));
    bad[21] = 'B'; /* padding bits set: no 16-byte id prints so */
    assert_int_equal(part_topic_id_parse(bad, strlen(bad), &back), KC_EMALFORMED);
    assert_int_equal(part_topic_id_parse("AAAAAAAAAAAAAAAAAAAAAA", 22, &back), KC_EMALFORMED);
    assert_int_equal(part_topic_id_parse(NULL, 0, &back), KC_EMALFORMED);
}

/* ---- life of an id -------------------------------------------------------------------- */

static void test_topic_id_given_at_creation_is_the_topics_and_stays(void **state)
{
    struct fx *fx = *state;
    struct part_registry *reg = open_reg(fx->dir, NULL);
    struct part_topic *t;
    struct part_topic_id id;
    assert_int_equal(part_topic_id_parse("K7ZcM-bRSsOxBmyo8n1Gfg", 22, &id), 0);
    assert_int_equal(part_topic_create_as(reg, "ledger", 2, "retention.ms=1000\n", NULL, &id,
                                          &t), 0);
    assert_memory_equal(part_topic_id(t), &id, sizeof(id));
    for (int p = 0; p < 2; p++)
        assert_string_equal(meta_text(fx->dir, "ledger", p),
                            "version: 0\ntopic_id: K7ZcM-bRSsOxBmyo8n1Gfg\n");
    assert_ptr_equal(part_topic_find_id(reg, &id), t);
    assert_int_equal(part_registry_close(reg), 0);
    reg = open_reg(fx->dir, NULL);
    t = part_topic_find(reg, "ledger", 6);
    assert_non_null(t);
    assert_memory_equal(part_topic_id(t), &id, sizeof(id));
    assert_int_equal(part_registry_close(reg), 0);
}

static void test_topic_id_made_with_the_topic_in_every_partition_and_kept(void **state)
{
    struct fx *fx = *state;
    struct part_registry *reg = open_reg(fx->dir, NULL);
    struct part_topic *t, *u;
    assert_int_equal(part_topic_create(reg, "payments", 3, &t), 0);
    assert_int_equal(part_topic_create(reg, "logs", 1, &u), 0);
    struct part_topic_id id = *part_topic_id(t);
    assert_false(id_zero(&id));
    assert_int_equal(id.b[6] >> 4, 4); /* a version-4 UUID, as Kafka's Uuid.randomUuid */
    assert_memory_not_equal(&id, part_topic_id(u), sizeof(id));
    char text[PART_TOPIC_ID_STR], want[64];
    part_topic_id_str(&id, text);
    assert_true(text[0] != '-');
    snprintf(want, sizeof(want), "version: 0\ntopic_id: %s\n", text);
    for (int p = 0; p < 3; p++)
        assert_string_equal(meta_text(fx->dir, "payments", p), want);
    assert_ptr_equal(part_topic_find_id(reg, &id), t);
    assert_ptr_equal(part_topic_find_id(reg, part_topic_id(u)), u);
    assert_int_equal(part_registry_close(reg), 0);

    reg = open_reg(fx->dir, NULL); /* a restart: the same id, found by id */
    t = part_topic_find(reg, "payments", 8);
    assert_non_null(t);
    assert_memory_equal(part_topic_id(t), &id, sizeof(id));
    assert_ptr_equal(part_topic_find_id(reg, &id), t);
    struct part_topic_id other = id;
    other.b[15] ^= 1;
    assert_null(part_topic_find_id(reg, &other));
    assert_int_equal(part_registry_close(reg), 0);
}

static void test_topic_id_an_old_topic_without_files_gets_one_that_then_stays(void **state)
{
    struct fx *fx = *state;
    struct part_registry *reg = open_reg(fx->dir, NULL);
    assert_int_equal(part_topic_create(reg, "old", 2, NULL), 0);
    assert_int_equal(part_registry_close(reg), 0);
    for (int p = 0; p < 2; p++) /* as an older broker left it */
        assert_int_equal(unlink(meta_path(fx->dir, "old", p)), 0);

    char *log;
    reg = open_reg(fx->dir, &log);
    assert_non_null(strstr(log, "topic 'old' gets the new topic id"));
    free(log);
    struct part_topic *t = part_topic_find(reg, "old", 3);
    assert_non_null(t);
    struct part_topic_id id = *part_topic_id(t);
    assert_false(id_zero(&id));
    char text[PART_TOPIC_ID_STR];
    part_topic_id_str(&id, text);
    assert_non_null(strstr(meta_text(fx->dir, "old", 0), text));
    assert_string_equal(meta_text(fx->dir, "old", 0), meta_text(fx->dir, "old", 1));
    assert_int_equal(part_registry_close(reg), 0);

    reg = open_reg(fx->dir, NULL);
    assert_memory_equal(part_topic_id(part_topic_find(reg, "old", 3)), &id, sizeof(id));
    assert_int_equal(part_registry_close(reg), 0);
}

static void test_topic_id_a_missing_file_gets_the_id_the_others_hold(void **state)
{
    struct fx *fx = *state;
    struct part_registry *reg = open_reg(fx->dir, NULL);
    struct part_topic *t;
    assert_int_equal(part_topic_create(reg, "half", 3, &t), 0);
    struct part_topic_id id = *part_topic_id(t);
    assert_int_equal(part_registry_close(reg), 0);
    assert_int_equal(unlink(meta_path(fx->dir, "half", 0)), 0); /* a creation cut short */

    char *log;
    reg = open_reg(fx->dir, &log);
    assert_non_null(strstr(log, "keeps its topic id"));
    free(log);
    assert_memory_equal(part_topic_id(part_topic_find(reg, "half", 4)), &id, sizeof(id));
    assert_string_equal(meta_text(fx->dir, "half", 0), meta_text(fx->dir, "half", 2));
    assert_int_equal(part_registry_close(reg), 0);
}

/* A new file after a crash can be empty (its data never reached the disk): none. */
static void test_topic_id_an_empty_file_counts_as_missing(void **state)
{
    struct fx *fx = *state;
    struct part_registry *reg = open_reg(fx->dir, NULL);
    struct part_topic *t;
    assert_int_equal(part_topic_create(reg, "torn", 2, &t), 0);
    struct part_topic_id id = *part_topic_id(t);
    assert_int_equal(part_registry_close(reg), 0);
    write_meta(fx->dir, "torn", 1, "");

    reg = open_reg(fx->dir, NULL);
    assert_non_null(part_topic_find(reg, "torn", 4)); /* loaded, not damaged */
    assert_memory_equal(part_topic_id(part_topic_find(reg, "torn", 4)), &id, sizeof(id));
    assert_string_equal(meta_text(fx->dir, "torn", 1), meta_text(fx->dir, "torn", 0));
    assert_int_equal(part_registry_close(reg), 0);
}

/* A creation the crash interrupted (its marker still there): whatever id files it left,
 * even ones that disagree or hold garbage, were never durable as a whole; completing the
 * creation gives the topic one id in every directory. */
static void test_topic_id_a_completed_creation_ignores_the_files_it_left(void **state)
{
    struct fx *fx = *state;
    struct part_registry *reg = open_reg(fx->dir, NULL);
    assert_int_equal(part_topic_create(reg, "cut", 3, NULL), 0);
    assert_int_equal(part_registry_close(reg), 0);
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/cut~", fx->dir);
    assert_int_equal(kc_atomic_replace(path, "partitions=3\n", 13), 0);
    write_meta(fx->dir, "cut", 0, "version: 0\ntopic_id: AAECAwQFBgcICQoLDA0ODw\n");
    write_meta(fx->dir, "cut", 1, "vers\001\002");

    reg = open_reg(fx->dir, NULL);
    struct part_topic *t = part_topic_find(reg, "cut", 3);
    assert_non_null(t);
    assert_false(id_zero(part_topic_id(t)));
    assert_string_equal(meta_text(fx->dir, "cut", 0), meta_text(fx->dir, "cut", 1));
    assert_string_equal(meta_text(fx->dir, "cut", 0), meta_text(fx->dir, "cut", 2));
    assert_int_equal(part_registry_close(reg), 0);
}

static void test_topic_id_written_by_hand_is_read_back_byte_for_byte(void **state)
{
    struct fx *fx = *state;
    struct part_registry *reg = open_reg(fx->dir, NULL);
    assert_int_equal(part_topic_create(reg, "kafka", 2, NULL), 0);
    assert_int_equal(part_registry_close(reg), 0);
    write_meta(fx->dir, "kafka", 0, "version: 0\ntopic_id: AAECAwQFBgcICQoLDA0ODw\n");
    write_meta(fx->dir, "kafka", 1, "version: 0\ntopic_id: AAECAwQFBgcICQoLDA0ODw"); /* no \n */
    reg = open_reg(fx->dir, NULL);
    const struct part_topic_id *id = part_topic_id(part_topic_find(reg, "kafka", 5));
    for (int i = 0; i < 16; i++)
        assert_int_equal(id->b[i], i);
    assert_int_equal(part_registry_close(reg), 0);
}

/* Files that disagree, or that are not Kafka's format: the topic is damaged (reported,
 * not loaded, not re-created over), the others load. */
static void test_topic_id_disagreeing_or_bad_files_damage_only_their_topic(void **state)
{
    struct fx *fx = *state;
    static const char *const bad[] = {
        "version: 0\ntopic_id: AAECAwQFBgcICQoLDA0ODx\n", /* padding bits set */
        "version: 1\ntopic_id: AAECAwQFBgcICQoLDA0ODw\n", /* a version we do not know */
        "version: 0\ntopic_id: AAAAAAAAAAAAAAAAAAAAAA\n", /* the zero id means "none" */
        "version: 0\ntopic_id: AAECAwQFBgcICQoLDA0OD\n",  /* 21 characters */
        "version: 0\ntopic_id: AAECAwQFBgcICQoLDA0O+w\n", /* '+' is not URL-safe base64 */
        "version: 0\ntopic_id: _____________________w\n", /* valid, but not partition 0's */
    };
    struct part_registry *reg = open_reg(fx->dir, NULL);
    assert_int_equal(part_topic_create(reg, "good", 1, NULL), 0);
    assert_int_equal(part_topic_create(reg, "mixed", 2, NULL), 0);
    assert_int_equal(part_registry_close(reg), 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        write_meta(fx->dir, "mixed", 1, bad[i]);
        char *log;
        reg = open_reg(fx->dir, &log);
        assert_non_null(strstr(log, "mixed"));
        free(log);
        assert_null(part_topic_find(reg, "mixed", 5));
        assert_non_null(part_topic_find(reg, "good", 4));
        assert_int_equal(part_topic_create(reg, "mixed", 2, NULL), -EEXIST);
        assert_int_equal(part_registry_close(reg), 0);
    }
}

static void test_topic_id_many_topics_all_found_by_id(void **state)
{
    struct fx *fx = *state;
    enum { N = 130 }; /* past the index's first growth (64 buckets, 2 topics a bucket) */
    static struct part_topic_id ids[N];
    struct part_registry *reg = open_reg(fx->dir, NULL);
    for (int i = 0; i < N; i++) {
        char name[32];
        struct part_topic *t;
        snprintf(name, sizeof(name), "t%03d", i);
        assert_int_equal(part_topic_create(reg, name, 1, &t), 0);
        ids[i] = *part_topic_id(t);
    }
    for (int i = 0; i < N; i++) {
        struct part_topic *t = part_topic_find_id(reg, &ids[i]);
        char name[32];
        snprintf(name, sizeof(name), "t%03d", i);
        assert_non_null(t);
        assert_string_equal(part_topic_name(t), name);
    }
    assert_int_equal(part_registry_close(reg), 0);
}

/* ---- adoption: a cluster's id replaces the one a topic was made with ------------------- */

static const char *adopt_path(const char *dir, const char *topic)
{
    static char buf[PATH_MAX];
    snprintf(buf, sizeof(buf), "%s/%s-0/partition.metadata.adopt", dir, topic);
    return buf;
}

/* Every partition [0, n) of topic names id in its partition.metadata. */
static void assert_files_name(const char *dir, const char *topic, int n,
                              const struct part_topic_id *id)
{
    char text[PART_TOPIC_ID_STR], want[64];
    part_topic_id_str(id, text);
    snprintf(want, sizeof(want), "version: 0\ntopic_id: %s\n", text);
    for (int p = 0; p < n; p++)
        assert_string_equal(meta_text(dir, topic, p), want);
}

static void test_topic_id_adopted_replaces_the_old_one_everywhere_and_stays(void **state)
{
    struct fx *fx = *state;
    struct part_registry *reg = open_reg(fx->dir, NULL);
    struct part_topic *t, *u;
    assert_int_equal(part_topic_create(reg, "__consumer_offsets", 3, &t), 0);
    assert_int_equal(part_topic_create(reg, "other", 1, &u), 0);
    const struct part_topic_id *before = part_topic_id(t);
    struct part_topic_id old = *before, cluster, other = *part_topic_id(u);
    assert_int_equal(part_topic_id_parse("K7ZcM-bRSsOxBmyo8n1Gfg", 22, &cluster), 0);
    assert_int_equal(part_topic_id_adopt(reg, t, &cluster), 0);
    assert_memory_equal(part_topic_id(t), &cluster, sizeof(cluster));
    assert_memory_equal(before, &old, sizeof(old)); /* a pointer handed out stays as it was */
    assert_ptr_equal(part_topic_find_id(reg, &cluster), t);
    assert_null(part_topic_find_id(reg, &old));
    assert_ptr_equal(part_topic_find_id(reg, &other), u); /* the index is otherwise intact */
    assert_files_name(fx->dir, "__consumer_offsets", 3, &cluster);
    assert_int_equal(access(adopt_path(fx->dir, "__consumer_offsets"), F_OK), -1);
    assert_int_equal(part_topic_id_adopt(reg, t, &cluster), 0); /* again: nothing to do */
    assert_int_equal(part_topic_grow(reg, t, 4), 0); /* new partitions get the adopted id */
    assert_files_name(fx->dir, "__consumer_offsets", 4, &cluster);
    assert_int_equal(part_registry_close(reg), 0);

    reg = open_reg(fx->dir, NULL); /* a restart keeps it */
    t = part_topic_find(reg, "__consumer_offsets", 18);
    assert_non_null(t);
    assert_memory_equal(part_topic_id(t), &cluster, sizeof(cluster));
    assert_ptr_equal(part_topic_find_id(reg, &cluster), t);
    assert_null(part_topic_find_id(reg, &old));
    assert_int_equal(part_registry_close(reg), 0);
}

static void test_topic_id_adopt_refuses_no_id_and_another_topics(void **state)
{
    struct fx *fx = *state;
    struct part_registry *reg = open_reg(fx->dir, NULL);
    struct part_topic *t, *u;
    assert_int_equal(part_topic_create(reg, "offsets", 2, &t), 0);
    assert_int_equal(part_topic_create(reg, "other", 1, &u), 0);
    struct part_topic_id old = *part_topic_id(t), zero;
    memset(&zero, 0, sizeof(zero));
    assert_int_equal(part_topic_id_adopt(reg, t, &zero), -EINVAL); /* ZERO_UUID: "none" */
    assert_int_equal(part_topic_id_adopt(reg, t, NULL), -EINVAL);
    assert_int_equal(part_topic_id_adopt(reg, t, part_topic_id(u)), -EEXIST);
    assert_memory_equal(part_topic_id(t), &old, sizeof(old)); /* nothing changed */
    assert_ptr_equal(part_topic_find_id(reg, &old), t);
    assert_files_name(fx->dir, "offsets", 2, &old);
    assert_int_equal(part_registry_close(reg), 0);
}

/* A stop after the commit point (the .adopt file durable), with one partition's file
 * rewritten and not the others: the open finishes it. An empty .adopt file (its data never
 * reached the disk) changes nothing. */
static void test_topic_id_an_interrupted_adoption_is_finished_at_open(void **state)
{
    struct fx *fx = *state;
    static const char cluster_text[] = "version: 0\ntopic_id: K7ZcM-bRSsOxBmyo8n1Gfg\n";
    struct part_topic_id cluster;
    assert_int_equal(part_topic_id_parse("K7ZcM-bRSsOxBmyo8n1Gfg", 22, &cluster), 0);
    struct part_registry *reg = open_reg(fx->dir, NULL);
    struct part_topic *t;
    assert_int_equal(part_topic_create(reg, "offsets", 3, &t), 0);
    struct part_topic_id old = *part_topic_id(t);
    assert_int_equal(part_registry_close(reg), 0);

    const char *adopt = adopt_path(fx->dir, "offsets");
    assert_int_equal(kc_atomic_replace(adopt, "", 0), 0);
    reg = open_reg(fx->dir, NULL);
    assert_memory_equal(part_topic_id(part_topic_find(reg, "offsets", 7)), &old, sizeof(old));
    assert_int_equal(access(adopt, F_OK), -1);
    assert_int_equal(part_registry_close(reg), 0);

    assert_int_equal(kc_atomic_replace(adopt, cluster_text, strlen(cluster_text)), 0);
    write_meta(fx->dir, "offsets", 1, cluster_text);
    char *log;
    reg = open_reg(fx->dir, &log);
    assert_non_null(strstr(log, "finishing an adoption"));
    free(log);
    t = part_topic_find(reg, "offsets", 7);
    assert_non_null(t);
    assert_memory_equal(part_topic_id(t), &cluster, sizeof(cluster));
    assert_ptr_equal(part_topic_find_id(reg, &cluster), t);
    assert_files_name(fx->dir, "offsets", 3, &cluster);
    assert_int_equal(access(adopt, F_OK), -1);
    assert_int_equal(part_registry_close(reg), 0);
}

/* Readers on other threads (the Kafka door's Metadata and Fetch) during adoptions: each
 * copy of the id is the old one or a new one, never a mix, and the topic is found by
 * whichever id its copy shows or by the next one. Run under `make tsan` too. */
struct reader {
    struct part_registry *reg;
    struct part_topic *t;
    const struct part_topic_id *ids; /* [n]: every id t has, in the order it takes them */
    int n;
    _Atomic bool stop;
    _Atomic long bad; /* counted, not asserted: cmocka fails only on the main thread */
};

static int id_index(const struct reader *r, const struct part_topic_id *id)
{
    for (int i = 0; i < r->n; i++)
        if (memcmp(id, &r->ids[i], sizeof(*id)) == 0)
            return i;
    return -1;
}

static void *read_ids(void *arg)
{
    struct reader *r = arg;
    while (!atomic_load(&r->stop)) {
        struct part_topic_id seen = *part_topic_id(r->t);
        int k = id_index(r, &seen);
        if (k < 0) { /* torn: neither */
            atomic_fetch_add(&r->bad, 1);
            continue;
        }
        /* Not found by the id just copied only if t has moved on to a later one since. */
        if (part_topic_find_id(r->reg, &seen) != r->t && id_index(r, part_topic_id(r->t)) <= k)
            atomic_fetch_add(&r->bad, 1);
    }
    return NULL;
}

static void test_topic_id_readers_see_the_old_or_the_new_never_a_mix(void **state)
{
    struct fx *fx = *state;
    enum { N = 4 };
    struct part_registry *reg = open_reg(fx->dir, NULL);
    struct part_topic *t;
    assert_int_equal(part_topic_create(reg, "offsets", 2, &t), 0);
    struct part_topic_id ids[N] = {*part_topic_id(t)};
    for (int i = 1; i < N; i++)
        for (int b = 0; b < 16; b++)
            ids[i].b[b] = (uint8_t)(ids[0].b[b] ^ (0x11 * i)); /* every byte differs */
    struct reader r = {.reg = reg, .t = t, .ids = ids, .n = N};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, read_ids, &r), 0);
    for (int i = 1; i < N; i++)
        assert_int_equal(part_topic_id_adopt(reg, t, &ids[i]), 0);
    atomic_store(&r.stop, true);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    assert_int_equal(atomic_load(&r.bad), 0);
    assert_memory_equal(part_topic_id(t), &ids[N - 1], sizeof(ids[0]));
    for (int i = 0; i < N - 1; i++)
        assert_null(part_topic_find_id(reg, &ids[i]));
    assert_files_name(fx->dir, "offsets", 2, &ids[N - 1]);
    assert_int_equal(part_registry_close(reg), 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_topic_id_text_form_is_kafkas_base64url_without_padding),
        cmocka_unit_test(test_topic_id_parse_reads_back_the_text_and_refuses_the_rest),
        T(test_topic_id_given_at_creation_is_the_topics_and_stays),
        T(test_topic_id_made_with_the_topic_in_every_partition_and_kept),
        T(test_topic_id_an_old_topic_without_files_gets_one_that_then_stays),
        T(test_topic_id_a_missing_file_gets_the_id_the_others_hold),
        T(test_topic_id_an_empty_file_counts_as_missing),
        T(test_topic_id_a_completed_creation_ignores_the_files_it_left),
        T(test_topic_id_written_by_hand_is_read_back_byte_for_byte),
        T(test_topic_id_disagreeing_or_bad_files_damage_only_their_topic),
        T(test_topic_id_many_topics_all_found_by_id),
        T(test_topic_id_adopted_replaces_the_old_one_everywhere_and_stays),
        T(test_topic_id_adopt_refuses_no_id_and_another_topics),
        T(test_topic_id_an_interrupted_adoption_is_finished_at_open),
        T(test_topic_id_readers_see_the_old_or_the_new_never_a_mix),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
