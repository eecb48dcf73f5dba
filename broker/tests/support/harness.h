/*
 * harness.h - what every end-to-end broker test shares: a real kafka_broker process on an
 * ephemeral loopback port with its own data directory, the real kafka_cli, raw sockets for
 * hostile input, and a pty for the interactive Playground.
 *
 * Rules:
 *  - Binaries come from $KC_BIN_DIR (scripts/run-tests.sh sets it to BUILD/bin).
 *  - A broker started here dies with the test process (PR_SET_PDEATHSIG), is stopped by
 *    PID, and is killed with SIGKILL by kb_teardown whatever happened in the test, so a
 *    failed assertion never leaves one behind. Its stderr goes to <dir>/broker.log, printed
 *    when it exits badly.
 *  - Every wait is bounded (generous: sanitizer builds on a shared 2-core machine).
 */
#ifndef KB_HARNESS_H
#define KB_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "np.h"
#include "np_client.h"

struct zc_tls_ctx;

#define KB_WAIT_MS 30000 /* the longest any single step may take */

#define KB_LISTENERS_MAX 6

struct kb_broker {
    char *dir;        /* the test's directory: data/ and broker.log inside */
    char data[512];
    char log[512];
    pid_t pid;        /* 0 when not running */
    int port;         /* the first listener's (whatever its security protocol) */
    char host[48];    /* its address ("--bind", default 127.0.0.1; 0.0.0.0 -> 127.0.0.1) */
    char addr[64];    /* "<host>:<port>" */
    int metrics_port; /* the HTTP door's (/metrics, /health), an ephemeral one */
    struct {
        char name[32]; /* "PLAINTEXT", "SASL_SSL", ... as listeners= named it */
        int port;
    } more[KB_LISTENERS_MAX]; /* the listeners after the first, in order */
    int nmore;
    char certs[560];  /* kb_certs: where the test's certificates are ("" before) */
};

/* cmocka setup/teardown: *state = a struct kb_broker with a fresh directory, not started;
 * teardown SIGKILLs the broker if it still runs and removes the directory. */
int kb_setup(void **state);
int kb_teardown(void **state);
/* ... and the same with the broker already started with no extra arguments. */
int kb_setup_started(void **state);

/* Start kafka_broker on port 0 (and metrics.port 0) with b->data and the extra arguments
 * (NULL-terminated, may be NULL); waits for its "listening on" line. Fails the test if it
 * does not come. */
void kb_start(struct kb_broker *b, const char *const *args);
/* SIGTERM, wait, and check it exited with status 0 after a clean stop. */
void kb_stop(struct kb_broker *b);
/* SIGKILL and reap. */
void kb_kill9(struct kb_broker *b);
/* Wait up to ms for the broker to exit; its wait status, or -1 if still running. */
int kb_wait_exit(struct kb_broker *b, int ms);
/* Does the broker's log contain s? */
bool kb_log_has(const struct kb_broker *b, const char *s);
/* "$KC_BIN_DIR/name" (static buffer: copy it before the next call). */
const char *kb_bin(const char *name);

/* A connected native client (fails the test otherwise). */
void kb_client(const struct kb_broker *b, struct np_client *c);

/* Run $KC_BIN_DIR/prog args... (files for its stdio live in b->dir); stdin from `in` (may
 * be NULL), stdout and stderr captured (malloc'ed; free them). The exit status (128 + the
 * signal if it was killed). */
int kb_exec(const struct kb_broker *b, const char *prog, const char *in, char **out,
            char **err, const char *const *args);
/* Run kafka_cli -b <addr> args... with stdin from `in` (may be NULL); stdout and stderr
 * captured (malloc'ed, NUL-terminated; free them). Returns the exit status. */
int kb_cli(const struct kb_broker *b, const char *in, char **out, char **err,
           const char *const *args);

