/*
 * cli_out.h - the two shapes the admin verbs print: aligned tables for people, one JSON
 * document for scripts (--json).
 *
 * JSON: a streaming writer that places the commas and the closing brackets, so a verb
 * writes its document in the order it learns things:
 *
 *   cli__json_open(j, '{');  cli__json_key(j, "topics");  cli__json_open(j, '[');
 *     cli__json_str(j, "payments");  cli__json_str(j, "logs");
 *   cli__json_close(j, ']');  cli__json_close(j, '}');     ->  {"topics":["payments","logs"]}
 *
 * (the first and last three calls are cli__json_list_begin(j, "topics") and _list_end)
 *
 * Strings are escaped as RFC 8259 requires (quote, backslash, control characters), and
 * since a JSON text must be Unicode, bytes that are not valid UTF-8 (a group id can hold
 * anything) become U+FFFD, each one; valid UTF-8 passes through untouched. Numbers are
 * int64 as decimal: a consumer that reads them as doubles loses precision above 2^53, as
 * with any JSON.
 *
 * Tables: cells are added row by row (printf-style or an escaped slice); printing pads every
 * column to its widest cell, counting UTF-8 characters, two spaces apart, the header first,
 * as Kafka's tools print theirs.
 *
 * Rules: both belong to one thread; the table owns copies of its cells.
 */
#ifndef CLI_OUT_H
#define CLI_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "kc_buf.h"

#define CLI_JSON_DEPTH 16

struct cli_json {
    FILE *f;
    int depth;
    bool comma[CLI_JSON_DEPTH + 1]; /* something was written at this depth: a comma first */
    bool after_key;                 /* a key was written: its value needs no comma */
};

void cli__json_init(struct cli_json *j, FILE *f);
/* '{' or '['; deeper than CLI_JSON_DEPTH is a programmer error (assert). */
void cli__json_open(struct cli_json *j, char bracket);
/* '}' or ']'; closing the outermost writes a newline. */
void cli__json_close(struct cli_json *j, char bracket);
void cli__json_key(struct cli_json *j, const char *key);
void cli__json_str(struct cli_json *j, const char *s);       /* NULL: null */
void cli__json_slice(struct cli_json *j, struct kc_slice s); /* len -1: null */
void cli__json_int(struct cli_json *j, int64_t v);
void cli__json_bool(struct cli_json *j, bool v);
void cli__json_null(struct cli_json *j);
/* The key and the value in one call. */
void cli__json_kstr(struct cli_json *j, const char *key, const char *s);
void cli__json_kslice(struct cli_json *j, const char *key, struct kc_slice s);
void cli__json_kint(struct cli_json *j, const char *key, int64_t v);
void cli__json_kbool(struct cli_json *j, const char *key, bool v);
/* Most verbs' document: an object holding one list, {"<key>":[ ... ]}. begin opens both;
 * end closes a list and the object around it (whatever else that object holds). */
void cli__json_list_begin(struct cli_json *j, const char *key);
void cli__json_list_end(struct cli_json *j);

/* p[0..n) as a JSON string, quotes included, escaped as described above. */
void cli__json_escape(FILE *f, const uint8_t *p, size_t n);

struct cli_table {
    int ncols;
    const char *const *heads;
    char **cells;      /* row-major, nrows * ncols, each malloc'ed ("" after a failure) */
    size_t nrows, cap; /* rows started, rows of room */
    int col;           /* cells already in the last row */
};

void cli__table_init(struct cli_table *t, int ncols, const char *const *heads);
/* The next cell (a new row after the last one's ncols cells). */
void cli__table_add(struct cli_table *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The next cell: s escaped as cli_escape does (one line, no control bytes); null is "-". */
void cli__table_slice(struct cli_table *t, struct kc_slice s);
void cli__table_print(const struct cli_table *t, FILE *f);
void cli__table_fini(struct cli_table *t);

#endif
