/*
 * test_0102_kafka_group.c - kcat consumer groups (-G) against the broker's coordinator:
 * two members split the partitions, the survivor takes them all when one leaves, their
 * commits are what kafka_cli shows (one offsets store for both protocols), and a new
 * member resumes from those commits after the broker restarts. Bad group requests get
 * Kafka's error codes.
 *
 * Timing: librdkafka's session timeout is set to the broker's minimum (6 s) and its
 * heartbeat to 300 ms, so a member learns of a rebalance within a fraction of a second;
 * a new group still waits Kafka's group.initial.rebalance.delay.ms (3 s) for more members.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kafka/kt.h"

#define PARTS 4
#define TOPIC "gt"
#define GROUP "cg"

static int setup(void **state)
{
    kt_require("kcat", "kcat");
    return kb_setup_started(state);
}

/* A kcat -G member; extra: one more argument (e.g. "-e"), or NULL. */
static void member_start(const struct kb_broker *b, struct kt_proc *p, const char *extra)
{
    const char *argv[] = {"kcat", "-b", kt_addr(b), "-G", GROUP, TOPIC, "-u", "-f",
                          "%p %o %s\n", "-X", "session.timeout.ms=6000", "-X",
                          "heartbeat.interval.ms=300", "-X", "auto.offset.reset=earliest",
                          "-X", "auto.commit.interval.ms=200", extra, NULL};
    kt_spawn(b, p, argv, NULL, 0, NULL, NULL);
}

/* The member's current assignment from its stderr ("% Group cg rebalanced (memberid m):
 * assigned: gt [0], gt [2]" or "...: revoked: ..."): a bit mask, -1 before the first. */
static int assignment(const struct kt_proc *p)
{
    char *err = kt_slurp(p->err, NULL);
    char *line = NULL;
    for (char *at = strstr(err, "rebalanced ("); at; at = strstr(at + 1, "rebalanced ("))
        line = at;
    int mask = -1;
    if (line) {
        char *end = strchr(line, '\n');
        if (end)
            *end = '\0';
        mask = 0;
        for (char *br = strstr(line, "assigned:") ? strchr(line, '[') : NULL; br;
             br = strchr(br + 1, '['))
            mask |= 1 << atoi(br + 1);
    }
    free(err);
    return mask;
}

/* Distinct (partition, offset) pairs a set of members printed; *max gets the highest
 * offset seen per partition. */
static int consumed(const struct kt_proc *const *ps, int n, int64_t max[PARTS])
{
    static bool seen[PARTS][1000];
    int count = 0;
    memset(seen, 0, sizeof(seen));
    for (int p = 0; max && p < PARTS; p++)
        max[p] = -1;
    for (int i = 0; i < n; i++) {
        char *out = kt_slurp(ps[i]->out, NULL);
        for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
            int part = atoi(line);
            int64_t off = atoll(strchr(line, ' ') ? strchr(line, ' ') + 1 : "-1");
            assert_true(part >= 0 && part < PARTS && off >= 0 && off < 1000);
            count += !seen[part][off];
            seen[part][off] = true;
            if (max && off > max[part])
                max[part] = off;
        }
        free(out);
    }
    return count;
}

struct pair {
    const struct kt_proc *a, *b;
    int want_a; /* -1: any split */
    int records;
};

static bool split_done(void *arg)
{
    struct pair *pr = arg;
    int a = assignment(pr->a), b = pr->b ? assignment(pr->b) : 0;
    if (a < 0 || b < 0 || (a & b) || (a | b) != (1 << PARTS) - 1)
        return false;
    return pr->b ? a != 0 && b != 0 : true;
}

static bool all_consumed(void *arg)
{
    struct pair *pr = arg;
    const struct kt_proc *ps[] = {pr->a, pr->b};
    return consumed(ps, pr->b ? 2 : 1, NULL) >= pr->records;
}

