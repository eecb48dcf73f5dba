/* test_ckpt.c - leader-epoch-checkpoint and replication-offset-checkpoint: Kafka's bytes,
 * atomic files, and strict reading (every truncated prefix and every malformation). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kc_common.h"
#include "kc_test.h"
#include "repl_ckpt.h"

static const char EPOCHS[] = "0\n3\n0 0\n2 3\n3 5\n";
static const char OFFSETS[] = "0\n3\npayments 0 1200\npayments 1 877\nlogs.v2_x-y 12 0\n";

static int decode_epochs(const char *text, size_t len)
{
    struct repl_epoch_cache c;
    repl_epoch_cache_init(&c);
    assert_int_equal(repl_epoch_cache_assign(&c, 7, 70), 1);
    int rc = repl_ckpt_epochs_decode(text, len, &c);
    if (rc < 0) { /* untouched on failure */
        assert_int_equal(c.n, 1);
        assert_int_equal(c.v[0].epoch, 7);
    }
    repl_epoch_cache_fini(&c);
    return rc;
}

static int decode_offsets(const char *text, size_t len)
{
    struct repl_offset_entry *v = NULL;
    size_t n = 99;
    int rc = repl_ckpt_offsets_decode(text, len, &v, &n);
    if (rc < 0) {
        assert_null(v);
        assert_int_equal(n, 99);
    }
    free(v);
    return rc;
}

static void test_ckpt_epochs_kafka_bytes_roundtrip(void **state)
{
    char *dir = *state;
    struct repl_epoch_cache c, back;
    repl_epoch_cache_init(&c);
    repl_epoch_cache_init(&back);
    assert_int_equal(repl_epoch_cache_assign(&c, 0, 0), 1);
    assert_int_equal(repl_epoch_cache_assign(&c, 2, 3), 1);
    assert_int_equal(repl_epoch_cache_assign(&c, 3, 5), 1);
    int fds = kc_test_fd_count();
    assert_int_equal(repl_ckpt_epochs_write(dir, &c), 0);
    char path[4096], *text;
    size_t len;
    assert_int_equal(kc_path_join(path, sizeof(path), dir, "leader-epoch-checkpoint"), 0);
    assert_int_equal(kc_read_file(path, 1 << 20, &text, &len), 0);
    assert_string_equal(text, EPOCHS);
    free(text);
    assert_int_equal(repl_ckpt_epochs_read(dir, &back), 0);
    assert_int_equal(back.n, 3);
    assert_memory_equal(back.v, c.v, 3 * sizeof(*c.v));
    assert_int_equal(kc_path_join(path, sizeof(path), dir, "leader-epoch-checkpoint.tmp"), 0);
    assert_int_equal(access(path, F_OK), -1); /* the temp file was renamed away */
    repl_epoch_cache_clear(&c);
    assert_int_equal(repl_ckpt_epochs_write(dir, &c), 0); /* "0\n0\n" */
    assert_int_equal(repl_ckpt_epochs_read(dir, &back), 0);
    assert_int_equal(back.n, 0);
    assert_int_equal(kc_test_fd_count(), fds);
    repl_epoch_cache_fini(&c);
    repl_epoch_cache_fini(&back);
}

static void test_ckpt_offsets_kafka_bytes_roundtrip(void **state)
{
    char *dir = *state;
    char path[4096];
    assert_int_equal(kc_path_join(path, sizeof(path), dir, REPL_HW_CHECKPOINT), 0);
    struct repl_offset_entry in[3] = {
        {"payments", 0, 1200}, {"payments", 1, 877}, {"logs.v2_x-y", 12, 0}};
    assert_int_equal(repl_ckpt_offsets_write(path, in, 3), 0);
    char *text;
    size_t len;
    assert_int_equal(kc_read_file(path, 1 << 20, &text, &len), 0);
    assert_string_equal(text, OFFSETS);
    free(text);
    struct repl_offset_entry *out;
    size_t n;
    assert_int_equal(repl_ckpt_offsets_read(path, &out, &n), 0);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(out[i].topic, in[i].topic);
        assert_int_equal(out[i].partition, in[i].partition);
        assert_int_equal(out[i].offset, in[i].offset);
    }
    free(out);
}

