/*
 * cli.h - kafka_cli: the Playground of the original project, done right.
 *
 * One program, two modes over the native protocol (np_client.h):
 *
 *   kafka_cli                         interactive: line editing and history (libedit),
 *                                     the original command codes and named aliases
 *   kafka_cli [-b host:port] CMD ...  one-shot: runs CMD, prints a stable line format on
 *                                     stdout, errors on stderr, exit status says how it went
 *
 * A line is split into words the way a shell would (cli_tokenize): "double quotes" and
 * 'single quotes' keep spaces, so `1 payments "Hello World"` produces one message, not
 * `"Hello` (the original's bug). Inside double quotes \" \\ \n \t \r and \xNN are escapes;
 * outside quotes a backslash makes the next character literal.
 *
 * Exit status (one-shot mode, and `kafka_cli < script`):
 *   0 success, 1 the broker answered with an error, 2 bad usage, 3 the broker could not be
 *   reached or the connection failed, 4 the connection could not be secured or
 *   authenticated (a TLS handshake or a SASL exchange failed).
 *
 * Security (src/security.c): --tls-ca/--tls-cert/--tls-key for the broker's TLS listeners,
 * --sasl-mechanism/--sasl-username and a password from a file or the environment for its
 * SASL listeners. Every connection (the command's, each load-test producer's) is opened
 * the same way: TCP, then TLS, then SASL.
 *
 * Output formats (stdout, one line per item, stable for scripts):
 *   create         topic=<t> partitions=<n>
 *   produce        topic=<t> partition=<p> offset=<o>
 *   produce-batch  topic=<t> partition=<p> base_offset=<o> count=<n>
 *   consume(-batch) <offset>\t<value>      value escaped (cli_escape) so a record is a line
 *   commit         group=<g> topic=<t> partition=<p> offset=<o>
 *   offset         <offset>                (-1: nothing committed)
 *   metadata       topic=<t> partition=<p> log_start=<s> log_end=<e>
 *
 * Rules: a struct cli belongs to one thread; the load test (cli_loadtest) starts its own
 * threads, each with its own connection. Nothing here is global.
 * Read next: src/commands.c (one function per command), src/loadtest.c.
 */
#ifndef CLI_H
#define CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "np_client.h"

#define CLI_VERSION "0.1.0"

enum cli_status {
    CLI_OK = 0,
    CLI_EBROKER = 1, /* the broker answered with an error */
    CLI_EUSAGE = 2,  /* the command line was wrong */
    CLI_ENET = 3,    /* could not reach the broker, or the connection broke */
    CLI_EAUTH = 4,   /* TLS or SASL refused: the certificate, the credentials */
};

/* ---- words ----------------------------------------------------------------------------- */

struct cli_args {
    int argc;
    char **argv; /* argv[argc] == NULL; the strings live in buf */
    char *buf;
};

/*
 * Split line into words (rules above). A line that is empty or starts with '#' gives
 * argc 0. Returns 0, -ENOMEM, or -EINVAL with a reason in err[errcap] (an unterminated
 * quote, a backslash at the end, a bad \x escape). Free with cli_args_free.
 */
int cli_tokenize(const char *line, struct cli_args *out, char *err, size_t errcap);
void cli_args_free(struct cli_args *a);

#define CLI_OPTLIST_MAX 64

/* The values of an option that may be repeated (--config a=1 --config b=2), in order. */
struct cli_optlist {
    const char *v[CLI_OPTLIST_MAX];
    int n;
};

/* One option a command accepts: "--name value", "--name=value", or a flag "--name". */
struct cli_opt {
    const char *name;   /* without the dashes */
    const char **value; /* for options with a value (NULL for flags); the last one counts */
    bool *flag;         /* for flags (NULL for options with a value) */
    struct cli_optlist *list; /* instead of value: every occurrence, in order */
};

/*
 * Separate options from positional words in argv[0..argc). "--" ends the options; "-"
 * alone is positional. Positionals are stored, in order, into pos[0..cap); *npos gets how
 * many. Returns 0 or -EINVAL with the reason in err (unknown option, missing value, too
 * many positionals). "-h" is the same as "--help" when opts has a "help" flag.
 */
int cli_getopt(int argc, char **argv, const struct cli_opt *opts, char **pos, int cap,
               int *npos, char *err, size_t errcap);

/* acks: "0", "1", "-1" or "all" -> 0 and *acks; -EINVAL otherwise. */
int cli_parse_acks(const char *s, int16_t *acks);

/* ---- output ---------------------------------------------------------------------------- */

/*
 * Write value[0..len) to f so that it stays on one line: \\ \t \n \r and bytes below 0x20
 * or 0x7f become \\ \t \n \r \xNN; everything else (UTF-8 included) is written as is.
 * len -1 (null) writes nothing.
 */
