/*
 * test_hp_expo.c - the Prometheus text format: float spellings, the writer's exact text,
 * every mistake the writer refuses, the fixture read back by the parser, each text the
 * parser refuses with its reason, the spellings it must accept, and random damage.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hp.h"
#include "hp_expo.h"
#include "support/hp_fixture.h"
#include "kc_common.h"
#include "kc_test.h"

static void test_expo_format_double_spellings(void **state)
{
    (void)state;
    struct {
        double v;
        const char *s;
    } cases[] = {{0, "0"}, {-0.0, "0"}, {1, "1"}, {-1, "-1"}, {1027, "1027"}, {0.005, "0.005"},
                 {0.1, "0.1"}, {1e-5, "1e-05"}, {3725.5, "3725.5"}, {0.1 + 0.2, "0.30000000000000004"},
                 {1e18, "1000000000000000000"}, {1e20, "1e+20"}, {9007199254740993.0, "9007199254740992"},
                 {1e300, "1e+300"}, {NAN, "NaN"}, {INFINITY, "+Inf"}, {-INFINITY, "-Inf"}};
    char buf[HP_DOUBLE_BUF];
    for (size_t i = 0; i < KC_ARRAY_SIZE(cases); i++) {
        size_t n = hp_format_double(cases[i].v, buf);
        assert_string_equal(buf, cases[i].s);
        assert_int_equal(n, strlen(cases[i].s));
    }
    uint64_t seed = kc_test_seed(), rng = seed | 1;
    for (int i = 0; i < 100000; i++) { /* every finite double reads back as itself */
        uint64_t bits = kc_test_rand(&rng);
        double v;
        memcpy(&v, &bits, sizeof(v));
        if (!isfinite(v))
            continue;
        hp_format_double(v, buf);
        if (strtod(buf, NULL) != v)
            fail_msg("%a printed as %s", v, buf);
    }
}

static void test_expo_writer_exact_text(void **state)
{
    (void)state;
    struct kc_writer w;
    struct hp_expo e;
    kc_writer_init(&w, 0);
    hp_expo_init(&e, &w);
    assert_int_equal(hp_expo_family(&e, "x_total", HP_COUNTER, "A \\ counter\nwith two lines."), 0);
    assert_int_equal(hp_expo_sample(&e, (struct hp_label[]){{"a", "q\"uo\\te\nd"}}, 1, 3), 0);
    assert_int_equal(hp_expo_sample(&e, NULL, 0, 1.5), 0);
    assert_int_equal(hp_expo_family(&e, "h", HP_HISTOGRAM, "Latency."), 0);
    assert_int_equal(hp_expo_histogram(&e, (struct hp_label[]){{"k", "v"}}, 1,
                                       (double[]){0.5, 1}, (uint64_t[]){1, 2, 1}, 2, 2.25),
                     0);
    /* the same series from cumulative counts, one of them torn (3 read before 1 moved) */
    assert_int_equal(hp_expo_family(&e, "hc", HP_HISTOGRAM, "Cumulative."), 0);
    assert_int_equal(hp_expo_histogram_cumulative(&e, (struct hp_label[]){{"k", "v"}}, 1,
                                                  (double[]){0.5, 1, 2}, (uint64_t[]){1, 3, 2},
                                                  3, 2.25, 2),
                     0);
    assert_int_equal(hp_expo_family(&e, "g", HP_GAUGE, ""), 0);
    assert_int_equal(hp_expo_sample(&e, (struct hp_label[]){{"a", "1"}, {"b", ""}}, 2, -INFINITY), 0);
    assert_int_equal(hp_expo_finish(&e), 0);
    const char *want = "# HELP x_total A \\\\ counter\\nwith two lines.\n"
                       "# TYPE x_total counter\n"
                       "x_total{a=\"q\\\"uo\\\\te\\nd\"} 3\n"
                       "x_total 1.5\n"
                       "# HELP h Latency.\n"
                       "# TYPE h histogram\n"
                       "h_bucket{k=\"v\",le=\"0.5\"} 1\n"
                       "h_bucket{k=\"v\",le=\"1\"} 3\n"
                       "h_bucket{k=\"v\",le=\"+Inf\"} 4\n"
                       "h_sum{k=\"v\"} 2.25\n"
                       "h_count{k=\"v\"} 4\n"
                       "# HELP hc Cumulative.\n"
                       "# TYPE hc histogram\n"
                       "hc_bucket{k=\"v\",le=\"0.5\"} 1\n"
                       "hc_bucket{k=\"v\",le=\"1\"} 3\n"
                       "hc_bucket{k=\"v\",le=\"2\"} 3\n"
                       "hc_bucket{k=\"v\",le=\"+Inf\"} 3\n"
                       "hc_sum{k=\"v\"} 2.25\n"
                       "hc_count{k=\"v\"} 3\n"
                       "# HELP g \n"
                       "# TYPE g gauge\n"
                       "g{a=\"1\",b=\"\"} -Inf\n";
    assert_int_equal(kc_writer_len(&w), strlen(want));
    assert_memory_equal(kc_writer_data(&w), want, strlen(want));
    kc_writer_fini(&w);
}