static void test_ckpt_every_truncated_prefix_malformed(void **state)
{
    (void)state;
    for (size_t len = 0; len < sizeof(EPOCHS) - 1; len++)
        assert_int_equal(decode_epochs(EPOCHS, len), KC_EMALFORMED);
    assert_int_equal(decode_epochs(EPOCHS, sizeof(EPOCHS) - 1), 0);
    for (size_t len = 0; len < sizeof(OFFSETS) - 1; len++)
        assert_int_equal(decode_offsets(OFFSETS, len), KC_EMALFORMED);
    assert_int_equal(decode_offsets(OFFSETS, sizeof(OFFSETS) - 1), 0);
}

static void test_ckpt_epochs_malformed_rejected(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "1\n1\n0 0\n",                   /* unknown version */
        "0\n1\n0 0\n1 5\n",              /* more lines than counted */
        "0\n2\n0 0\n\n",                 /* an empty line */
        "0\n1\n-1 0\n",                  /* negative */
        "0\n1\n+1 0\n",                  /* signed */
        "0\n1\n01 0\n",                  /* leading zero */
        "0\n1\n0  0\n",                  /* two spaces */
        "0\n1\n0\t0\n",                  /* a tab */
        "0\n1\n0 0\r\n",                 /* CRLF */
        "0\n1\n0 0 0\n",                 /* a third field */
        "0\n1\n2147483648 0\n",          /* epoch beyond int32 */
        "0\n1\n0 9223372036854775808\n", /* offset beyond int64 */
        "0\n2\n3 0\n2 5\n",              /* epochs out of order */
        "0\n2\n2 5\n3 4\n",              /* start offsets out of order */
        "0\n2\n2 5\n2 6\n",              /* the same epoch twice */
        "0\n99999999\n0 0\n",            /* a count no file this size can hold */
        "0\n1\n0 x\n",
        "00\n0\n",
        "\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (decode_epochs(bad[i], strlen(bad[i])) != KC_EMALFORMED)
            fail_msg("accepted: \"%s\"", bad[i]);
    const char *max = "0\n1\n2147483647 9223372036854775807\n";
    assert_int_equal(decode_epochs(max, strlen(max)), 0);
}

static void test_ckpt_offsets_malformed_rejected(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "0\n1\nt 0\n",          /* a missing field */
        "0\n1\nt 0 5 6\n",      /* an extra one */
        "0\n1\nbad/name 0 5\n", /* not a topic name */
        "0\n1\n 0 5\n",         /* an empty one */
        "0\n1\nt -1 5\n",       "0\n1\nt 2147483648 5\n",
        "0\n2\nt 0 5\nt 0 6\n", /* the same partition twice */
        "0\n2\nt 0 5\n",        "1\n0\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (decode_offsets(bad[i], strlen(bad[i])) != KC_EMALFORMED)
            fail_msg("accepted: \"%s\"", bad[i]);
    assert_int_equal(decode_offsets("0\n0\n", 4), 0);
}

static void test_ckpt_missing_and_oversized_files(void **state)
{
    char *dir = *state;
    struct repl_epoch_cache c;
    repl_epoch_cache_init(&c);
    assert_int_equal(repl_ckpt_epochs_read(dir, &c), -ENOENT);
    char path[4096];
    assert_int_equal(kc_path_join(path, sizeof(path), dir, "leader-epoch-checkpoint"), 0);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)17 << 20), 0); /* 17 MiB of zeros */
    close(fd);
    assert_int_equal(repl_ckpt_epochs_read(dir, &c), KC_ETOOLARGE);
    struct repl_offset_entry *v;
    size_t n;
    assert_int_equal(repl_ckpt_offsets_read(path, &v, &n), KC_ETOOLARGE);
    assert_int_equal(kc_path_join(path, sizeof(path), dir, "nope"), 0);
    assert_int_equal(repl_ckpt_offsets_read(path, &v, &n), -ENOENT);
    assert_int_equal(repl_ckpt_epochs_write("/nonexistent-dir-for-test", &c), -ENOENT);
    repl_epoch_cache_fini(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ckpt_epochs_kafka_bytes_roundtrip, kc_test_dir_setup,
                                        kc_test_dir_teardown),
        cmocka_unit_test_setup_teardown(test_ckpt_offsets_kafka_bytes_roundtrip, kc_test_dir_setup,
                                        kc_test_dir_teardown),
        cmocka_unit_test(test_ckpt_every_truncated_prefix_malformed),
        cmocka_unit_test(test_ckpt_epochs_malformed_rejected),
        cmocka_unit_test(test_ckpt_offsets_malformed_rejected),
        cmocka_unit_test_setup_teardown(test_ckpt_missing_and_oversized_files, kc_test_dir_setup,
                                        kc_test_dir_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
