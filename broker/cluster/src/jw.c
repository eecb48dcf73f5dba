/*
 * jw.c - JSON writing and typed reading helpers for the znode bodies (clu_jw.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "clu_jw.h"
#include "kc_err.h"

void clu__jw_raw(struct kc_writer *w, const char *s)
{
    kc_write_raw(w, s, strlen(s));
}

void clu__jw_str(struct kc_writer *w, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    kc_write_raw(w, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            char esc[2] = {'\\', (char)*p};
            kc_write_raw(w, esc, 2);
        } else if (*p < 0x20) {
            char esc[6] = {'\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15]};
            kc_write_raw(w, esc, 6);
        } else {
            kc_write_raw(w, p, 1);
        }
    }
    kc_write_raw(w, "\"", 1);
}

void clu__jw_int(struct kc_writer *w, int64_t v)
{
    char buf[24];
    int n = snprintf(buf, sizeof(buf), "%" PRId64, v);
    kc_write_raw(w, buf, (size_t)n);
}

void clu__jw_ints(struct kc_writer *w, const int32_t *v, int n)
{
    kc_write_raw(w, "[", 1);
    for (int i = 0; i < n; i++) {
        if (i)
            kc_write_raw(w, ",", 1);
        clu__jw_int(w, v[i]);
    }
    kc_write_raw(w, "]", 1);
}

void clu__jw_key(struct kc_writer *w, const char *key, int first)
{
    if (!first)
        kc_write_raw(w, ",", 1);
    clu__jw_str(w, key);
    kc_write_raw(w, ":", 1);
}

int clu__jr_object(struct clu_json *j, const char *p, size_t len)
{
    int rc = clu_json_parse(j, p, len);
    if (rc == 0 && j->tok[0].type != CLU_JSON_OBJECT) {
        clu_json_fini(j);
        rc = KC_EMALFORMED;
    }
    return rc;
}

int clu__jr_int(const struct clu_json *j, uint32_t obj, const char *key, int64_t min, int64_t max,
                int64_t *out)
{
    uint32_t v;
    int rc = clu_json_member(j, obj, key, &v);
    if (rc != 0)
        return rc;
    rc = clu_json_int(j, v, min, max, out);
    return rc == -ERANGE ? KC_EMALFORMED : rc;
}

int clu__jr_i32(const struct clu_json *j, uint32_t obj, const char *key, int32_t min, int32_t max,
                int32_t *out)
{
    int64_t v;
    int rc = clu__jr_int(j, obj, key, min, max, &v);
    if (rc == 0)
        *out = (int32_t)v;
    return rc;
}

int clu__jr_str(const struct clu_json *j, uint32_t obj, const char *key, char *buf, size_t cap)
{
    uint32_t v;
    int rc = clu_json_member(j, obj, key, &v);
    if (rc != 0)
        return rc;
    rc = clu_json_str(j, v, buf, cap, NULL);
    return rc == KC_ETOOLARGE ? KC_EMALFORMED : rc;
}

int clu__jr_ints(const struct clu_json *j, uint32_t arr, int32_t min, int32_t max, int32_t *out,
                 int cap, int *n, bool distinct)
{
    if (arr >= j->ntok || j->tok[arr].type != CLU_JSON_ARRAY || j->tok[arr].count > (uint32_t)cap)
        return KC_EMALFORMED;
    int m = 0;
    for (uint32_t t = arr + 1; t < j->tok[arr].next; t = j->tok[t].next) {
        int64_t v;
        if (clu_json_int(j, t, min, max, &v) != 0)
            return KC_EMALFORMED;
        for (int i = 0; distinct && i < m; i++)
            if (out[i] == v)
                return KC_EMALFORMED; /* a broker listed twice */
        out[m++] = (int32_t)v;
    }
    *n = m;
    return 0;
}