static void produce(const struct kb_broker *b, int from, int n)
{
    char *out, *err, line[64];
    struct kc_writer in;
    kc_writer_init(&in, 0);
    for (int i = from; i < from + n; i++)
        kc_write_raw(&in, line, (size_t)snprintf(line, sizeof(line), "k%d:v%d\n", i, i));
    const char *argv[] = {"kcat", "-b", kt_addr(b), "-P", "-t", TOPIC, "-K:", NULL};
    assert_int_equal(kt_run(b, argv, kc_writer_data(&in), kc_writer_len(&in), 30000, &out,
                            NULL, &err), 0);
    free(out);
    free(err);
    kc_writer_fini(&in);
}

/* kafka_cli 4 GROUP TOPIC p, for every partition. */
static void committed(const struct kb_broker *b, int64_t off[PARTS])
{
    for (int p = 0; p < PARTS; p++) {
        char *out, *err, part[16];
        snprintf(part, sizeof(part), "%d", p);
        const char *args[] = {"4", GROUP, TOPIC, part, NULL};
        assert_int_equal(kb_cli(b, NULL, &out, &err, args), 0);
        off[p] = atoll(out);
        free(out);
        free(err);
    }
}

static void test_0102_members_split_rebalance_commit_resume(void **state)
{
    struct kb_broker *b = *state;
    struct kt_proc a, bb, c;
    char *out, *err;
    int64_t max[PARTS], before[PARTS], after[PARTS];
    const char *create[] = {"0", TOPIC, "4", NULL};
    assert_int_equal(kb_cli(b, NULL, &out, &err, create), 0);
    free(out);
    free(err);
    produce(b, 0, 200);

    int64_t t0 = kc_mono_ms();
    member_start(b, &a, NULL);
    struct pair alone = {&a, NULL, -1, 0};
    assert_true(kt_until(split_done, &alone, 20000));
    printf("# one member assigned everything after %lld ms\n", (long long)(kc_mono_ms() - t0));
    t0 = kc_mono_ms();
    member_start(b, &bb, NULL);
    struct pair both = {&a, &bb, -1, 200};
    assert_true(kt_until(split_done, &both, 20000));
    printf("# two members split the partitions (%#x / %#x) after %lld ms\n", assignment(&a),
           assignment(&bb), (long long)(kc_mono_ms() - t0));
    assert_true(kt_until(all_consumed, &both, 20000));

    t0 = kc_mono_ms();
    assert_int_equal(kt_stop(&bb, 20000), 0); /* commits and leaves the group */
    assert_true(kt_until(split_done, &alone, 20000));
    printf("# the survivor took every partition %lld ms after the other left\n",
           (long long)(kc_mono_ms() - t0));
    produce(b, 200, 100);
    struct pair rest = {&a, &bb, -1, 300};
    assert_true(kt_until(all_consumed, &rest, 20000));
    assert_int_equal(kt_stop(&a, 20000), 0);

    /* What the group committed is what the native protocol reads: every record consumed. */
    const struct kt_proc *ps[] = {&a, &bb};
    assert_int_equal(consumed(ps, 2, max), 300);
    committed(b, before);
    for (int p = 0; p < PARTS; p++)
        assert_int_equal(before[p], max[p] + 1);

    kb_stop(b);
    kb_start(b, NULL);
    committed(b, after);
    assert_memory_equal(before, after, sizeof(before)); /* durable across the restart */

    produce(b, 300, 60);
    member_start(b, &c, "-e");
    assert_int_equal(kt_wait(&c, 30000), 0); /* exits at the end of every partition */
    const struct kt_proc *pc[] = {&c};
    assert_int_equal(consumed(pc, 1, NULL), 60); /* only the new ones: resumed at commits */
    out = kt_slurp(c.out, NULL);
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n"))
        assert_true(atoll(strchr(line, ' ') + 1) >= after[atoi(line)]);
    free(out);
}