/* One mistake per fresh writer; the error it must give, and it must stay. */
static void expect_refused(int want, const char *what, int (*steps)(struct hp_expo *))
{
    struct kc_writer w;
    struct hp_expo e;
    kc_writer_init(&w, 0);
    hp_expo_init(&e, &w);
    int rc = steps(&e);
    size_t len = kc_writer_len(&w);
    if (rc != want)
        fail_msg("%s: got %s, want %s", what, kc_errname(rc), kc_errname(want));
    /* sticky: nothing more is written, every call repeats the first error */
    assert_int_equal(hp_expo_family(&e, "later", HP_GAUGE, "x"), want);
    assert_int_equal(hp_expo_sample(&e, NULL, 0, 1), want);
    assert_int_equal(kc_writer_len(&w), len);
    assert_int_equal(hp_expo_finish(&e), want);
    kc_writer_fini(&w);
}

static const struct hp_label ok1[] = {{"a", "1"}};

static int bad_name(struct hp_expo *e) { return hp_expo_family(e, "1abc", HP_GAUGE, "x"); }
static int bad_name_dash(struct hp_expo *e) { return hp_expo_family(e, "a-b", HP_GAUGE, "x"); }
static int counter_no_total(struct hp_expo *e) { return hp_expo_family(e, "reqs", HP_COUNTER, "x"); }
static int no_help(struct hp_expo *e) { return hp_expo_family(e, "g", HP_GAUGE, NULL); }
static int summary(struct hp_expo *e) { return hp_expo_family(e, "s", HP_SUMMARY, "x"); }
static int help_not_utf8(struct hp_expo *e) { return hp_expo_family(e, "g", HP_GAUGE, "\xff"); }
static int repeat(struct hp_expo *e)
{
    hp_expo_family(e, "g", HP_GAUGE, "x");
    hp_expo_family(e, "h", HP_GAUGE, "x");
    return hp_expo_family(e, "g", HP_GAUGE, "x");
}
static int sample_first(struct hp_expo *e) { return hp_expo_sample(e, NULL, 0, 1); }
static int histogram_in_gauge(struct hp_expo *e)
{
    hp_expo_family(e, "g", HP_GAUGE, "x");
    return hp_expo_histogram(e, NULL, 0, (double[]){1}, (uint64_t[]){0, 0}, 1, 0);
}
static int sample_in_histogram(struct hp_expo *e)
{
    hp_expo_family(e, "h", HP_HISTOGRAM, "x");
    return hp_expo_sample(e, NULL, 0, 1);
}
static int negative_counter(struct hp_expo *e)
{
    hp_expo_family(e, "c_total", HP_COUNTER, "x");
    return hp_expo_sample(e, ok1, 1, -1);
}
static int nan_counter(struct hp_expo *e)
{
    hp_expo_family(e, "c_total", HP_COUNTER, "x");
    return hp_expo_sample(e, ok1, 1, NAN);
}
static int label_reserved(struct hp_expo *e)
{
    hp_expo_family(e, "g", HP_GAUGE, "x");
    return hp_expo_sample(e, (struct hp_label[]){{"__name__", "x"}}, 1, 1);
}
static int label_twice(struct hp_expo *e)
{
    hp_expo_family(e, "g", HP_GAUGE, "x");
    return hp_expo_sample(e, (struct hp_label[]){{"a", "x"}, {"a", "y"}}, 2, 1);
}
static int label_value_not_utf8(struct hp_expo *e)
{
    hp_expo_family(e, "g", HP_GAUGE, "x");
    return hp_expo_sample(e, (struct hp_label[]){{"a", "\xc0\x80"}}, 1, 1); /* overlong NUL */
}
static int le_in_histogram(struct hp_expo *e)
{
    hp_expo_family(e, "h", HP_HISTOGRAM, "x");
    return hp_expo_histogram(e, (struct hp_label[]){{"le", "1"}}, 1, (double[]){1},
                             (uint64_t[]){0, 0}, 1, 0);
}
static int bounds_not_rising(struct hp_expo *e)
{
    hp_expo_family(e, "h", HP_HISTOGRAM, "x");
    return hp_expo_histogram(e, NULL, 0, (double[]){1, 1}, (uint64_t[]){0, 0, 0}, 2, 0);
}
static int bound_infinite(struct hp_expo *e)
{
    hp_expo_family(e, "h", HP_HISTOGRAM, "x");
    return hp_expo_histogram(e, NULL, 0, (double[]){1, INFINITY}, (uint64_t[]){0, 0, 0}, 2, 0);
}
static int writer_full(struct hp_expo *e)
{
    return hp_expo_family(e, "a_rather_long_metric_name", HP_GAUGE, "with help text");
}

