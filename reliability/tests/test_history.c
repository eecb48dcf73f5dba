/*
 * test_history.c - the queue-history checker (rel_history.h): the text format, every
 * anomaly from a small history written by hand, and a model: random correct histories of
 * producers and consumers over a model log are judged clean, and each one then broken in
 * one way is judged guilty of exactly that.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rel.h"
#include "rel_history.h"

/* Judge the lines of text; assert it parses and checks. */
static void judge(const char *text, struct rel_hist_result *r)
{
    struct rel_hist h;
    char err[256] = "", line[256];
    rel_hist_init(&h);
    for (const char *p = text; *p;) {
        size_t n = strcspn(p, "\n");
        assert_true(n < sizeof(line));
        memcpy(line, p, n);
        line[n] = '\0';
        int rc = rel_hist_add_line(&h, line, err, sizeof(err));
        if (rc)
            fail_msg("'%s': %s", line, err);
        p += n + (p[n] == '\n');
    }
    int rc = rel_hist_check(&h, r, err, sizeof(err));
    if (rc)
        fail_msg("check: %s", err);
    rel_hist_fini(&h);
}

/* Only kind k, n times (k = REL_HIST_NKINDS: none at all). */
static void expect_only(const struct rel_hist_result *r, enum rel_hist_kind k, int64_t n)
{
    for (int i = 0; i < REL_HIST_NKINDS; i++)
        if (r->count[i] != (i == (int)k ? n : 0)) {
            rel_hist_print(r, stderr);
            fail_msg("%s: %lld, expected %lld", rel_hist_kind_name(i), (long long)r->count[i],
                     (long long)(i == (int)k ? n : 0));
        }
}

static const char *clean = "# two producers, one consumer, a drain\n"
                           "send 1 0 100\nsend 2 0 200\nok 1 0 100 0\nok 2 0 200 1\n"
                           "send 1 0 101\ninfo 1 0 101\nsend 1 1 102\nfail 1 1 102\n"
                           "seek 9 0 0\npoll 9 0 0 100\npoll 9 0 1 200\n"
                           "\n"
                           "drain 0 2\n";

static void test_history_clean_history_no_anomaly(void **state)
{
    (void)state;
    struct rel_hist_result r;
    judge(clean, &r);
    expect_only(&r, REL_HIST_NKINDS, 0);
    assert_int_equal(r.sends, 4);
    assert_int_equal(r.acked, 2);
    assert_int_equal(r.failed, 1);
    assert_int_equal(r.indeterminate, 1);
    assert_int_equal(r.polls, 2);
    assert_int_equal(r.keys, 2);
}

static void test_history_each_anomaly_found(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        enum rel_hist_kind kind;
    } cases[] = {
        /* acknowledged at 1, the consumer read 0 and 2: 1 was never read */
        {"send 1 0 10\nsend 1 0 11\nsend 1 0 12\nok 1 0 10 0\nok 1 0 11 1\nok 1 0 12 2\n"
         "seek 9 0 0\npoll 9 0 0 10\npoll 9 0 2 12\n", REL_HIST_LOST},
        /* acknowledged at 3, the log ends at 2 */
        {"send 1 0 10\nok 1 0 10 3\ndrain 0 2\n", REL_HIST_LOST},
        /* 10 read at two offsets */
        {"send 1 0 10\nok 1 0 10 0\npoll 9 0 0 10\npoll 8 0 1 10\n", REL_HIST_DUPLICATE},
        /* offset 0 holds 10 for one reader, 11 for another */
        {"send 1 0 10\nsend 1 0 11\npoll 9 0 0 10\npoll 8 0 0 11\n", REL_HIST_INCONSISTENT},
        {"send 1 0 10\nsend 1 0 11\npoll 9 0 1 11\npoll 9 0 0 10\n", REL_HIST_NONMONOTONIC},
        /* 9 went from 0 to 2; 8 read offset 1 */
        {"send 1 0 10\nsend 1 0 11\nsend 1 0 12\npoll 9 0 0 10\npoll 9 0 2 12\npoll 8 0 1 11\n",
         REL_HIST_SKIP},
        /* a seek to 0, then 1: offset 0 exists */
        {"send 1 0 10\nsend 1 0 11\npoll 8 0 0 10\nseek 9 0 0\npoll 9 0 1 11\n", REL_HIST_SKIP},
        {"send 1 0 10\npoll 9 0 0 77\n", REL_HIST_PHANTOM},
        /* sent to key 1, read in key 0 */
        {"send 1 1 10\npoll 9 0 0 10\n", REL_HIST_PHANTOM},
        {"send 1 0 10\nfail 1 0 10\npoll 9 0 0 10\n", REL_HIST_FAILED_READ},
        {"send 1 0 10\nsend 1 0 11\nok 1 0 11 0\nok 1 0 10 1\n", REL_HIST_REORDERED},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct rel_hist_result r;
        judge(cases[i].text, &r);
        expect_only(&r, cases[i].kind, 1);
        assert_true(strlen(r.example[cases[i].kind][0]) > 0);
    }
}