/* Raw sockets, for frames the client library would never send. */
int kb_connect(const struct kb_broker *b);
void kb_send(int fd, const void *p, size_t len);
/* Read one response frame into buf (blocking, bounded); its length, or -1 if the broker
 * closed the connection first. */
ssize_t kb_recv_frame(int fd, uint8_t *buf, size_t cap);
/* Wait up to ms for the broker to close fd (EOF or reset); true if it did. */
bool kb_closed(int fd, int ms);

/* The interactive Playground on a pty. */
struct kb_pty {
    pid_t pid;
    int fd;
    char *seen;  /* everything read so far */
    size_t len;
    size_t mark; /* kb_pty_expect searches from here */
};
void kb_pty_start(struct kb_pty *p, const struct kb_broker *b);
void kb_pty_send(struct kb_pty *p, const char *line);
/* Read until s appears after the mark (then move the mark past it); fails the test after
 * KB_WAIT_MS. */
void kb_pty_expect(struct kb_pty *p, const char *s);
/* Wait for the program to exit; its wait status. */
int kb_pty_finish(struct kb_pty *p);

/* ---- security ---------------------------------------------------------------------------- */

/* The port of the listener named name (one after the first), or 0. */
int kb_port(const struct kb_broker *b, const char *name);
/* "127.0.0.1:<port>" of that listener (static buffer: copy it before the next call). */
const char *kb_addr_of(const struct kb_broker *b, const char *name);

/* Make the test's certificates in <dir>/certs with zeroCopy/tests/support/mkcerts.sh (the
 * openssl CLI; no key is committed): ca.pem, server.pem (CN=localhost, SAN IP:127.0.0.1),
 * client.pem/.crt/.key (subject O=acme, OU=eng, CN=alice), expired.pem, other-ca.pem,
 * rogue-server.pem, rogue-client.pem. */
void kb_certs(struct kb_broker *b);
/* "<certs>/<name>" (static buffer, four in rotation). */
const char *kb_cert(const struct kb_broker *b, const char *name);
/* The Kafka principal mkcerts.sh's client certificate gives a connection. */
#define KB_CLIENT_CERT_PRINCIPAL "User:CN=alice,OU=eng,O=acme"

/* Store a SCRAM credential (mech "SCRAM-SHA-256" or "SCRAM-SHA-512") in b's data directory
 * with kafka_broker --add-scram, before the broker starts (it must not be running). */
void kb_add_scram(struct kb_broker *b, const char *mech, const char *user, const char *password);
/* Add one ACL binding to b's data directory (broker not running): principal, host "*",
 * op, resource type and pattern type, name, ALLOW or DENY (enums of sec_acl.h). */
void kb_acl(struct kb_broker *b, const char *principal, int op, int type, int pattern,
            const char *name, int perm);

/* A native client on port, through TLS with ctx when ctx is not NULL (server name
 * 127.0.0.1), then SASL with mech/user/password when mech is not NULL. Returns what the
 * step that failed returned (the client is closed then), or 0. */
int kb_client_sec(const struct kb_broker *b, int port, struct zc_tls_ctx *ctx, const char *mech,
                  const char *user, const char *password, struct np_client *c);
/* A client TLS context trusting <certs>/<ca> with an optional client certificate. */
struct zc_tls_ctx *kb_tls_client(const struct kb_broker *b, const char *ca, const char *cert);

/* The broker's CPU time so far (user + system), in seconds. */
double kb_cpu_seconds(const struct kb_broker *b);
/* GET path from the broker's HTTP door (Connection: close): the status; *body the body
 * (malloc'ed, NUL-terminated). */
int kb_http_get(const struct kb_broker *b, const char *path, char **body);
/* The value of a sample without labels in the broker's /metrics, or -1 if absent. */
double kb_metric(const struct kb_broker *b, const char *name);

/* Build a RecordBatch of n values "<prefix><i>" (malloc'ed). */
uint8_t *kb_batch(const char *prefix, int n, size_t *len);

#endif
