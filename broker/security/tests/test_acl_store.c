/* test_acl_store.c - the ACL file: round trip, strict load, crash between write and
 * rename, and authorizing threads while bindings change. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kc_common.h"
#include "kc_test.h"
#include "sec.h"
#include "sec_int.h"

static char path_buf[4200];

static const char *acl_file(const char *dir)
{
    snprintf(path_buf, sizeof(path_buf), "%s/acls", dir);
    return path_buf;
}

static const struct sec_acl sample[] = {
    {SEC_RES_TOPIC, SEC_PAT_LITERAL, "orders", "User:alice", "*", SEC_OP_WRITE, SEC_PERM_ALLOW},
    {SEC_RES_GROUP, SEC_PAT_LITERAL, "my group%", "User:CN=bob,OU=eng", "10.0.0.7", SEC_OP_READ,
     SEC_PERM_ALLOW},
    {SEC_RES_TOPIC, SEC_PAT_PREFIXED, "orders-", "User:*", "*", SEC_OP_DESCRIBE, SEC_PERM_DENY},
};

static void test_acl_store_absent_file_means_no_acls(void **state)
{
    (void)state;
    char *dir = kc_test_tmpdir();
    struct sec_authorizer *a;
    assert_int_equal(sec_authorizer_open(dir, NULL, &a), 0);
    assert_int_equal(sec_acl_count(a), 0);
    assert_int_equal(access(acl_file(dir), F_OK), -1); /* nothing written until a change */
    enum sec_authz_rule r;
    assert_int_equal(sec_authorize(a, "User:x", "1.1.1.1", SEC_OP_READ, SEC_RES_TOPIC, "t", 1, &r),
                     SEC_AUTHZ_DENIED); /* allow.everyone.if.no.acl.found defaults to false */
    assert_int_equal(r, SEC_RULE_DEFAULT);
    sec_authorizer_close(a);
    kc_test_rmdir(dir);
}