static void test_history_seek_resets_order_no_anomaly(void **state)
{
    (void)state;
    struct rel_hist_result r;
    /* a rebalance: the consumer goes back to 0 and reads again; an unread value outside
     * every range read is not lost; an indeterminate value read is counted */
    judge("send 1 0 10\nsend 1 0 11\nsend 1 0 12\nok 1 0 10 0\nok 1 0 11 1\ninfo 1 0 12\n"
          "send 1 0 13\nok 1 0 13 3\n"
          "poll 9 0 0 10\npoll 9 0 1 11\nseek 9 0 0\npoll 9 0 0 10\npoll 9 0 1 11\n"
          "poll 9 0 2 12\n",
          &r);
    expect_only(&r, REL_HIST_NKINDS, 0);
    assert_int_equal(r.indeterminate_read, 1);
}

/* Keys are partition numbers up to 2^31 - 1: nothing is sized by the largest (a fuzzer's
 * "ok 1 666666666 0 11" once asked for gigabytes). */
static void test_history_large_keys_no_anomaly(void **state)
{
    (void)state;
    struct rel_hist_result r;
    judge("send 1 2147483647 5\nok 1 2147483647 5 0\nseek 2 2147483647 0\n"
          "poll 2 2147483647 0 5\ndrain 2147483647 1\nsend 1 0 6\nok 1 0 6 0\n",
          &r);
    expect_only(&r, REL_HIST_NKINDS, 0);
    assert_int_equal(r.keys, 2);
}

/* Lines that must be refused, and why. */
static void test_history_bad_lines_refused(void **state)
{
    (void)state;
    static const char *bad[] = {
        "sned 1 0 10", "send 1 0", "send 1 0 10 4", "ok 1 0 10", "poll 9 -1 0 10",
        "poll 9 0 -5 10", "send x 0 10", "send 1 0 99999999999999999999", "seek 1 2147483648 0",
        "drain 0", "send 1 0 1x", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 1 2 3",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct rel_hist h;
        char err[256] = "";
        rel_hist_init(&h);
        assert_int_equal(rel_hist_add_line(&h, "# a comment", err, sizeof(err)), 0);
        assert_int_equal(rel_hist_add_line(&h, "   ", err, sizeof(err)), 0);
        int rc = rel_hist_add_line(&h, bad[i], err, sizeof(err));
        if (rc != -EINVAL)
            fail_msg("'%s' accepted", bad[i]);
        assert_non_null(strstr(err, "line 3"));
        assert_int_equal(h.n, 0);
        rel_hist_fini(&h);
    }
}

/* The error's name on fail and info lines: optional, one word of [A-Za-z0-9_] under 48
 * characters, on those two ops only; a name kept once however often it comes. */