static void test_expo_writer_mistakes_refused_and_sticky(void **state)
{
    (void)state;
    expect_refused(KC_EBADNAME, "name starts with a digit", bad_name);
    expect_refused(KC_EBADNAME, "name with a dash", bad_name_dash);
    expect_refused(KC_EBADNAME, "counter without _total", counter_no_total);
    expect_refused(-EINVAL, "no HELP", no_help);
    expect_refused(-EINVAL, "a summary", summary);
    expect_refused(KC_EMALFORMED, "HELP not UTF-8", help_not_utf8);
    expect_refused(-EEXIST, "a family twice", repeat);
    expect_refused(-EINVAL, "a sample before any family", sample_first);
    expect_refused(-EINVAL, "a histogram into a gauge", histogram_in_gauge);
    expect_refused(-EINVAL, "a plain sample into a histogram", sample_in_histogram);
    expect_refused(-ERANGE, "a negative counter", negative_counter);
    expect_refused(-ERANGE, "a NaN counter", nan_counter);
    expect_refused(KC_EBADNAME, "a reserved label name", label_reserved);
    expect_refused(KC_EBADNAME, "a label twice", label_twice);
    expect_refused(KC_EMALFORMED, "a label value not UTF-8", label_value_not_utf8);
    expect_refused(KC_EBADNAME, "le in a histogram's labels", le_in_histogram);
    expect_refused(-EINVAL, "bounds not rising", bounds_not_rising);
    expect_refused(-EINVAL, "an infinite bound", bound_infinite);

    /* the kc_writer's own limit surfaces as the writer's error */
    struct kc_writer w;
    struct hp_expo e;
    kc_writer_init(&w, 16);
    hp_expo_init(&e, &w);
    assert_int_equal(writer_full(&e), KC_ETOOLARGE);
    assert_int_equal(hp_expo_finish(&e), KC_ETOOLARGE);
    kc_writer_fini(&w);
}

static const struct hp_family *family(const struct hp_scrape *s, const char *name,
                                      enum hp_metric_type type, size_t nsamples)
{
    const struct hp_family *f = hp_scrape_family(s, name);
    if (!f)
        fail_msg("family %s missing", name);
    assert_int_equal(f->type, type);
    assert_int_equal(f->nsamples, nsamples);
    return f;
}

