/* test_cred_store.c - the credential store: the file (mode, format, round trip, strict
 * load), changes with Kafka's checks, crash safety, and readers during writes. */
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
#include "support/sec_fixture.h"

static char *file_of(const char *dir)
{
    static char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, SEC_CRED_FILE);
    return path;
}

/* The file's text (malloc'ed). Not inlined: gcc's -Wdangling-pointer mistakes the
 * out-parameter for the returned buffer when it is. */
__attribute__((noinline)) static char *slurp(const char *path)
{
    char *data = NULL;
    size_t len;
    assert_int_equal(kc_read_file(path, 1 << 20, &data, &len), 0);
    return data;
}

static void test_cred_open_creates_private_file_with_secret(void **state)
{
    (void)state;
    struct sec_fx_store fx;
    struct stat sb;
    sec_fx_store_open(&fx);
    assert_int_equal(stat(file_of(fx.dir), &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    char *text = slurp(file_of(fx.dir));
    assert_int_equal(strncmp(text, "kafka-c scram-credentials 1\nsecret ", 35), 0);
    assert_non_null(strstr(text, "\nend 0 crc32c="));
    free(text);
    assert_int_equal(sec_cred_store_count(fx.st), 0);
    sec_fx_store_close(&fx);
}

/* Upsert, reopen, the same credential comes back; the file names users, never keys a
 * client could use, and no password. */
static void test_cred_roundtrip_survives_reopen(void **state)
{
    (void)state;
    struct sec_fx_store fx;
    struct sec_scram_cred a, b;
    sec_fx_store_open(&fx);
    sec_fx_add(fx.st, SEC_SASL_SCRAM_SHA_256, "alice", "alice-secret", 4096);
    sec_fx_add(fx.st, SEC_SASL_SCRAM_SHA_512, "alice", "alice-secret", 8192);
    sec_fx_add(fx.st, SEC_SASL_SCRAM_SHA_256, "bob smith%", "pw", 16384);
    assert_int_equal(sec_cred_store_get(fx.st, SEC_SASL_SCRAM_SHA_512, "alice", &a), 0);
    char *text = slurp(file_of(fx.dir));
    assert_null(strstr(text, "alice-secret"));
    assert_non_null(strstr(text, "\nSCRAM-SHA-256 bob%20smith%25 salt="));
    assert_non_null(strstr(text, "\nend 3 crc32c="));
    free(text);
    sec_cred_store_close(fx.st);
    assert_int_equal(sec_cred_store_open(fx.dir, &fx.st), 0);
    assert_int_equal(sec_cred_store_count(fx.st), 3);
    assert_int_equal(sec_cred_store_get(fx.st, SEC_SASL_SCRAM_SHA_512, "alice", &b), 0);
    assert_memory_equal(&a, &b, sizeof(a));
    assert_int_equal(sec_cred_store_get(fx.st, SEC_SASL_SCRAM_SHA_256, "bob smith%", &b), 0);
    assert_int_equal(b.iterations, 16384);
    assert_int_equal(sec_cred_store_get(fx.st, SEC_SASL_SCRAM_SHA_512, "bob smith%", &b), -ENOENT);
    sec_fx_store_close(&fx);
}

static void collect(void *arg, const char *user, const struct sec_cred_info *info)
{
    char *out = arg;
    size_t n = strlen(out);
    snprintf(out + n, 256 - n, "%s/%d/%u ", user, info->mech, info->iterations);
}

static void test_cred_describe_and_delete(void **state)
{
    (void)state;
    struct sec_fx_store fx;
    struct sec_cred_info info[2];
    char listing[256] = "";
    sec_fx_store_open(&fx);
    sec_fx_add(fx.st, SEC_SASL_SCRAM_SHA_512, "zed", "x", 4096);
    sec_fx_add(fx.st, SEC_SASL_SCRAM_SHA_256, "amy", "x", 5000);
    sec_fx_add(fx.st, SEC_SASL_SCRAM_SHA_512, "amy", "x", 6000);
    assert_int_equal(sec_cred_store_describe(fx.st, "amy", info, 2), 2);
    assert_int_equal(info[0].mech, SEC_SASL_SCRAM_SHA_256);
    assert_int_equal(info[0].iterations, 5000);
    assert_int_equal(info[1].iterations, 6000);
    assert_int_equal(sec_cred_store_describe(fx.st, "nobody", info, 2), 0);
    assert_int_equal(sec_cred_store_each(fx.st, collect, listing), 3);
    assert_string_equal(listing, "amy/1/5000 amy/2/6000 zed/2/4096 ");
    struct sec_cred_change del = {.delete = true, .user = "amy", .mech = 1};
    assert_int_equal(sec_cred_store_apply(fx.st, &del, 1), 0);
    assert_int_equal(sec_cred_store_describe(fx.st, "amy", info, 2), 1);
    assert_int_equal(sec_cred_store_apply(fx.st, &del, 1), 1); /* gone now */
    assert_int_equal(del.error, SEC_CRED_RESOURCE_NOT_FOUND);
    assert_string_equal(del.error_message,
                        "Attempt to delete a user credential that does not exist");
    sec_fx_store_close(&fx);
}

/* Kafka's per-change checks and texts, and the whole batch committed with one write. */
static void test_cred_apply_checks_each_change(void **state)
{
    (void)state;
    struct sec_fx_store fx;
    sec_fx_store_open(&fx);
    uint8_t salt[8] = "saltsalt", sp[32] = {1, 2, 3};
    struct sec_cred_change ch[] = {
        {.user = "", .mech = 1, .iterations = 4096, .password = "x"},
        {.user = "u1", .mech = 3, .iterations = 4096, .password = "x"},
        {.user = "u2", .mech = 1, .iterations = 4095, .password = "x"},
        {.user = "u3", .mech = 2, .iterations = 16385, .password = "x"},
        {.user = "u4", .mech = 1, .iterations = 4096},
        {.user = "u5",
         .mech = 1,
         .iterations = 4096,
         .salted_password = sp,
         .salted_password_len = 32},
        {.user = "ok1",
         .mech = 1,
         .iterations = 4096,
         .salt = salt,
         .salt_len = 8,
         .salted_password = sp,
         .salted_password_len = 32},
        {.user = "ok2", .mech = 2, .iterations = 16384, .password = "pw"},
        {.user = "dup", .mech = 1, .iterations = 4096, .password = "a"},
        {.user = "dup", .mech = 2, .iterations = 4096, .password = "b"},
        {.user = "gone", .mech = 1, .delete = true},
    };
    static const struct {
        enum sec_cred_error e;
        const char *msg;
    } want[] = {
        {SEC_CRED_UNACCEPTABLE_CREDENTIAL, "Username must not be empty"},
        {SEC_CRED_UNSUPPORTED_SASL_MECHANISM, "Unknown SCRAM mechanism"},
        {SEC_CRED_UNACCEPTABLE_CREDENTIAL, "Too few iterations"},
        {SEC_CRED_UNACCEPTABLE_CREDENTIAL, "Too many iterations"},
        {SEC_CRED_UNACCEPTABLE_CREDENTIAL, "Give either a password or a salted password"},
        {SEC_CRED_UNACCEPTABLE_CREDENTIAL, "A salted password needs its salt"},
        {SEC_CRED_OK, NULL},
        {SEC_CRED_OK, NULL},
        {SEC_CRED_DUPLICATE_RESOURCE, "A user credential cannot be altered twice"},
        {SEC_CRED_DUPLICATE_RESOURCE, "A user credential cannot be altered twice"},
        {SEC_CRED_RESOURCE_NOT_FOUND, "Attempt to delete a user credential that does not exist"},
    };
    assert_int_equal(sec_cred_store_apply(fx.st, ch, KC_ARRAY_SIZE(ch)), 9);
    for (size_t i = 0; i < KC_ARRAY_SIZE(ch); i++) {
        if (ch[i].error != want[i].e)
            fail_msg("change %zu: error %d, want %d", i, ch[i].error, want[i].e);
        if (want[i].msg)
            assert_non_null(strstr(ch[i].error_message, want[i].msg));
        else
            assert_null(ch[i].error_message);
    }
    assert_int_equal(sec_cred_store_count(fx.st), 2);
    /* the salted form stores exactly what the derivation gives */
    struct sec_scram_cred got, want_cred;
    assert_int_equal(sec_cred_store_get(fx.st, SEC_SASL_SCRAM_SHA_256, "ok1", &got), 0);
    assert_int_equal(
        sec_scram_cred_from_salted(SEC_SASL_SCRAM_SHA_256, sp, 32, salt, 8, 4096, &want_cred), 0);
    assert_memory_equal(&got, &want_cred, sizeof(got));
    sec_fx_store_close(&fx);
}

/* A delete and an upsert of one user in one request: Kafka refuses both. A user whose
 * first change is invalid keeps that error. */
static void test_cred_apply_same_user_twice_fails_both(void **state)
{
    (void)state;
    struct sec_fx_store fx;
    sec_fx_store_open(&fx);
    sec_fx_add(fx.st, SEC_SASL_SCRAM_SHA_256, "eve", "x", 4096);
    struct sec_cred_change ch[] = {
        {.user = "eve", .mech = 1, .iterations = 4096, .password = "new"},
        {.user = "eve", .mech = 1, .delete = true},
        {.user = "max", .mech = 9, .iterations = 4096, .password = "a"},
        {.user = "max", .mech = 1, .iterations = 4096, .password = "b"},
    };
    assert_int_equal(sec_cred_store_apply(fx.st, ch, 4), 4);
    assert_int_equal(ch[0].error, SEC_CRED_DUPLICATE_RESOURCE);
    assert_int_equal(ch[1].error, SEC_CRED_DUPLICATE_RESOURCE);
    assert_int_equal(ch[2].error, SEC_CRED_UNSUPPORTED_SASL_MECHANISM);
    assert_int_equal(ch[3].error, SEC_CRED_UNSUPPORTED_SASL_MECHANISM);
    assert_int_equal(sec_cred_store_count(fx.st), 1);
    sec_fx_store_close(&fx);
}

/* Damage the file in one way and check the store refuses to open. */
static void check_refused(const char *dir, const char *text, size_t len)
{
    int fd = open(file_of(dir), O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(kc_write_all(fd, text, len), (ssize_t)len);
    close(fd);
    struct sec_cred_store *st = NULL;
    struct kc_test_capture cap;
    kc_test_capture_start(&cap);
    int rc = sec_cred_store_open(dir, &st);
    free(kc_test_capture_stop(&cap));
    if (rc != KC_ECORRUPT)
        fail_msg("damaged file accepted (rc %d): %.*s", rc, (int)len, text);
}

/* Replace the trailer (the last line) with one whose CRC is right, so that only the edit
 * itself is wrong. */
static size_t reframe(char *text, size_t len, size_t entries)
{
    text[len] = '\0';
    char *end = NULL;
    for (char *p = strstr(text, "\nend "); p; p = strstr(p + 1, "\nend "))
        end = p + 1;
    size_t body = end ? (size_t)(end - text) : len;
    return body +
           (size_t)sprintf(text + body, "end %zu crc32c=%08x\n", entries, kc_crc32c(0, text, body));
}

static void test_cred_damaged_file_refused(void **state)
{
    (void)state;
    struct sec_fx_store fx;
    sec_fx_store_open(&fx);
    sec_fx_add(fx.st, SEC_SASL_SCRAM_SHA_256, "alice", "x", 4096);
    sec_cred_store_close(fx.st);
    fx.st = NULL;
    char *good = slurp(file_of(fx.dir));
    size_t len = strlen(good);
    char buf[8192];
    /* truncated anywhere */
    for (size_t cut = 0; cut < len; cut += 7)
        check_refused(fx.dir, good, cut);
    /* one byte flipped (the CRC catches it) */
    memcpy(buf, good, len);
    buf[len / 2] ^= 1;
    check_refused(fx.dir, buf, len);
    /* edits with a recomputed CRC: the parser catches them */
    static const char *const edits[][2] = {
        {"SCRAM-SHA-256 alice", "SCRAM-SHA-1 alice"},
        {"iterations=4096", "iterations=4095"},
        {"iterations=4096", "iterations=40x6"},
        {"SCRAM-SHA-256 alice", "SCRAM-SHA-256 al%41ice"},
        {"stored_key=", "stored_key=AA"},
        {" salt=", " pepper="},
        {"kafka-c scram-credentials 1", "kafka-c scram-credentials 2"},
    };
    for (size_t i = 0; i < KC_ARRAY_SIZE(edits); i++) {
        char *at = strstr(good, edits[i][0]);
        assert_non_null(at);
        size_t pre = (size_t)(at - good), old = strlen(edits[i][0]);
        int n = snprintf(buf, sizeof(buf), "%.*s%s%s", (int)pre, good, edits[i][1], at + old);
        check_refused(fx.dir, buf, reframe(buf, (size_t)n, 1));
    }
    /* an entry twice; the count wrong */
    char *line = strstr(good, "SCRAM-SHA-256");
    size_t llen = (size_t)(strchr(line, '\n') + 1 - line);
    int n =
        snprintf(buf, sizeof(buf), "%.*s%.*s", (int)(line - good + llen), good, (int)llen, line);
    check_refused(fx.dir, buf, reframe(buf, (size_t)n, 2));
    memcpy(buf, good, len);
    check_refused(fx.dir, buf, reframe(buf, len, 2));
    free(good);
    kc_test_rmdir(fx.dir);
}

/* The child dies (SIGKILL) after writing and fsyncing the new file, before the rename. */
static void die_here(void *arg)
{
    (void)arg;
    raise(SIGKILL);
}

static void test_cred_crash_before_rename_keeps_old_file(void **state)
{
    (void)state;
    struct sec_fx_store fx;
    struct sec_scram_cred before, after;
    sec_fx_store_open(&fx);
    sec_fx_add(fx.st, SEC_SASL_SCRAM_SHA_256, "alice", "old-password", 4096);
    assert_int_equal(sec_cred_store_get(fx.st, SEC_SASL_SCRAM_SHA_256, "alice", &before), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct sec__hook hook = {die_here, NULL};
        sec__cred_store_set_hook(fx.st, &hook);
        struct sec_cred_change ch[2] = {
            {.user = "alice", .mech = 1, .iterations = 4096, .password = "new-password"},
            {.user = "bob", .mech = 1, .iterations = 4096, .password = "bob"},
        };
        sec_cred_store_apply(fx.st, ch, 2);
        _exit(0); /* not reached */
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.tmp", file_of(fx.dir));
    assert_int_equal(access(tmp, F_OK), 0); /* the new file was written, never renamed */
    sec_cred_store_close(fx.st);
    assert_int_equal(sec_cred_store_open(fx.dir, &fx.st), 0);
    assert_int_equal(sec_cred_store_count(fx.st), 1);
    assert_int_equal(sec_cred_store_get(fx.st, SEC_SASL_SCRAM_SHA_256, "alice", &after), 0);
    assert_memory_equal(&before, &after, sizeof(before));
    /* the next change overwrites the stale .tmp and commits */
    sec_fx_add(fx.st, SEC_SASL_SCRAM_SHA_256, "bob", "bob", 4096);
    assert_int_equal(access(tmp, F_OK), -1);
    assert_int_equal(sec_cred_store_count(fx.st), 2);
    sec_fx_store_close(&fx);
}

static void test_cred_fake_is_stable_and_per_user(void **state)
{
    (void)state;
    struct sec_fx_store fx;
    struct sec_scram_cred a, b, c, d;
    sec_fx_store_open(&fx);
    sec_cred_store_fake(fx.st, SEC_SASL_SCRAM_SHA_256, "ghost", &a);
    sec_cred_store_fake(fx.st, SEC_SASL_SCRAM_SHA_256, "ghost", &b);
    sec_cred_store_fake(fx.st, SEC_SASL_SCRAM_SHA_256, "ghost2", &c);
    sec_cred_store_fake(fx.st, SEC_SASL_SCRAM_SHA_512, "ghost", &d);
    assert_memory_equal(&a, &b, sizeof(a));
    assert_memory_not_equal(a.salt, c.salt, 32);
    assert_memory_not_equal(a.salt, d.salt, 32);
    assert_int_equal(a.iterations, SEC_SCRAM_ITER_DEFAULT);
    assert_int_equal(a.salt_len, 32);
    /* another store (another secret): other fake salts */
    struct sec_fx_store fx2;
    sec_fx_store_open(&fx2);
    sec_cred_store_fake(fx2.st, SEC_SASL_SCRAM_SHA_256, "ghost", &b);
    assert_memory_not_equal(a.salt, b.salt, 32);
    sec_fx_store_close(&fx2);
    sec_fx_store_close(&fx);
}

/* Readers look up while a writer keeps changing the store: every lookup sees a whole
 * credential (run under ThreadSanitizer in CI). */
struct race {
    struct sec_cred_store *st;
    atomic_bool stop;
    atomic_long lookups;
};

static void *reader(void *arg)
{
    struct race *r = arg;
    struct sec_scram_cred c;
    while (!atomic_load(&r->stop)) {
        if (sec_cred_store_get(r->st, SEC_SASL_SCRAM_SHA_256, "stable", &c) != 0 ||
            c.iterations != 4096)
            abort();
        (void)sec_cred_store_get(r->st, SEC_SASL_SCRAM_SHA_256, "churn", &c);
        atomic_fetch_add(&r->lookups, 1);
    }
    return NULL;
}

static void test_cred_readers_during_writes_see_whole_entries(void **state)
{
    (void)state;
    struct sec_fx_store fx;
    sec_fx_store_open(&fx);
    sec_fx_add(fx.st, SEC_SASL_SCRAM_SHA_256, "stable", "s", 4096);
    struct race r = {.st = fx.st};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, reader, &r), 0);
    for (int i = 0; i < 20; i++) {
        struct sec_cred_change ch = {
            .user = "churn", .mech = 1, .iterations = 4096, .password = "c", .delete = i % 2 == 1};
        assert_int_equal(sec_cred_store_apply(fx.st, &ch, 1), 0);
    }
    atomic_store(&r.stop, true);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    assert_true(atomic_load(&r.lookups) > 0);
    sec_fx_store_close(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cred_open_creates_private_file_with_secret),
        cmocka_unit_test(test_cred_roundtrip_survives_reopen),
        cmocka_unit_test(test_cred_describe_and_delete),
        cmocka_unit_test(test_cred_apply_checks_each_change),
        cmocka_unit_test(test_cred_apply_same_user_twice_fails_both),
        cmocka_unit_test(test_cred_damaged_file_refused),
        cmocka_unit_test(test_cred_crash_before_rename_keeps_old_file),
        cmocka_unit_test(test_cred_fake_is_stable_and_per_user),
        cmocka_unit_test(test_cred_readers_during_writes_see_whole_entries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
