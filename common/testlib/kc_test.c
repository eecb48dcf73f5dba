/* kc_test.c - temp dirs, leak counters, fixtures and seeds for the cmocka tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kc_common.h"
#include "kc_test.h"

char *kc_test_tmpdir(void)
{
    char path[4096];
    int rc = kc_mkdtemp("kc-test-", path, sizeof(path));
    if (rc) {
        fail_msg("kc_mkdtemp: %s", kc_strerror(rc));
    }
    char *dup = strdup(path);
    assert_non_null(dup);
    return dup;
}

void kc_test_rmdir(char *dir)
{
    if (!dir)
        return;
    int rc = kc_rm_rf(dir);
    if (rc)
        fail_msg("kc_rm_rf(%s): %s", dir, kc_strerror(rc));
    free(dir);
}

int kc_test_dir_setup(void **state)
{
    *state = kc_test_tmpdir();
    return 0;
}

int kc_test_dir_teardown(void **state)
{
    kc_test_rmdir(*state);
    *state = NULL;
    return 0;
}

int kc_test_fd_count(void)
{
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        n += de->d_name[0] != '.';
    closedir(d);
    return n - 1; /* the directory stream's own fd */
}

int kc_test_map_count(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    assert_non_null(f);
    int n = 0, c;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

uint8_t *kc_test_load(const char *relpath, size_t *len)
{
    const char *root = getenv("KC_SRC_DIR");
    char path[4096];
    char *data;
    snprintf(path, sizeof(path), "%s/%s", root && *root ? root : ".", relpath);
    int rc = kc_read_file(path, 64u << 20, &data, len);
    if (rc)
        fail_msg("cannot load fixture %s: %s", path, kc_strerror(rc));
    return (uint8_t *)data;
}

uint64_t kc_test_seed(void)
{
    const char *env = getenv("KC_TEST_SEED");
    uint64_t seed = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL) ^ (uint64_t)clock();
    if (seed == 0)
        seed = 1;
    printf("# seed %" PRIu64 " (replay with KC_TEST_SEED=%" PRIu64 ")\n", seed, seed);
    return seed;
}

uint64_t kc_test_rand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}