static void test_history_error_names_parsed_or_refused(void **state)
{
    (void)state;
    static const char *bad[] = {
        "fail 1 0 10 NOT-LEADER", "fail 1 0 10 NOT_LEADER extra", "info 1 0 10 é",
        "fail 1 0 10 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", /* 48 */
        "fail 1 0 10 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "ok 1 0 10 5 NOT_LEADER", "send 1 0 10 ERR", "poll 9 0 0 10 ERR", "drain 0 5 ERR",
    };
    struct rel_hist h;
    char err[256] = "";
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        rel_hist_init(&h);
        if (rel_hist_add_line(&h, bad[i], err, sizeof(err)) != -EINVAL)
            fail_msg("'%s' accepted", bad[i]);
        assert_non_null(strstr(err, "line 1"));
        assert_int_equal(h.n, 0);
        assert_int_equal(h.nerrs, 0); /* a refused line registers no name */
        rel_hist_fini(&h);
    }
    rel_hist_init(&h);
    assert_int_equal(rel_hist_add_line(&h, "fail 1 0 10", err, sizeof(err)), 0);
    assert_int_equal(rel_hist_add_line(&h, "fail 1 0 11 _MSG_TIMED_OUT ", err, sizeof(err)), 0);
    assert_int_equal(rel_hist_add_line(&h, "info 1 0 12 NOT_LEADER_OR_FOLLOWER", err,
                                       sizeof(err)), 0);
    assert_int_equal(rel_hist_add_line(&h, "fail 1 0 13 _MSG_TIMED_OUT", err, sizeof(err)), 0);
    assert_int_equal(rel_hist_add_line(&h, "fail 1 0 14 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                                       err, sizeof(err)), 0); /* 47 */
    assert_int_equal(h.nerrs, 3);
    assert_int_equal(h.ev[0].err, 0);
    assert_int_equal(h.ev[1].err, 1);
    assert_int_equal(h.ev[2].err, 2);
    assert_int_equal(h.ev[3].err, 1);
    assert_string_equal(h.errs[1], "NOT_LEADER_OR_FOLLOWER");
    /* an event naming an error the history does not know, or on another op */
    struct rel_hist_event e = {REL_OP_FAIL, 1, 0, 0, 15, 9, 4};
    assert_int_equal(rel_hist_add(&h, &e), -EINVAL);
    e = (struct rel_hist_event){REL_OP_SEND, 1, 0, 0, 15, 9, 1};
    assert_int_equal(rel_hist_add(&h, &e), -EINVAL);
    rel_hist_fini(&h);
}

/* Every prefix of a line that names an error is a line without one, a shorter name (a
 * truncated history's last line: judged as what it says), or refused: never more. */
static void test_history_error_name_truncated_prefixes(void **state)
{
    (void)state;
    static const char line[] = "fail 12 3 4294967297 NOT_LEADER_OR_FOLLOWER";
    size_t value_at = strlen("fail 12 3 "), name_at = strlen("fail 12 3 4294967297 ");
    for (size_t n = 0; n <= strlen(line); n++) {
        struct rel_hist h;
        char prefix[sizeof(line)], err[256] = "";
        memcpy(prefix, line, n);
        prefix[n] = '\0';
        rel_hist_init(&h);
        int rc = rel_hist_add_line(&h, prefix, err, sizeof(err));
        if (n > 0 && n <= value_at) {
            assert_int_equal(rc, -EINVAL); /* a field missing (or the op's name cut) */
            assert_int_equal(h.n, 0);
        } else if (n > 0) { /* a shorter value, then no name, then a shorter name */
            assert_int_equal(rc, 0);
            assert_int_equal(h.n, 1);
            assert_int_equal(h.ev[0].err, n > name_at ? 1 : 0);
            if (n >= name_at - 1)
                assert_int_equal(h.ev[0].value, 4294967297ull);
            if (n > name_at)
                assert_memory_equal(h.errs[0], line + name_at, n - name_at);
        }
        rel_hist_fini(&h);
    }
}

/* More than REL_HIST_MAX_ERRS distinct names: refused, saying so. */
static void test_history_too_many_error_names_refused(void **state)
{
    (void)state;
    struct rel_hist h;
    char err[256] = "", line[64];
    rel_hist_init(&h);
    for (int i = 0; i < REL_HIST_MAX_ERRS; i++) {
        snprintf(line, sizeof(line), "fail 1 0 %d E%d", i, i);
        assert_int_equal(rel_hist_add_line(&h, line, err, sizeof(err)), 0);
    }
    assert_int_equal(rel_hist_add_line(&h, "fail 1 0 99 E0", err, sizeof(err)), 0);
    assert_int_equal(rel_hist_add_line(&h, "fail 1 0 100 ANOTHER", err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "64 distinct"));
    rel_hist_fini(&h);
}

/* A refused value read: an anomaly named with its error, unless the error is one Kafka
 * gives after the append (then counted apart, never hidden: by_err says which). */
static void test_history_refused_read_classed_by_error(void **state)
{
    (void)state;
    struct rel_hist_result r;
    judge("send 1 0 10\nfail 1 0 10 NOT_ENOUGH_REPLICAS\npoll 9 0 0 10\n", &r);
    expect_only(&r, REL_HIST_FAILED_READ, 1);
    assert_non_null(strstr(r.example[REL_HIST_FAILED_READ][0], "NOT_ENOUGH_REPLICAS"));
    judge("send 1 0 10\nfail 1 0 10\npoll 9 0 0 10\n", &r);
    expect_only(&r, REL_HIST_FAILED_READ, 1);
    assert_non_null(strstr(r.example[REL_HIST_FAILED_READ][0], "no error named"));
    judge("send 1 0 10\nfail 1 0 10 _MSG_TIMED_OUT\npoll 9 0 0 10\n", &r);
    expect_only(&r, REL_HIST_FAILED_READ, 1);
    judge("send 1 0 10\nsend 1 0 11\nsend 1 0 12\nfail 1 0 10 NOT_LEADER_OR_FOLLOWER\n"
          "fail 1 0 11 REQUEST_TIMED_OUT\nfail 1 0 12 REQUEST_TIMED_OUT\n"
          "poll 9 0 0 10\npoll 9 0 1 11\npoll 8 0 1 11\n", &r);
    expect_only(&r, REL_HIST_NKINDS, 0);
    assert_int_equal(r.failed, 3);
    assert_int_equal(r.refused_ambiguous_read, 2); /* 11 read twice: counted once */
    assert_int_equal(r.nby_err, 3);
    assert_string_equal(r.by_err[2].name, "REQUEST_TIMED_OUT");
    assert_true(r.by_err[2].ambiguous);
    assert_int_equal(r.by_err[2].refused, 2);
    assert_int_equal(r.by_err[2].read, 1);
    assert_true(rel_hist_err_ambiguous("REQUEST_TIMED_OUT"));
    assert_true(rel_hist_err_ambiguous("NOT_ENOUGH_REPLICAS_AFTER_APPEND"));
    assert_false(rel_hist_err_ambiguous("NOT_ENOUGH_REPLICAS"));
    assert_false(rel_hist_err_ambiguous("KAFKA_STORAGE_ERROR"));
    assert_false(rel_hist_err_ambiguous("_MSG_TIMED_OUT"));
    assert_false(rel_hist_err_ambiguous(NULL));
}

/* Histories the checker cannot judge: a value sent twice, an outcome never sent. */
static void test_history_unusable_history_refused(void **state)
{
    (void)state;
    static const char *bad[] = {"send 1 0 10\nsend 2 0 10\n", "ok 1 0 10 0\n",
                                "send 1 0 10\nok 1 1 10 0\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct rel_hist h;
        struct rel_hist_result r;
        char err[256] = "";
        FILE *f = fmemopen((void *)bad[i], strlen(bad[i]), "r");
        assert_non_null(f);
        rel_hist_init(&h);
        assert_int_equal(rel_hist_read(&h, f, err, sizeof(err)), 0);
        fclose(f);
        assert_int_equal(rel_hist_check(&h, &r, err, sizeof(err)), -EINVAL);
        assert_non_null(strstr(err, "line"));
        rel_hist_fini(&h);
    }
}

/* ---- the model ------------------------------------------------------------------------ */

#define KEYS   4
#define PRODS  3
#define SENDS  400
#define CONS   2

struct model {
    struct rel_hist h;
    uint64_t log[KEYS][SENDS]; /* value at each offset */
    int64_t end[KEYS];
    int64_t line;
};

static void add(struct model *m, enum rel_hist_op op, int32_t proc, int32_t key,
                int64_t offset, uint64_t value)
{
    struct rel_hist_event e = {op, proc, key, offset, value, ++m->line, 0};
    assert_int_equal(rel_hist_add(&m->h, &e), 0);
}

/* A correct history: producers send values, most acknowledged at the next offset of their
 * key, some refused, some indeterminate (half of those written); consumers poll runs
 * between seeks, in order, never skipping; a final reader reads every key whole. */
static void model_build(struct model *m, uint64_t seed)
{
    memset(m, 0, sizeof(*m));
    rel_hist_init(&m->h);
    for (int i = 0; i < SENDS; i++) {
        int32_t p = (int32_t)rel_rand_range(&seed, 1, PRODS), k = (int32_t)rel_rand_range(&seed, 0, KEYS - 1);
        uint64_t v = (uint64_t)p << 32 | (uint64_t)i;
        int64_t fate = rel_rand_range(&seed, 0, 9);
        add(m, REL_OP_SEND, p, k, 0, v);
        if (fate == 0) {
            add(m, REL_OP_FAIL, p, k, 0, v);
            continue;
        }
        if (fate != 1 || (seed & 1))
            m->log[k][m->end[k]++] = v;
        if (fate == 1)
            add(m, REL_OP_INFO, p, k, 0, v);
        else
            add(m, REL_OP_OK, p, k, m->end[k] - 1, v);
    }
    for (int c = 0; c < CONS; c++)
        for (int32_t k = 0; k < KEYS; k++) {
            int64_t at = rel_rand_range(&seed, 0, m->end[k]);
            add(m, REL_OP_SEEK, 100 + c, k, at, 0);
            for (; at < m->end[k]; at++)
                add(m, REL_OP_POLL, 100 + c, k, at, m->log[k][at]);
        }
    for (int32_t k = 0; k < KEYS; k++) { /* the final reader: every key, whole */
        add(m, REL_OP_SEEK, 0, k, 0, 0);
        for (int64_t at = 0; at < m->end[k]; at++)
            add(m, REL_OP_POLL, 0, k, at, m->log[k][at]);
        add(m, REL_OP_DRAIN, 0, k, m->end[k], 0);
    }
}

static void model_judge(struct model *m, struct rel_hist_result *r)
{
    char err[256] = "";
    int rc = rel_hist_check(&m->h, r, err, sizeof(err));
    if (rc)
        fail_msg("check: %s", err);
}

/* The first event of op on key k with the given offset (or any offset: -1). */
static struct rel_hist_event *find(struct model *m, enum rel_hist_op op, int32_t k, int64_t off)
{
    for (size_t i = 0; i < m->h.n; i++)
        if (m->h.ev[i].op == op && m->h.ev[i].key == k && (off < 0 || m->h.ev[i].offset == off))
            return &m->h.ev[i];
    return NULL;
}

static void test_history_model_correct_histories_clean(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        struct model m;
        struct rel_hist_result r;
        model_build(&m, seed);
        model_judge(&m, &r);
        expect_only(&r, REL_HIST_NKINDS, 0);
        rel_hist_fini(&m.h);
    }
}

