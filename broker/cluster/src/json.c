/*
 * json.c - the strict JSON reader (clu_json.h): recursive descent into a token array.
 *
 *   value   = object | array | string | number | true | false | null
 *   object  = "{" [ string ":" value *( "," string ":" value ) ] "}"
 *   array   = "[" [ value *( "," value ) ] "]"
 *   number  = [ "-" ] ( "0" | [1-9][0-9]* ) [ "." [0-9]+ ] [ ( "e" | "E" ) [ "+" | "-" ] [0-9]+ ]
 *
 * Each parse_* function consumes one production at ps->pos or fails; on failure the whole
 * parse fails (no recovery, no partial result). Depth is counted on entry to an object or
 * array, so hostile nesting costs at most CLU_JSON_MAX_DEPTH stack frames.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clu_json.h"
#include "kc_err.h"

struct parser {
    struct clu_json *j;
    const uint8_t *p;
    size_t len, pos;
    int depth;
};

static int parse_value(struct parser *ps);

static void skip_ws(struct parser *ps)
{
    while (ps->pos < ps->len) {
        uint8_t c = ps->p[ps->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            return;
        ps->pos++;
    }
}

/* Append a token; its index in *idx (indices survive the array's growth, pointers don't). */
static int push(struct parser *ps, uint8_t type, uint32_t start, uint32_t *idx)
{
    struct clu_json *j = ps->j;
    if (j->ntok == CLU_JSON_MAX_TOKENS)
        return KC_ETOOLARGE;
    if (j->ntok == j->cap) {
        uint32_t cap = j->cap ? j->cap * 2 : 16;
        struct clu_json_tok *v = realloc(j->tok, (size_t)cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        j->tok = v;
        j->cap = cap;
    }
    *idx = j->ntok++;
    j->tok[*idx] = (struct clu_json_tok){.type = type, .start = start, .end = start};
    return 0;
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0: overlong forms, surrogates and
 * code points beyond U+10FFFF are invalid (RFC 3629). */
static size_t utf8_len(const uint8_t *p, size_t left)
{
    uint8_t c = p[0];
    size_t n;
    uint32_t cp, min;
    if (c < 0x80)
        return 1;
    if ((c & 0xe0) == 0xc0)
        n = 2, cp = c & 0x1f, min = 0x80;
    else if ((c & 0xf0) == 0xe0)
        n = 3, cp = c & 0x0f, min = 0x800;
    else if ((c & 0xf8) == 0xf0)
        n = 4, cp = c & 0x07, min = 0x10000;
    else
        return 0;
    if (n > left)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

static int hex4(const uint8_t *p, size_t left, uint32_t *out)
{
    uint32_t v = 0;
    if (left < 4)
        return KC_EMALFORMED;
    for (int i = 0; i < 4; i++) {
        uint8_t c = p[i];
        uint32_t d;
        if (c >= '0' && c <= '9')
            d = (uint32_t)(c - '0');
        else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
            d = (uint32_t)((c | 0x20) - 'a' + 10);
        else
            return KC_EMALFORMED;
        v = v << 4 | d;
    }
    *out = v;
    return 0;
}

/* One escape after the backslash at p[0]: its length in *n and code point in *cp. A high
 * surrogate must be followed by a low one (\uD83D\uDE00); a lone one is malformed. */
static int escape_at(const uint8_t *p, size_t left, size_t *n, uint32_t *cp)
{
    static const char plain[] = "\"\\/bfnrt", value[] = "\"\\/\b\f\n\r\t";
    if (left < 2)
        return KC_EMALFORMED;
    const char *hit = p[1] ? strchr(plain, p[1]) : NULL;
    if (hit) {
        *n = 2;
        *cp = (uint8_t)value[hit - plain];
        return 0;
    }
    uint32_t hi, lo;
    if (p[1] != 'u' || hex4(p + 2, left - 2, &hi) != 0 || (hi >= 0xdc00 && hi <= 0xdfff))
        return KC_EMALFORMED;
    if (hi < 0xd800 || hi > 0xdbff) {
        *n = 6;
        *cp = hi;
        return 0;
    }
    if (left < 12 || p[6] != '\\' || p[7] != 'u' || hex4(p + 8, left - 8, &lo) != 0 ||
        lo < 0xdc00 || lo > 0xdfff)
        return KC_EMALFORMED;
    *n = 12;
    *cp = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
    return 0;
}

static int parse_string(struct parser *ps)
{
    uint32_t idx;
    int rc = push(ps, CLU_JSON_STRING, (uint32_t)(ps->pos + 1), &idx);
    if (rc < 0)
        return rc;
    ps->pos++; /* the opening quote */
    while (ps->pos < ps->len) {
        const uint8_t *p = ps->p + ps->pos;
        size_t left = ps->len - ps->pos, n;
        uint32_t cp;
        if (*p == '"') {
            ps->j->tok[idx].end = (uint32_t)ps->pos;
            ps->j->tok[idx].next = ps->j->ntok;
            ps->pos++;
            return 0;
        }
        if (*p < 0x20)
            return KC_EMALFORMED; /* raw control characters must be escaped */
        if (*p == '\\') {
            if (escape_at(p, left, &n, &cp) != 0)
                return KC_EMALFORMED;
        } else if ((n = utf8_len(p, left)) == 0) {
            return KC_EMALFORMED;
        }
        ps->pos += n;
    }
    return KC_EMALFORMED; /* no closing quote */
}

static size_t digits(struct parser *ps)
{
    size_t n = 0;
    while (ps->pos < ps->len && ps->p[ps->pos] >= '0' && ps->p[ps->pos] <= '9')
        ps->pos++, n++;
    return n;
}

static int parse_number(struct parser *ps)
{
    uint32_t idx;
    int rc = push(ps, CLU_JSON_NUMBER, (uint32_t)ps->pos, &idx);
    if (rc < 0)
        return rc;
    if (ps->p[ps->pos] == '-')
        ps->pos++;
    if (ps->pos < ps->len && ps->p[ps->pos] == '0')
        ps->pos++; /* a leading zero stands alone: "01" is two tokens, so malformed */
    else if (digits(ps) == 0)
        return KC_EMALFORMED;
    if (ps->pos < ps->len && ps->p[ps->pos] == '.') {
        ps->pos++;
        if (digits(ps) == 0)
            return KC_EMALFORMED;
    }
    if (ps->pos < ps->len && (ps->p[ps->pos] | 0x20) == 'e') {
        ps->pos++;
        if (ps->pos < ps->len && (ps->p[ps->pos] == '+' || ps->p[ps->pos] == '-'))
            ps->pos++;
        if (digits(ps) == 0)
            return KC_EMALFORMED;
    }
    ps->j->tok[idx].end = (uint32_t)ps->pos;
    ps->j->tok[idx].next = ps->j->ntok;
    return 0;
}

static int parse_literal(struct parser *ps, const char *word, uint8_t type)
{
    size_t n = strlen(word);
    if (ps->len - ps->pos < n || memcmp(ps->p + ps->pos, word, n) != 0)
        return KC_EMALFORMED;
    uint32_t idx;
    int rc = push(ps, type, (uint32_t)ps->pos, &idx);
    if (rc < 0)
        return rc;
    ps->pos += n;
    ps->j->tok[idx].end = (uint32_t)ps->pos;
    ps->j->tok[idx].next = ps->j->ntok;
    return 0;
}

/* An object member's "key" and its colon. */
static int parse_key(struct parser *ps)
{
    if (ps->pos >= ps->len || ps->p[ps->pos] != '"')
        return KC_EMALFORMED;
    int rc = parse_string(ps);
    if (rc != 0)
        return rc;
    skip_ws(ps);
    if (ps->pos >= ps->len || ps->p[ps->pos] != ':')
        return KC_EMALFORMED;
    ps->pos++;
    return 0;
}

/* "{...}" or "[...]": `close` is the closing bracket; objects read "key:" before a value. */
static int parse_container(struct parser *ps, uint8_t type, uint8_t close)
{
    uint32_t idx, count = 0;
    int rc = push(ps, type, (uint32_t)ps->pos, &idx);
    if (rc < 0)
        return rc;
    if (++ps->depth > CLU_JSON_MAX_DEPTH)
        return KC_EMALFORMED;
    ps->pos++;
    skip_ws(ps);
    if (ps->pos < ps->len && ps->p[ps->pos] == close)
        goto done;
    for (;;) {
        if (type == CLU_JSON_OBJECT && (rc = parse_key(ps)) != 0)
            return rc;
        if ((rc = parse_value(ps)) != 0)
            return rc;
        count++;
        skip_ws(ps);
        if (ps->pos >= ps->len)
            return KC_EMALFORMED;
        if (ps->p[ps->pos] == close)
            break;
        if (ps->p[ps->pos] != ',')
            return KC_EMALFORMED;
        ps->pos++;
        skip_ws(ps);
    }
done:
    ps->pos++;
    ps->depth--;
    ps->j->tok[idx].end = (uint32_t)ps->pos;
    ps->j->tok[idx].count = count;
    ps->j->tok[idx].next = ps->j->ntok;
    return 0;
}

static int parse_value(struct parser *ps)
{
    skip_ws(ps);
    if (ps->pos >= ps->len)
        return KC_EMALFORMED;
    switch (ps->p[ps->pos]) {
    case '{':
        return parse_container(ps, CLU_JSON_OBJECT, '}');
    case '[':
        return parse_container(ps, CLU_JSON_ARRAY, ']');
    case '"':
        return parse_string(ps);
    case 't':
        return parse_literal(ps, "true", CLU_JSON_TRUE);
    case 'f':
        return parse_literal(ps, "false", CLU_JSON_FALSE);
    case 'n':
        return parse_literal(ps, "null", CLU_JSON_NULL);
    default:
        if (ps->p[ps->pos] == '-' || (ps->p[ps->pos] >= '0' && ps->p[ps->pos] <= '9'))
            return parse_number(ps);
        return KC_EMALFORMED;
    }
}

int clu_json_parse(struct clu_json *j, const char *text, size_t len)
{
    memset(j, 0, sizeof(*j));
    if (len >= UINT32_MAX)
        return KC_ETOOLARGE;
    j->text = text;
    j->len = len;
    struct parser ps = {.j = j, .p = (const uint8_t *)text, .len = len};
    int rc = parse_value(&ps);
    if (rc == 0) {
        skip_ws(&ps);
        if (ps.pos != len)
            rc = KC_EMALFORMED; /* one value, then only whitespace */
    }
    if (rc != 0)
        clu_json_fini(j);
    return rc;
}

void clu_json_fini(struct clu_json *j)
{
    free(j->tok);
    j->tok = NULL;
    j->ntok = j->cap = 0;
}

/* Code point cp as UTF-8 in enc; its length. */
static size_t utf8_encode(uint32_t cp, uint8_t enc[4])
{
    if (cp < 0x80) {
        enc[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        enc[0] = (uint8_t)(0xc0 | cp >> 6);
        enc[1] = (uint8_t)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        enc[0] = (uint8_t)(0xe0 | cp >> 12);
        enc[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
        enc[2] = (uint8_t)(0x80 | (cp & 0x3f));
        return 3;
    }
    enc[0] = (uint8_t)(0xf0 | cp >> 18);
    enc[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
    enc[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
    enc[3] = (uint8_t)(0x80 | (cp & 0x3f));
    return 4;
}

/* Unescape string token t into buf (cap > 0), or only measure it when buf is NULL. */
static int unescape(const struct clu_json *j, uint32_t t, char *buf, size_t cap, size_t *len)
{
    const struct clu_json_tok *tk = &j->tok[t];
    const uint8_t *p = (const uint8_t *)j->text + tk->start;
    const uint8_t *end = (const uint8_t *)j->text + tk->end;
    size_t n = 0;
    while (p < end) {
        uint8_t enc[4];
        size_t step, m;
        uint32_t cp;
        if (*p != '\\') {
            step = m = 1;
            enc[0] = *p;
        } else {
            (void)escape_at(p, (size_t)(end - p), &step, &cp); /* validated by the parse */
            if (cp == 0)
                return KC_EMALFORMED; /* "\u0000": a C string cannot hold it */
            m = utf8_encode(cp, enc);
        }
        if (buf) {
            if (n + m >= cap)
                return KC_ETOOLARGE;
            memcpy(buf + n, enc, m);
        }
        n += m;
        p += step;
    }
    if (buf)
        buf[n] = '\0';
    if (len)
        *len = n;
    return 0;
}

int clu_json_str(const struct clu_json *j, uint32_t t, char *buf, size_t cap, size_t *len)
{
    if (t >= j->ntok || j->tok[t].type != CLU_JSON_STRING)
        return KC_EMALFORMED;
    if (cap == 0)
        return KC_ETOOLARGE;
    return unescape(j, t, buf, cap, len);
}

bool clu_json_str_eq(const struct clu_json *j, uint32_t t, const char *s)
{
    if (t >= j->ntok || j->tok[t].type != CLU_JSON_STRING)
        return false;
    const struct clu_json_tok *tk = &j->tok[t];
    size_t n = strlen(s);
    /* The common case, no escapes: compare in place. */
    if (tk->end - tk->start == n && memchr(j->text + tk->start, '\\', n) == NULL)
        return memcmp(j->text + tk->start, s, n) == 0;
    char tmp[256];
    size_t m;
    return n < sizeof(tmp) && unescape(j, t, tmp, sizeof(tmp), &m) == 0 && m == n &&
           memcmp(tmp, s, n) == 0;
}

int clu_json_member(const struct clu_json *j, uint32_t obj, const char *key, uint32_t *val)
{
    if (obj >= j->ntok || j->tok[obj].type != CLU_JSON_OBJECT)
        return KC_EMALFORMED;
    int found = 0;
    uint32_t k = obj + 1;
    for (uint32_t i = 0; i < j->tok[obj].count; i++) {
        if (clu_json_str_eq(j, k, key)) {
            if (found++)
                return KC_EMALFORMED; /* the same key twice: which one is meant? */
            *val = k + 1;
        }
        k = j->tok[k + 1].next;
    }
    return found ? 0 : -ENOENT;
}

int clu_json_int(const struct clu_json *j, uint32_t t, int64_t min, int64_t max, int64_t *out)
{
    if (t >= j->ntok || j->tok[t].type != CLU_JSON_NUMBER)
        return KC_EMALFORMED;
    const char *p = j->text + j->tok[t].start, *end = j->text + j->tok[t].end;
    bool neg = *p == '-';
    p += neg;
    uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9')
            return KC_EMALFORMED; /* a fraction or an exponent: not an integer */
        uint64_t d = (uint64_t)(*p - '0');
        if (v > (limit - d) / 10)
            return -ERANGE;
        v = v * 10 + d;
    }
    int64_t x = neg ? (int64_t)(0 - v) : (int64_t)v;
    if (x < min || x > max)
        return -ERANGE;
    *out = x;
    return 0;
}
