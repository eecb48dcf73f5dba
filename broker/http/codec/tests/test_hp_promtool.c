/*
 * test_hp_promtool.c - external validation: the representative exposition, as written by
 * hp_expo, read by two parsers that are not ours.
 *
 *  - Prometheus' Python client (text_string_to_metric_families, Debian's
 *    python3-prometheus-client), through tests/expo_check.py, which also compares every
 *    sample it read with what hp_expo_parse read from the same bytes;
 *  - `promtool check metrics` (Debian's prometheus package), Prometheus' own parser and
 *    its linter: exit 0 means parsed and no lint problem (a counter without _total, a
 *    missing HELP... exit 3).
 *
 * Both run here, in `make test`; a missing tool is a failure, not a skip (scripts/deps.sh
 * test installs both). Two texts that must be refused prove the harness can fail.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hp.h"
#include "hp_expo.h"
#include "kc_common.h"
#include "kc_test.h"
#include "support/hp_fixture.h"

#define PYTHON   "/usr/bin/python3" /* Debian's: the one python3-prometheus-client is for */
/* scripts/deps.sh takes promtool out of Debian's prometheus package into build/tools/
 * (installing the package would also start a Prometheus server); a system one is used if
 * that is where it is. */
static const char *promtool(void)
{
    static char path[1024];
    const char *src = getenv("KC_SRC_DIR") ? getenv("KC_SRC_DIR") : ".";
    snprintf(path, sizeof(path), "%s/build/tools/usr/bin/promtool", src);
    return access(path, X_OK) == 0 ? path : "/usr/bin/promtool";
}

static void write_file(const char *path, const void *p, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* Run cmd through the shell with its output in the test log; its exit status. */
static int run(const char *cmd)
{
    printf("$ %s\n", cmd);
    fflush(stdout);
    int st = system(cmd);
    assert_true(st != -1 && WIFEXITED(st));
    printf("exit %d\n", WEXITSTATUS(st));
    return WEXITSTATUS(st);
}

static void need(const char *path, const char *package)
{
    if (access(path, X_OK) != 0)
        fail_msg("%s is missing: apt-get install %s (scripts/deps.sh test)", path, package);
}

/* A JSON string (what json.loads reads back as the same text). */
static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", f);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

/* One line per sample, as the Python client names things: a counter's family without its
 * _total, untyped as "unknown", no HELP as "". */
static void write_expect(const char *path, const struct hp_scrape *s)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (size_t i = 0; i < s->nfamilies; i++) {
        const struct hp_family *fam = &s->families[i];
        char name[256];
        snprintf(name, sizeof(name), "%s", fam->name);
        size_t n = strlen(name);
        if (fam->type == HP_COUNTER && n > 6 && strcmp(name + n - 6, "_total") == 0)
            name[n - 6] = '\0';
        for (size_t j = 0; j < fam->nsamples; j++) {
            const struct hp_sample *smp = &fam->samples[j];
            char num[HP_DOUBLE_BUF];
            fputc('[', f);
            json_str(f, name);
            fputc(',', f);
            json_str(f, fam->type == HP_UNTYPED ? "unknown" : hp_metric_type_name(fam->type));
            fputc(',', f);
            json_str(f, fam->help ? fam->help : "");
            fputc(',', f);
            json_str(f, smp->name);
            fputs(",{", f);
            for (size_t k = 0; k < smp->nlabels; k++) {
                fputs(k ? "," : "", f);
                json_str(f, smp->labels[k].name);
                fputc(':', f);
                json_str(f, smp->labels[k].value);
            }
            hp_format_double(smp->value, num);
            fputs("},", f);
            json_str(f, num);
            fputs("]\n", f);
        }
    }
    assert_int_equal(fclose(f), 0);
}

static void test_promtool_fixture_accepted_by_both_parsers(void **state)
{
    (void)state;
    need(PYTHON, "python3-prometheus-client");
    need(promtool(), "prometheus (scripts/deps.sh test extracts promtool)");
    char *dir = kc_test_tmpdir(), expo[512], expect[512], cmd[2048];
    snprintf(expo, sizeof(expo), "%s/metrics.txt", dir);
    snprintf(expect, sizeof(expect), "%s/expect.jsonl", dir);
    struct kc_writer w;
    struct hp_scrape s;
    char why[256];
    kc_writer_init(&w, 0);
    assert_int_equal(hp_fixture_write(&w), 0);
    write_file(expo, kc_writer_data(&w), kc_writer_len(&w));
    if (hp_expo_parse((const char *)kc_writer_data(&w), kc_writer_len(&w), &s, why, sizeof(why)))
        fail_msg("%s", why);
    write_expect(expect, &s);

    const char *src = getenv("KC_SRC_DIR") ? getenv("KC_SRC_DIR") : ".";
    snprintf(cmd, sizeof(cmd), PYTHON " %s/broker/http/codec/tests/expo_check.py %s %s 2>&1",
             src, expo, expect);
    assert_int_equal(run(cmd), 0);
    snprintf(cmd, sizeof(cmd), "%s check metrics < %s 2>&1", promtool(), expo);
    assert_int_equal(run(cmd), 0);

    hp_scrape_free(&s);
    kc_writer_fini(&w);
    kc_test_rmdir(dir);
}

/* The harness can fail: a broken text is refused by both, a lint problem by promtool. */
static void test_promtool_bad_texts_refused(void **state)
{
    (void)state;
    need(PYTHON, "python3-prometheus-client");
    need(promtool(), "prometheus (scripts/deps.sh test extracts promtool)");
    const char *src = getenv("KC_SRC_DIR") ? getenv("KC_SRC_DIR") : ".";
    char *dir = kc_test_tmpdir(), path[512], cmd[2048];
    snprintf(path, sizeof(path), "%s/bad.txt", dir);

    const char *broken = "# HELP a_total x\n# TYPE a_total counter\na_total{b=\"1} 1\n";
    write_file(path, broken, strlen(broken));
    snprintf(cmd, sizeof(cmd), PYTHON " %s/broker/http/codec/tests/expo_check.py %s 2>&1", src,
             path);
    assert_int_equal(run(cmd), 2);
    snprintf(cmd, sizeof(cmd), "%s check metrics < %s 2>&1", promtool(), path);
    assert_int_not_equal(run(cmd), 0);
    assert_int_equal(hp_expo_parse(broken, strlen(broken), &(struct hp_scrape){0}, NULL, 0),
                     KC_EMALFORMED);

    const char *lint = "# HELP requests x\n# TYPE requests counter\nrequests 1\n";
    write_file(path, lint, strlen(lint));
    assert_int_not_equal(run(cmd), 0); /* "counter metrics should have _total suffix" */

    kc_test_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_promtool_fixture_accepted_by_both_parsers),
        cmocka_unit_test(test_promtool_bad_texts_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