static void test_expo_fixture_round_trips_through_the_parser(void **state)
{
    (void)state;
    struct kc_writer w;
    struct hp_scrape s;
    char why[256];
    kc_writer_init(&w, 0);
    assert_int_equal(hp_fixture_write(&w), 0);
    int rc = hp_expo_parse((const char *)kc_writer_data(&w), kc_writer_len(&w), &s, why,
                           sizeof(why));
    if (rc)
        fail_msg("%s", why);
    assert_int_equal(s.nfamilies, 17);
    family(&s, "kafka_log_end_offset", HP_GAUGE, 3);
    const struct hp_family *f = family(&s, "kafka_log_appended_bytes_total", HP_COUNTER, 3);
    assert_string_equal(f->samples[2].name, "kafka_log_appended_bytes_total");
    assert_string_equal(hp_sample_label(&f->samples[2], "topic"), "logs");
    assert_true(f->samples[2].value == 98000000);
    f = family(&s, "kafka_group_lag", HP_GAUGE, 2);
    assert_string_equal(hp_sample_label(&f->samples[1], "group"), HP_FIXTURE_ODD_GROUP);
    f = family(&s, "kafka_group_committed_offset", HP_GAUGE, 2);
    assert_string_equal(f->help, "Committed offset of a group.\nOne line per group \\ topic \\ "
                                 "partition.");
    /* 3 series of 16 bounds + Inf, _sum and _count */
    f = family(&s, "kafka_request_duration_seconds", HP_HISTOGRAM, 3 * 19);
    assert_string_equal(f->samples[16].name, "kafka_request_duration_seconds_bucket");
    assert_string_equal(hp_sample_label(&f->samples[16], "le"), "+Inf");
    assert_true(f->samples[16].value == 1000);
    assert_string_equal(f->samples[17].name, "kafka_request_duration_seconds_sum");
    assert_true(f->samples[17].value == 0.73125);
    assert_null(hp_sample_label(&f->samples[17], "le"));
    assert_true(f->samples[18].value == 1000);
    f = family(&s, "kafka_fsync_duration_seconds", HP_HISTOGRAM, 11);
    assert_int_equal(f->samples[10].nlabels, 0);
    f = family(&s, "kafka_broker_uptime_seconds", HP_GAUGE, 1);
    assert_true(f->samples[0].value == 3725.5);
    assert_false(f->samples[0].has_timestamp);
    hp_scrape_free(&s);
    kc_writer_fini(&w);
}

static const struct refusal {
    const char *text, *reason;
} refusals[] = {
    {"a 1", "does not end with a newline"},
    {"# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na 2\n", "family a appears twice"},
    {"# TYPE a gauge\na 1\n# HELP a late\n", "after its samples"},
    {"# HELP a x\n# HELP a y\n", "second HELP"},
    {"# TYPE a gauge\n# TYPE a counter\n", "second TYPE"},
    {"# TYPE a meter\n", "unknown type"},
    {"# TYPE a gauge extra\n", "text after the type"},
    {"# TYPE 1a gauge\n", "without a valid metric name"},
    {"# HELP a bad \\t escape\n", "invalid escape"},
    {"a{b=\"1\\t\"} 1\n", "invalid escape"},
    {"a{b=\"1} 1\n", "closing quote"},
    {"a{b=1} 1\n", "without quotes"},
    {"a{b} 1\n", "without '='"},
    {"a{b=\"1\" c=\"2\"} 1\n", "not separated"},
    {"a{1b=\"1\"} 1\n", "invalid label name"},
    {"a{__x=\"1\"} 1\n", "invalid label name"},
    {"a{b=\"1\",b=\"2\"} 1\n", "label b twice"},
    {"a{b=\"\xff\"} 1\n", "not UTF-8"},
    {"a 1\na 2\n", "appears twice"},
    {"a{b=\"1\",c=\"2\"} 1\na{c=\"2\",b=\"1\"} 2\n", "appears twice"},
    {"a one\n", "invalid value"},
    {"a 0x10\n", "invalid value"},
    {"a 1e\n", "invalid value"},
    {"a 1 12.5\n", "invalid timestamp"},
    {"a 1 2 3\n", "text after the timestamp"},
    {"{b=\"1\"} 1\n", "without a valid metric name"},
    {"# TYPE c_total counter\nc_total -1\n", "negative"},
    {"# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n", "+Inf bucket"},
    {"# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n", "one _sum and one _count"},
    {"# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 2\n", "differs"},
    {"# TYPE h histogram\nh_bucket{le=\"2\"} 1\nh_bucket{le=\"1\"} 1\n"
     "h_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n", "not above"},
    {"# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
     "counts fewer"},
    {"# TYPE h histogram\nh_bucket 1\nh_sum 1\nh_count 1\n", "numeric 'le'"},
    {"# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum{le=\"1\"} 1\nh_count 1\n",
     "has an 'le'"},
    {"# TYPE s summary\ns 1\ns_sum 1\ns_count 1\n", "without a 'quantile'"},
};

static void test_expo_parser_refusals_each_with_reason(void **state)
{
    (void)state;
    for (size_t i = 0; i < KC_ARRAY_SIZE(refusals); i++) {
        struct hp_scrape s = {0};
        char why[256];
        int rc = hp_expo_parse(refusals[i].text, strlen(refusals[i].text), &s, why, sizeof(why));
        if (rc != KC_EMALFORMED || !strstr(why, refusals[i].reason))
            fail_msg("text %zu: rc %s, why '%s', want '%s'", i, kc_errname(rc), why,
                     refusals[i].reason);
        assert_null(s.mem); /* nothing written on failure */
    }
}