static void test_acl_store_roundtrip_survives_reopen(void **state)
{
    (void)state;
    char *dir = kc_test_tmpdir();
    struct sec_authorizer *a;
    struct sec_acl_result res[3];
    assert_int_equal(sec_authorizer_open(dir, NULL, &a), 0);
    assert_int_equal(sec_acl_create(a, sample, 3, res), 0);
    sec_authorizer_close(a);
    char *text;
    size_t len;
    assert_int_equal(kc_read_file(acl_file(dir), 1 << 20, &text, &len), 0);
    static const char want[] =
        "kafka-c acls 1\n"
        "TOPIC LITERAL orders User:alice * WRITE ALLOW\n"
        "TOPIC PREFIXED orders- User:* * DESCRIBE DENY\n"
        "GROUP LITERAL my%20group%25 User:CN=bob,OU=eng 10.0.0.7 READ ALLOW\n"
        "end 3 crc32c="; /* then the CRC's 8 hex digits */
    assert_int_equal(len, sizeof(want) - 1 + 9);
    assert_memory_equal(text, want, sizeof(want) - 1);
    free(text);
    struct stat sb;
    assert_int_equal(stat(acl_file(dir), &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(sec_authorizer_open(dir, NULL, &a), 0);
    assert_int_equal(sec_acl_count(a), 3);
    assert_int_equal(sec_authorize(a, "User:CN=bob,OU=eng", "10.0.0.7", SEC_OP_DESCRIBE,
                                   SEC_RES_GROUP, "my group%", 9, NULL),
                     SEC_AUTHZ_ALLOWED);
    assert_int_equal(sec_authorize(a, "User:alice", "1.1.1.1", SEC_OP_DESCRIBE, SEC_RES_TOPIC,
                                   "orders-eu", 9, NULL),
                     SEC_AUTHZ_DENIED);
    sec_authorizer_close(a);
    kc_test_rmdir(dir);
}

static void write_file(const char *path, const char *text, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(kc_write_all(fd, text, len), (ssize_t)len);
    close(fd);
}

/* Frame a body with the header and a right trailer, so only the body can be wrong. */
static void write_framed(const char *path, const char *body, size_t entries)
{
    char buf[4096];
    int n = snprintf(buf, sizeof(buf), "kafka-c acls 1\n%s", body);
    n += snprintf(buf + n, sizeof(buf) - (size_t)n, "end %zu crc32c=%08x\n", entries,
                  kc_crc32c(0, buf, (size_t)n));
    write_file(path, buf, (size_t)n);
}

static void test_acl_store_damaged_file_refused(void **state)
{
    (void)state;
    static const char *const bodies[] = {
        "TOPIC LITERAL t User:a * READ\n",             /* six fields */
        "TOPIC LITERAL t User:a * READ ALLOW extra\n", /* eight */
        "TOPIC MATCH t User:a * READ ALLOW\n",         /* not a stored pattern type */
        "TOPIC LITERAL t alice * READ ALLOW\n",        /* principal without a type */
        "ANY LITERAL t User:a * READ ALLOW\n",         /* filter-only code */
        "TOPIC LITERAL t User:a * FLY ALLOW\n",        /* unknown operation */
        "TOPIC LITERAL t%2 User:a * READ ALLOW\n",     /* bad escape */
        "TOPIC LITERAL t%41 User:a * READ ALLOW\n",    /* needless escape */
        "TOPIC LITERAL t User:a * READ ALLOW\nTOPIC LITERAL t User:a * READ ALLOW\n",
        "\n",
    };
    char *dir = kc_test_tmpdir();
    struct sec_authorizer *a = NULL;
    struct kc_test_capture cap;
    kc_test_capture_start(&cap);
    for (size_t i = 0; i < KC_ARRAY_SIZE(bodies); i++) {
        size_t entries = i == 8 ? 2 : 1;
        write_framed(acl_file(dir), bodies[i], entries);
        if (sec_authorizer_open(dir, NULL, &a) != KC_ECORRUPT)
            fail_msg("body %zu accepted", i);
    }
    write_framed(acl_file(dir), "TOPIC LITERAL t User:a * READ ALLOW\n", 2); /* count */
    assert_int_equal(sec_authorizer_open(dir, NULL, &a), KC_ECORRUPT);
    write_file(acl_file(dir), "kafka-c acls 1\nTOPIC LITERAL t User:a * READ ALLOW\n", 51);
    assert_int_equal(sec_authorizer_open(dir, NULL, &a), KC_ECORRUPT); /* no trailer */
    char *log = kc_test_capture_stop(&cap);
    assert_true(kc_test_count_lines(log, "security:") >= 12);
    free(log);
    kc_test_rmdir(dir);
}

static void die_here(void *arg)
{
    (void)arg;
    raise(SIGKILL);
}

static void test_acl_store_crash_before_rename_keeps_old_file(void **state)
{
    (void)state;
    char *dir = kc_test_tmpdir();
    struct sec_authorizer *a;
    struct sec_acl_result res[3];
    assert_int_equal(sec_authorizer_open(dir, NULL, &a), 0);
    assert_int_equal(sec_acl_create(a, sample, 1, res), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct sec__hook hook = {die_here, NULL};
        sec__authorizer_set_hook(a, &hook);
        sec_acl_create(a, sample + 1, 2, res);
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    sec_authorizer_close(a);
    assert_int_equal(sec_authorizer_open(dir, NULL, &a), 0);
    assert_int_equal(sec_acl_count(a), 1);
    sec_authorizer_close(a);
    kc_test_rmdir(dir);
}

/* Threads authorize while a writer creates and deletes bindings: each decision is one of
 * the two states, never garbage (and TSan sees no race). */
struct race {
    struct sec_authorizer *a;
    atomic_bool stop;
    atomic_long decisions;
};

static void *authorizer_thread(void *arg)
{
    struct race *r = arg;
    while (!atomic_load(&r->stop)) {
        if (sec_authorize(r->a, "User:alice", "1.1.1.1", SEC_OP_WRITE, SEC_RES_TOPIC, "orders", 6,
                          NULL) != SEC_AUTHZ_ALLOWED)
            abort(); /* the binding for orders never goes away */
        (void)sec_authorize(r->a, "User:alice", "1.1.1.1", SEC_OP_READ, SEC_RES_TOPIC, "churn", 5,
                            NULL);
        atomic_fetch_add(&r->decisions, 1);
    }
    return NULL;
}

static void test_acl_store_authorize_during_changes(void **state)
{
    (void)state;
    char *dir = kc_test_tmpdir();
    struct race r = {0};
    struct sec_acl_result res[1];
    assert_int_equal(sec_authorizer_open(dir, NULL, &r.a), 0);
    assert_int_equal(sec_acl_create(r.a, sample, 1, res), 0);
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, authorizer_thread, &r), 0);
    const struct sec_acl churn = {SEC_RES_TOPIC, SEC_PAT_LITERAL, "churn",       "User:alice",
                                  "*",           SEC_OP_READ,     SEC_PERM_ALLOW};
    const struct sec_acl_filter del = {SEC_RES_TOPIC, SEC_PAT_LITERAL, "churn",     NULL,
                                       NULL,          SEC_OP_ANY,      SEC_PERM_ANY};
    for (int i = 0; i < 20; i++) {
        assert_int_equal(sec_acl_create(r.a, &churn, 1, res), 0);
        assert_int_equal(sec_acl_delete(r.a, &del, 1, res, NULL, NULL), 1);
    }
    atomic_store(&r.stop, true);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    assert_true(atomic_load(&r.decisions) > 0);
    sec_authorizer_close(r.a);
    kc_test_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_acl_store_absent_file_means_no_acls),
        cmocka_unit_test(test_acl_store_roundtrip_survives_reopen),
        cmocka_unit_test(test_acl_store_damaged_file_refused),
        cmocka_unit_test(test_acl_store_crash_before_rename_keeps_old_file),
        cmocka_unit_test(test_acl_store_authorize_during_changes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