void cli_escape(FILE *f, const uint8_t *value, int32_t len);
/* "<offset>\t<escaped value>\n" */
void cli_print_record(FILE *f, int64_t offset, const uint8_t *value, int32_t len);

/* ---- commands -------------------------------------------------------------------------- */

#define CLI_PASSWORD_ENV "KAFKA_CLI_SASL_PASSWORD"

struct zc_tls_ctx;

/* The options that secure a connection (kafka_cli's global options; strings are argv's). */
struct cli_security {
    const char *tls_ca;             /* --tls-ca: TLS on, the broker checked against it */
    const char *tls_cert;           /* --tls-cert: our certificate (mutual TLS) */
    const char *tls_key;            /* --tls-key: its key (NULL: in tls_cert's file) */
    const char *sasl_mechanism;     /* --sasl-mechanism: PLAIN, SCRAM-SHA-256, -512 */
    const char *sasl_username;      /* --sasl-username */
    const char *sasl_password_file; /* --sasl-password-file */
    char *sasl_password;            /* read by cli_security_init; wiped by cli_fini */
    struct zc_tls_ctx *tls;         /* made by cli_security_init from tls_* */
};

struct cli {
    char addr[256];  /* host:port of the broker */
    int timeout_ms;  /* for every network wait */
    struct np_client client;
    bool connected;
    bool interactive; /* the REPL: errors do not end the program */
    FILE *out;       /* results */
    FILE *err;       /* errors, progress */
    struct cli_security sec;
    const char *bootstrap; /* --bootstrap-server: the admin verbs' Kafka brokers (NULL:
                              addr, since the broker serves both protocols on one port) */
};

void cli_init(struct cli *cli, const char *addr, FILE *out, FILE *err);
/* Disconnect, and wipe and free the security state. */
void cli_fini(struct cli *cli);
/* After filling cli->sec's options: check them, read the password (file, else
 * $KAFKA_CLI_SASL_PASSWORD), make the TLS context. CLI_OK, or CLI_EUSAGE with the reason
 * printed on cli->err. */
int cli_security_init(struct cli *cli);
void cli_security_fini(struct cli *cli);

/* Run one command line already split into words (argv[0] is the code or name). */
int cli_run(struct cli *cli, int argc, char **argv);
/* Tokenize and run one line (the REPL's and a script's unit). Empty lines return CLI_OK. */
int cli_run_line(struct cli *cli, const char *line);
/* Is argv[0] a request to leave the REPL ("quit", "exit", "q")? */
bool cli_is_quit(const char *word);
/* The help text: every command (cmd NULL) or one. Returns CLI_EUSAGE for unknown cmd. */
int cli_help(struct cli *cli, const char *cmd);

/* The interactive Playground on stdin (libedit when stdin is a terminal). */
int cli_repl(struct cli *cli);

/* ---- the load test --------------------------------------------------------------------- */

struct cli_loadtest_opts {
    const char *topic;
    int64_t count;      /* records in all */
    int32_t size;       /* value bytes per record */
    int32_t batch;      /* records per request (1: command 1; more: command 5) */
    int16_t acks;
    int32_t producers;  /* threads, one connection each */
    int32_t window;     /* requests in flight per connection */
    int32_t partitions; /* when the topic must be created (0: the broker's default) */
    bool json;
    bool verify;
    bool progress;      /* progress bar on err (only when it is a terminal) */
};

struct cli_loadtest_result {
    int64_t records;
    int64_t bytes;      /* value bytes */
    int64_t requests;
    double seconds;
    double records_per_sec;
    double mb_per_sec;  /* 10^6 bytes */
    bool have_latency;  /* false with acks=0 (no acknowledgements to time) */
    int64_t lat_p50_ns, lat_p99_ns, lat_p999_ns, lat_max_ns;
    int64_t errors;
    int verified;       /* 1 ok, 0 failed, -1 not asked */
    int64_t verify_missing, verify_duplicates, verify_corrupt, verify_out_of_order;
};

void cli_loadtest_opts_init(struct cli_loadtest_opts *o);
/* Run the test against cli->addr; *res filled when it ran (even with errors). Returns a
 * cli_status. */
int cli_loadtest(struct cli *cli, const struct cli_loadtest_opts *o,
                 struct cli_loadtest_result *res);
void cli_loadtest_print(FILE *f, const struct cli_loadtest_opts *o,
                        const struct cli_loadtest_result *res);
void cli_loadtest_print_json(FILE *f, const struct cli_loadtest_opts *o,
                             const struct cli_loadtest_result *res);

#endif
