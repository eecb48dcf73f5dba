/*
 * clu_jw.h - what the znode encoders and decoders share (private): a few JSON writing
 * helpers over kc_writer, and typed member lookups over clu_json.
 *
 * Writing: the helpers append text; errors stay in the writer (sticky), the caller checks
 * kc_writer_error() once at the end. Strings are escaped as JSON requires (quote,
 * backslash, control characters); UTF-8 passes through unchanged.
 *
 * Reading: each getter returns 0, -ENOENT (absent: the caller decides if that is
 * allowed), KC_EMALFORMED (wrong type, or a duplicate key), -ERANGE (an integer out of
 * range; callers turn it into KC_EMALFORMED).
 */
#ifndef CLU_JW_H
#define CLU_JW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clu_json.h"
#include "kc_buf.h"

void clu__jw_raw(struct kc_writer *w, const char *s);
void clu__jw_str(struct kc_writer *w, const char *s);
void clu__jw_int(struct kc_writer *w, int64_t v);
/* [a,b,c] */
void clu__jw_ints(struct kc_writer *w, const int32_t *v, int n);
/* "key": (with the quote and colon; a comma before it unless first) */
void clu__jw_key(struct kc_writer *w, const char *key, int first);

int clu__jr_int(const struct clu_json *j, uint32_t obj, const char *key, int64_t min, int64_t max,
                int64_t *out);
int clu__jr_i32(const struct clu_json *j, uint32_t obj, const char *key, int32_t min, int32_t max,
                int32_t *out);
int clu__jr_str(const struct clu_json *j, uint32_t obj, const char *key, char *buf, size_t cap);
/* An array of ints in [min, max], at most cap of them; `distinct`: no value twice. */
int clu__jr_ints(const struct clu_json *j, uint32_t arr, int32_t min, int32_t max, int32_t *out,
                 int cap, int *n, bool distinct);
/* Parse a whole body whose top level must be an object. */
int clu__jr_object(struct clu_json *j, const char *p, size_t len);

#endif