/* The group APIs' error codes, seen through a raw connection. */
static int16_t heartbeat(int fd, const char *group, int32_t gen, const char *member)
{
    struct kc_writer w;
    struct kc_reader r;
    uint8_t buf[256];
    int32_t throttle;
    int16_t err;
    kc_writer_init(&w, 0);
    size_t at = kt_req_begin(&w, KP_API_HEARTBEAT, 3, 9);
    kc_write_cstr(&w, group);
    kc_write_i32(&w, gen);
    kc_write_cstr(&w, member);
    kc_write_cstr(&w, NULL); /* group_instance_id */
    kt_req_end(&w, at);
    ssize_t n = kt_roundtrip(fd, &w, buf, sizeof(buf));
    kt_body(&r, buf, n);
    assert_int_equal(kc_read_i32(&r, &throttle), 0);
    assert_int_equal(kc_read_i16(&r, &err), 0);
    kc_writer_fini(&w);
    return err;
}

/* JoinGroup v5 with member "": MEMBER_ID_REQUIRED and an id; with it, generation 1. */
static void join(int fd, const char *member, int16_t *err, int32_t *gen, char *id, size_t cap)
{
    struct kc_writer w;
    struct kc_reader r;
    uint8_t buf[1024];
    int32_t throttle;
    struct kc_slice proto, leader, mid;
    kc_writer_init(&w, 0);
    size_t at = kt_req_begin(&w, KP_API_JOIN_GROUP, 5, 3);
    kc_write_cstr(&w, "raw");
    kc_write_i32(&w, 6000);   /* session */
    kc_write_i32(&w, 10000);  /* rebalance */
    kc_write_cstr(&w, member);
    kc_write_cstr(&w, NULL);
    kc_write_cstr(&w, "consumer");
    kc_write_i32(&w, 1);
    kc_write_cstr(&w, "range");
    kc_write_bytes(&w, "meta", 4);
    kt_req_end(&w, at);
    ssize_t n = kt_roundtrip(fd, &w, buf, sizeof(buf));
    kt_body(&r, buf, n);
    assert_int_equal(kc_read_i32(&r, &throttle), 0);
    assert_int_equal(kc_read_i16(&r, err), 0);
    assert_int_equal(kc_read_i32(&r, gen), 0);
    assert_int_equal(kc_read_str(&r, &proto), 0);
    assert_int_equal(kc_read_str(&r, &leader), 0);
    assert_int_equal(kc_read_str(&r, &mid), 0);
    snprintf(id, cap, "%.*s", (int)mid.len, mid.p);
    kc_writer_fini(&w);
}

static void test_0102_group_errors_are_kafkas(void **state)
{
    struct kb_broker *b = *state;
    char id[256], id2[256];
    int16_t err;
    int32_t gen;
    int fd = kb_connect(b);
    assert_int_equal(heartbeat(fd, "raw", 1, "nobody"), KP_ERR_UNKNOWN_MEMBER_ID);
    join(fd, "", &err, &gen, id, sizeof(id));
    assert_int_equal(err, KP_ERR_MEMBER_ID_REQUIRED);
    assert_true(strncmp(id, "kt-", 3) == 0); /* client_id-uuid, as Kafka names members */
    int64_t t0 = kc_mono_ms();
    join(fd, id, &err, &gen, id2, sizeof(id2)); /* waits out the initial delay (3 s) */
    assert_int_equal(err, 0);
    assert_int_equal(gen, 1);
    assert_string_equal(id, id2);
    printf("# first join completed after %lld ms (group.initial.rebalance.delay.ms)\n",
           (long long)(kc_mono_ms() - t0));
    assert_int_equal(heartbeat(fd, "raw", 2, id), KP_ERR_ILLEGAL_GENERATION);
    /* CompletingRebalance: no SyncGroup yet. Heartbeats are fine (Kafka's order). */
    assert_int_equal(heartbeat(fd, "raw", 1, id), KP_ERR_NONE);
    assert_int_equal(heartbeat(fd, "", 1, id), KP_ERR_INVALID_GROUP_ID);
    close(fd); /* a member that goes silent is expired after its session (6 s) */
    kt_assert_serving(b);
}

/* A JoinGroup parked when its connection dies is withdrawn: nothing is answered to a
 * freed connection, and a second member's join still completes. */