static void test_expo_parser_accepts_prometheus_spellings(void **state)
{
    (void)state;
    const char *text = "\n"
                       "# a comment\n"
                       "#HELP a  text with  spaces \n"
                       "  # TYPE\ta\tgauge  \n"
                       "a { b = \"1\" , c=\"\" , } \t -1.5e3 \t 1700000000000 \n"
                       "a{b=\"2\"} +Inf\n"
                       "untyped_one 1e-05\n"
                       "# TYPE s summary\n"
                       "s{quantile=\"0.5\"} 2\n"
                       "s_sum 3\n"
                       "s_count 2\n"
                       "# TYPE h histogram\n"
                       "h_count 0\n"
                       "h_sum 0\n"
                       "h_bucket{le=\"+Inf\"} 0\n"
                       "# TYPE empty_total counter\n"
                       "\t\n";
    struct hp_scrape s;
    char why[256];
    int rc = hp_expo_parse(text, strlen(text), &s, why, sizeof(why));
    if (rc)
        fail_msg("%s", why);
    assert_int_equal(s.nfamilies, 5);
    const struct hp_family *f = family(&s, "a", HP_GAUGE, 2);
    assert_string_equal(f->help, "text with  spaces ");
    assert_true(f->samples[0].value == -1500);
    assert_true(f->samples[0].has_timestamp);
    assert_true(f->samples[0].timestamp_ms == 1700000000000);
    assert_string_equal(hp_sample_label(&f->samples[0], "c"), "");
    assert_true(isinf(f->samples[1].value));
    f = family(&s, "untyped_one", HP_UNTYPED, 1);
    assert_null(f->help);
    family(&s, "s", HP_SUMMARY, 3);
    family(&s, "h", HP_HISTOGRAM, 3);
    family(&s, "empty_total", HP_COUNTER, 0);
    hp_scrape_free(&s);

    assert_int_equal(hp_expo_parse("", 0, &s, NULL, 0), 0); /* an empty text is valid */
    assert_int_equal(s.nfamilies, 0);
    hp_scrape_free(&s);
}

static void test_expo_parser_damage_never_crashes(void **state)
{
    (void)state;
    struct kc_writer w;
    kc_writer_init(&w, 0);
    assert_int_equal(hp_fixture_write(&w), 0);
    const char *text = (const char *)kc_writer_data(&w);
    size_t len = kc_writer_len(&w), ok = 0, refused = 0;
    /* every cut: inside a line is always refused (no newline at the end) */
    for (size_t cut = 0; cut < len; cut++) {
        char *p = malloc(cut ? cut : 1);
        memcpy(p, text, cut);
        struct hp_scrape s;
        int rc = hp_expo_parse(p, cut, &s, NULL, 0);
        if (cut > 0 && text[cut - 1] != '\n')
            assert_int_equal(rc, KC_EMALFORMED);
        if (rc == 0)
            hp_scrape_free(&s);
        free(p);
    }
    static const char damage[] = "\n\"\\{}=,# _a1.e+-\xff\t";
    uint64_t seed = kc_test_seed(), rng = seed | 1;
    for (int round = 0; round < 3000; round++) {
        char *p = malloc(len);
        memcpy(p, text, len);
        for (int f = 1 + (int)(kc_test_rand(&rng) % 4); f > 0; f--)
            p[kc_test_rand(&rng) % len] = damage[kc_test_rand(&rng) % (sizeof(damage) - 1)];
        struct hp_scrape s;
        int rc = hp_expo_parse(p, len, &s, NULL, 0);
        assert_true(rc == 0 || rc == KC_EMALFORMED);
        if (rc == 0) {
            ok++;
            hp_scrape_free(&s);
        } else {
            refused++;
        }
        free(p);
    }
    printf("seed %llu: %zu damaged texts accepted, %zu refused\n", (unsigned long long)seed, ok,
           refused);
    assert_true(refused > 0);
    kc_writer_fini(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expo_format_double_spellings),
        cmocka_unit_test(test_expo_writer_exact_text),
        cmocka_unit_test(test_expo_writer_mistakes_refused_and_sticky),
        cmocka_unit_test(test_expo_fixture_round_trips_through_the_parser),
        cmocka_unit_test(test_expo_parser_refusals_each_with_reason),
        cmocka_unit_test(test_expo_parser_accepts_prometheus_spellings),
        cmocka_unit_test(test_expo_parser_damage_never_crashes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
