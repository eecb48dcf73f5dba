/*
 * clu_json.h - a small strict JSON reader (RFC 8259) for the bodies Kafka keeps in znodes.
 *
 * Kafka's ZooKeeper layout stores JSON in every znode that is not a bare number:
 *
 *   /brokers/topics/payments/partitions/0/state
 *   {"controller_epoch":3,"leader":2,"version":1,"leader_epoch":7,"isr":[2,1]}
 *
 * The reader turns the text into a flat array of tokens, one per value, in document order
 * (jsmn's idea, with one more field): each token knows where its subtree ends, so walking
 * an object's members or an array's elements is "first child, then ->next".
 *
 *   text   {"leader":2,"isr":[2,1]}
 *   tok    0 OBJECT count 2 next 6
 *          1 STRING "leader"          2 NUMBER 2
 *          3 STRING "isr"             4 ARRAY count 2 next 6    5 NUMBER 2    6 NUMBER 1
 *
 *   (object members are a key token followed by the value's subtree)
 *
 * Strict means: one value, optionally surrounded by whitespace; strings are valid UTF-8
 * with no raw control characters and only the escapes JSON defines (a \u surrogate must be
 * paired); numbers have JSON's grammar (no leading zeros, no "+", no ".5"); nesting is
 * bounded (CLU_JSON_MAX_DEPTH). Anything else is KC_EMALFORMED - never a partial result.
 * A znode's data arrives whole, so there is no "need more bytes" here: a truncated body is
 * malformed, and the tests check every truncated prefix of every fixture.
 *
 * Duplicate keys are not refused by the parser (that costs O(n^2) on large objects);
 * clu_json_member refuses to pick one: a key present twice is KC_EMALFORMED there.
 *
 * Ownership: struct clu_json points into the caller's text (it must outlive the lookups)
 * and owns its token array (clu_json_fini frees it). No threads, no global state.
 */
#ifndef CLU_JSON_H
#define CLU_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CLU_JSON_MAX_DEPTH  64
#define CLU_JSON_MAX_TOKENS (1u << 22) /* a 1 MiB znode cannot need more */

enum clu_json_type {
    CLU_JSON_OBJECT = 1,
    CLU_JSON_ARRAY,
    CLU_JSON_STRING,
    CLU_JSON_NUMBER,
    CLU_JSON_TRUE,
    CLU_JSON_FALSE,
    CLU_JSON_NULL,
};

struct clu_json_tok {
    uint8_t type;   /* enum clu_json_type */
    uint32_t start; /* the value's bytes [start, end); a string's without its quotes */
    uint32_t end;
    uint32_t count; /* OBJECT: members, ARRAY: elements */
    uint32_t next;  /* the token after this value's subtree (ntok at the end) */
};

struct clu_json {
    const char *text;
    size_t len;
    struct clu_json_tok *tok;
    uint32_t ntok, cap;
};

/* Parse text[0..len). 0; KC_EMALFORMED; KC_ETOOLARGE (more than CLU_JSON_MAX_TOKENS
 * values, or len >= 4 GiB); -ENOMEM. On failure j holds no tokens (fini is still safe). */
int clu_json_parse(struct clu_json *j, const char *text, size_t len);
void clu_json_fini(struct clu_json *j);

/* The value of member `key` of object token `obj`: 0 and *val; -ENOENT when absent;
 * KC_EMALFORMED when obj is not an object or the key appears more than once. */
int clu_json_member(const struct clu_json *j, uint32_t obj, const char *key, uint32_t *val);

/* An integer in [min, max] (JSON integer syntax only: no fraction, no exponent).
 * 0, KC_EMALFORMED (not an integer number), -ERANGE. */
int clu_json_int(const struct clu_json *j, uint32_t t, int64_t min, int64_t max, int64_t *out);

/* A string's value, unescaped to UTF-8 and NUL-terminated in buf[0..cap). 0 and the
 * length in *len (may be NULL); KC_EMALFORMED (not a string, or it holds a NUL that a C
 * string cannot carry); KC_ETOOLARGE (does not fit). */
int clu_json_str(const struct clu_json *j, uint32_t t, char *buf, size_t cap, size_t *len);

/* Is string token t exactly `s` (after unescaping)? */
bool clu_json_str_eq(const struct clu_json *j, uint32_t t, const char *s);

#endif