static void test_0102_parked_join_of_a_closed_connection_is_forgotten(void **state)
{
    struct kb_broker *b = *state;
    char id[256], id2[256];
    int16_t err;
    int32_t gen;
    struct kc_writer w;
    int fd = kb_connect(b);
    join(fd, "", &err, &gen, id, sizeof(id));
    assert_int_equal(err, KP_ERR_MEMBER_ID_REQUIRED);
    kc_writer_init(&w, 0);
    size_t at = kt_req_begin(&w, KP_API_JOIN_GROUP, 5, 4);
    kc_write_cstr(&w, "raw");
    kc_write_i32(&w, 6000);
    kc_write_i32(&w, 10000);
    kc_write_cstr(&w, id);
    kc_write_cstr(&w, NULL);
    kc_write_cstr(&w, "consumer");
    kc_write_i32(&w, 1);
    kc_write_cstr(&w, "range");
    kc_write_bytes(&w, "m", 1);
    kt_req_end(&w, at);
    kb_send(fd, kc_writer_data(&w), kc_writer_len(&w));
    kc_sleep_ms(300); /* parked in the initial delay */
    close(fd);
    kc_writer_fini(&w);
    int fd2 = kb_connect(b);
    join(fd2, "", &err, &gen, id2, sizeof(id2));
    assert_int_equal(err, KP_ERR_MEMBER_ID_REQUIRED);
    join(fd2, id2, &err, &gen, id2, sizeof(id2));
    assert_int_equal(err, 0);
    close(fd2);
    kt_assert_serving(b);
}

/* The broker stops promptly with a JoinGroup parked for a long rebalance, and the parked
 * member is told to find its coordinator again (15), not left without an answer. */
static void test_0102_shutdown_answers_parked_joins(void **state)
{
    struct kb_broker *b = *state;
    char id[256], id2[256];
    int16_t err;
    int32_t gen;
    uint8_t buf[512];
    struct kc_writer w;
    struct kc_reader r;
    int fd = kb_connect(b), fd2 = kb_connect(b);
    join(fd, "", &err, &gen, id, sizeof(id));
    join(fd, id, &err, &gen, id, sizeof(id)); /* generation 1, after the initial delay */
    assert_int_equal(err, 0);
    join(fd2, "", &err, &gen, id2, sizeof(id2));
    assert_int_equal(err, KP_ERR_MEMBER_ID_REQUIRED);
    kc_writer_init(&w, 0);
    size_t at = kt_req_begin(&w, KP_API_JOIN_GROUP, 5, 99);
    kc_write_cstr(&w, "raw");
    kc_write_i32(&w, 6000);
    kc_write_i32(&w, 60000); /* the rebalance waits up to 60 s for the first member */
    kc_write_cstr(&w, id2);
    kc_write_cstr(&w, NULL);
    kc_write_cstr(&w, "consumer");
    kc_write_i32(&w, 1);
    kc_write_cstr(&w, "range");
    kc_write_bytes(&w, "m", 1);
    kt_req_end(&w, at);
    kb_send(fd2, kc_writer_data(&w), kc_writer_len(&w));
    kc_sleep_ms(300); /* parked */
    int64_t t0 = kc_mono_ms();
    kb_stop(b);
    int64_t took = kc_mono_ms() - t0;
    printf("# stopped in %lld ms with a JoinGroup parked\n", (long long)took);
    assert_true(took < 5000); /* not the 10 s shutdown.timeout.ms, not the rebalance */
    ssize_t n = kb_recv_frame(fd2, buf, sizeof(buf));
    assert_true(n > 0);
    assert_int_equal(kc_load_be32(buf + 4), 99);
    kt_body(&r, buf, n);
    assert_int_equal(kt_i32(&r), 0);
    assert_int_equal(kt_i16(&r), KP_ERR_COORDINATOR_NOT_AVAILABLE);
    kc_writer_fini(&w);
    close(fd);
    close(fd2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_0102_members_split_rebalance_commit_resume, setup,
                                        kb_teardown),
        cmocka_unit_test_setup_teardown(test_0102_group_errors_are_kafkas, setup, kb_teardown),
        cmocka_unit_test_setup_teardown(test_0102_parked_join_of_a_closed_connection_is_forgotten,
                                        setup, kb_teardown),
        cmocka_unit_test_setup_teardown(test_0102_shutdown_answers_parked_joins, setup,
                                        kb_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