/* Break a correct history in one way; the checker names that way. */
static void test_history_model_broken_histories_named(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 10; seed++) {
        struct model m;
        struct rel_hist_result r;
        struct rel_hist_event *e;
        int32_t k = (int32_t)(seed % KEYS);

        /* an acknowledged value vanishes from every read (another is read in its place) */
        model_build(&m, seed);
        e = find(&m, REL_OP_OK, k, -1);
        assert_non_null(e);
        for (size_t i = 0; i < m.h.n; i++)
            if (m.h.ev[i].op == REL_OP_POLL && m.h.ev[i].value == e->value)
                m.h.ev[i].value = e->value ^ (1ull << 62); /* now a phantom in its place */
        model_judge(&m, &r);
        assert_true(r.count[REL_HIST_LOST] == 1 && r.count[REL_HIST_PHANTOM] >= 1);
        rel_hist_fini(&m.h);

        /* a reader's poll moves one offset up: a duplicate and an inconsistency */
        model_build(&m, seed);
        e = find(&m, REL_OP_POLL, k, 0);
        if (e && m.end[k] > 1) {
            e->offset = 1;
            model_judge(&m, &r);
            assert_true(r.count[REL_HIST_DUPLICATE] >= 1 && r.count[REL_HIST_INCONSISTENT] >= 1);
        }
        rel_hist_fini(&m.h);

        /* an acknowledgement beyond the drain's end */
        model_build(&m, seed);
        e = find(&m, REL_OP_DRAIN, k, -1);
        assert_non_null(e);
        e->offset = 0; /* the log "ends" at 0: everything acked in k is past it */
        model_judge(&m, &r);
        assert_true(r.count[REL_HIST_LOST] >= 1);
        rel_hist_fini(&m.h);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_history_clean_history_no_anomaly),
        cmocka_unit_test(test_history_each_anomaly_found),
        cmocka_unit_test(test_history_seek_resets_order_no_anomaly),
        cmocka_unit_test(test_history_large_keys_no_anomaly),
        cmocka_unit_test(test_history_bad_lines_refused),
        cmocka_unit_test(test_history_error_names_parsed_or_refused),
        cmocka_unit_test(test_history_error_name_truncated_prefixes),
        cmocka_unit_test(test_history_too_many_error_names_refused),
        cmocka_unit_test(test_history_refused_read_classed_by_error),
        cmocka_unit_test(test_history_unusable_history_refused),
        cmocka_unit_test(test_history_model_correct_histories_clean),
        cmocka_unit_test(test_history_model_broken_histories_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
