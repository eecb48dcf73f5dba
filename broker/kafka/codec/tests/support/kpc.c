/*
 * kpc.c - fixture walking and the generic filler for the codec's tests (see kpc.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kc_test.h"
#include "kp_int.h"
#include "kpc.h"

uint8_t *kpc_dup(const void *p, size_t n)
{
    uint8_t *c = malloc(n ? n : 1);
    assert_non_null(c);
    if (n)
        memcpy(c, p, n);
    return c;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted entries of dir (relative to the source root) ending in suffix. */
static int list_dir(const char *dir, const char *suffix, char **names, int max)
{
    char path[512];
    const char *root = getenv("KC_SRC_DIR");
    snprintf(path, sizeof(path), "%s/%s", root && *root ? root : ".", dir);
    DIR *dh = opendir(path);
    if (!dh)
        fail_msg("cannot open %s", path);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(dh)) && n < max) {
        size_t l = strlen(de->d_name), sl = strlen(suffix);
        if (de->d_name[0] == '.' || l < sl || strcmp(de->d_name + l - sl, suffix))
            continue;
        names[n++] = strdup(de->d_name);
    }
    (void)closedir(dh); /* read-only walk: nothing to lose */
    qsort(names, (size_t)n, sizeof(*names), cmp_str);
    return n;
}

static bool exists(const char *rel)
{
    char path[1024];
    const char *root = getenv("KC_SRC_DIR");
    struct stat st;
    snprintf(path, sizeof(path), "%s/%s", root && *root ? root : ".", rel);
    return stat(path, &st) == 0;
}

static void run_one(const char *scenario, const char *req_name,
                    void (*fn)(const struct kpc_fixture *, void *), void *arg)
{
    struct kpc_fixture fx = {0};
    char rel[768];
    size_t base_len = strlen(req_name) - 4; /* without ".req" */
    snprintf(fx.name, sizeof(fx.name), "%s/%.*s", scenario, (int)base_len, req_name);
    snprintf(rel, sizeof(rel), KPC_FIXTURES "/%s.req", fx.name);
    fx.req = kc_test_load(rel, &fx.req_len);
    if (fx.req_len < 8)
        fail_msg("%s: %zu bytes is no request frame", rel, fx.req_len);
    fx.key = (int16_t)kc_load_be16(fx.req + 4);
    fx.version = (int16_t)kc_load_be16(fx.req + 6);
    snprintf(rel, sizeof(rel), KPC_FIXTURES "/%s.resp", fx.name);
    if (exists(rel))
        fx.resp = kc_test_load(rel, &fx.resp_len);
    fn(&fx, arg);
    free(fx.req);
    free(fx.resp);
}

/* Every fixture pair in dir (relative to the fixtures root), then in its subfolders. */
static int walk(const char *dir, void (*fn)(const struct kpc_fixture *, void *), void *arg)
{
    char path[512], *names[256];
    snprintf(path, sizeof(path), KPC_FIXTURES "/%s", dir);
    int total = 0, n = list_dir(path, ".req", names, 256);
    for (int j = 0; j < n; j++) {
        run_one(dir, names[j], fn, arg);
        free(names[j]);
        total++;
    }
    n = list_dir(path, "", names, 256);
    for (int j = 0; j < n; j++) {
        char sub[512];
        snprintf(sub, sizeof(sub), "%s/%s", dir, names[j]);
        /* frames have a dot in their names, INDEX is a file: the rest are folders */
        if (!strchr(names[j], '.') && strcmp(names[j], "INDEX") != 0)
            total += walk(sub, fn, arg);
        free(names[j]);
    }
    return total;
}

int kpc_each_fixture(void (*fn)(const struct kpc_fixture *fx, void *arg), void *arg)
{
    char *scen[64];
    int ns = list_dir(KPC_FIXTURES, "", scen, 64), total = 0;
    for (int i = 0; i < ns; i++) {
        if (!strchr(scen[i], '.')) /* scenarios are folders; README.md is not one */
            total += walk(scen[i], fn, arg);
        free(scen[i]);
    }
    return total;
}
/* ---- the filler ----------------------------------------------------------------------- */

static const uint8_t pattern[64] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";

static void fill_value(const struct kp_field *f, uint8_t type, int16_t version, uint8_t *at,
                       struct kp_arena *a, int n_elems, uint32_t seed);

static void fill_array(const struct kp_field *f, int16_t version, uint8_t *at,
                       struct kp_arena *a, int n_elems, uint32_t seed)
{
    uint8_t *v = kp_arena_alloc(a, (size_t)n_elems * f->elem_size);
    assert_true(v || n_elems == 0);
    for (int i = 0; i < n_elems; i++) {
        uint8_t *el = v + (size_t)i * f->elem_size;
        if (f->elem == KP_T_STRUCT)
            kp_init(f->nested, el);
        fill_value(f, f->elem, version, el, a, n_elems, seed * 31 + (uint32_t)i);
    }
    int32_t n = n_elems;
    memcpy(at, &n, sizeof(n));
    memcpy(at + offsetof(struct kp__array, v), &v, sizeof(v));
}

static void fill_value(const struct kp_field *f, uint8_t type, int16_t version, uint8_t *at,
                       struct kp_arena *a, int n_elems, uint32_t seed)
{
    uint64_t x = (uint64_t)seed * 0x9E3779B97F4A7C15ull + 7;
    switch (type) {
    case KP_T_BOOL:
        *(bool *)at = !(f->def != 0);
        break;
    case KP_T_INT8:
    case KP_T_INT16:
    case KP_T_UINT16:
    case KP_T_INT32:
    case KP_T_UINT32:
    case KP_T_INT64:
        /* any value differs from the default once its low byte does */
        x = (uint64_t)f->def ^ ((x >> 8) | 1);
        if (type == KP_T_INT8)
            *(int8_t *)at = (int8_t)x;
        else if (type == KP_T_INT16 || type == KP_T_UINT16)
            *(uint16_t *)at = (uint16_t)x;
        else if (type == KP_T_INT32 || type == KP_T_UINT32)
            *(uint32_t *)at = (uint32_t)x;
        else
            memcpy(at, &x, 8);
        break;
    case KP_T_FLOAT64: {
        double d = 1.5 + seed;
        memcpy(at, &d, sizeof(d));
        break;
    }
    case KP_T_UUID:
        for (int i = 0; i < 16; i++)
            at[i] = (uint8_t)(x >> (i % 8 * 8)) | 1;
        break;
    case KP_T_STRING:
    case KP_T_BYTES:
    case KP_T_RECORDS:
        *(struct kc_slice *)at = (struct kc_slice){pattern, (int32_t)(1 + seed % 40)};
        break;
    case KP_T_STRUCT:
        kpc_fill(f->nested, version, at, a, n_elems, seed + 1);
        break;
    case KP_T_ARRAY:
        fill_array(f, version, at, a, n_elems, seed);
        break;
    }
}

void kpc_fill(const struct kp_schema *s, int16_t version, void *obj, struct kp_arena *a,
              int n_elems, uint32_t seed)
{
    kp_init(s, obj);
    for (uint16_t i = 0; i < s->nfields; i++) {
        const struct kp_field *f = &s->fields[i];
        if (!kp_vin(f->ver, version))
            continue;
        fill_value(f, f->type, version, (uint8_t *)obj + f->offset, a, n_elems,
                   seed * 131 + i);
    }
}
