/*
 * kt.h - what the Kafka end-to-end tests (test_01NN_kafka_*.c) share on top of the
 * harness (support/harness.h): running real Kafka clients (kcat, node + kafkajs) as child
 * processes, and raw Kafka frames for what no client would send.
 *
 * Header-only (static functions) because only test_*.c files (and the support directory) are built
 * and support/ is the harness owner's; each test includes it once.
 *
 * Rules, as in the harness: every child dies with the test (PR_SET_PDEATHSIG), is waited
 * for with a deadline and killed by PID if it overstays; a missing client program fails
 * the test with the command that installs it, never skips it.
 */
#ifndef KT_H
#define KT_H

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kc_common.h"
#include "kc_test.h"
#include "kp_api.h"
#include "kp_errors.h"
#include "../support/harness.h"

#define KT_FN static __attribute__((unused))

/* How many APIs the broker advertises (broker/kafka/serve/src/versions.c): one number for
 * every test that counts them. */
#define KT_SERVED_APIS 36

/* ---- programs ----------------------------------------------------------------------------- */

/* Is prog on $PATH? Fails the test (with how to install it) when it is not. */
KT_FN void kt_require(const char *prog, const char *package)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", prog);
    if (system(cmd) != 0)
        fail_msg("%s is not installed: run scripts/deps.sh test (Debian package %s)", prog,
                 package);
}

/* A child process with its stdout and stderr in files under the broker's test directory. */
struct kt_proc {
    pid_t pid;
    char out[600];
    char err[600];
};

/* Start argv (argv[0] looked up on $PATH) with stdin from in[0..in_len) (in may be NULL),
 * in directory cwd (NULL: the test's), environment additions env ("K=V", NULL-terminated,
 * may be NULL). */
KT_FN void kt_spawn(const struct kb_broker *b, struct kt_proc *p, const char *const *argv,
                    const void *in, size_t in_len, const char *cwd, const char *const *env)
{
    static int seq;
    char pin[600];
    int n = ++seq;
    snprintf(pin, sizeof(pin), "%s/kt%d.in", b->dir, n);
    snprintf(p->out, sizeof(p->out), "%s/kt%d.out", b->dir, n);
    snprintf(p->err, sizeof(p->err), "%s/kt%d.err", b->dir, n);
    assert_int_equal(kc_atomic_replace(pin, in ? in : "", in ? in_len : 0), 0);
    p->pid = fork();
    assert_true(p->pid >= 0);
    if (p->pid > 0)
        return;
    int i0 = open(pin, O_RDONLY), o = open(p->out, O_WRONLY | O_CREAT | O_TRUNC, 0644),
        e = open(p->err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (i0 < 0 || o < 0 || e < 0 || dup2(i0, 0) < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
        _exit(126);
    if (cwd && chdir(cwd) != 0)
        _exit(126);
    for (int i = 0; env && env[i]; i++)
        putenv((char *)env[i]);
    execvp(argv[0], (char *const *)argv);
    _exit(127);
}

/* Wait up to ms for p to exit: its exit status (128 + signal), or -1 if still running. */
KT_FN int kt_wait(struct kt_proc *p, int ms)
{
    struct kb_broker child = {.pid = p->pid};
    int status = kb_wait_exit(&child, ms);
    if (status == -1)
        return -1;
    p->pid = 0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* SIGTERM (a clean stop: kcat commits and leaves its group), wait, SIGKILL after ms. */
KT_FN int kt_stop(struct kt_proc *p, int ms)
{
    if (p->pid <= 0)
        return -1;
    (void)kill(p->pid, SIGTERM);
    int rc = kt_wait(p, ms);
    if (rc == -1) {
        (void)kill(p->pid, SIGKILL);
        rc = kt_wait(p, KB_WAIT_MS);
        printf("# pid had to be killed after %d ms\n", ms);
    }
    return rc;
}

/* A file's bytes, NUL-terminated (malloc'ed; "" when missing). Not inlined: GCC 12's
 * -Wdangling-pointer mistakes the out-parameter for an escaping local. */
KT_FN __attribute__((noinline)) char *kt_slurp(const char *path, size_t *len)
{
    char *text;
    size_t n;
    if (kc_read_file(path, 256u << 20, &text, &n) != 0) {
        text = strdup("");
        n = 0;
    }
    if (len)
        *len = n;
    return text;
}

/* Run argv to the end (bounded by ms): exit status; stdout/stderr malloc'ed into out/err. */
KT_FN int kt_run(const struct kb_broker *b, const char *const *argv, const void *in,
                 size_t in_len, int ms, char **out, size_t *out_len, char **err)
{
    struct kt_proc p;
    kt_spawn(b, &p, argv, in, in_len, NULL, NULL);
    int rc = kt_wait(&p, ms);
    if (rc == -1) {
        (void)kill(p.pid, SIGKILL);
        (void)kt_wait(&p, KB_WAIT_MS);
        char *e = kt_slurp(p.err, NULL);
        fail_msg("%s did not finish within %d ms; its stderr:\n%s", argv[0], ms, e);
    }
    *out = kt_slurp(p.out, out_len);
    *err = kt_slurp(p.err, NULL);
    return rc;
}

/* broker/tests/kafka/admin_e2e.py's mode args[0] with its arguments (at most 7), run by
 * Debian's python3 (the one its Kafka clients are packaged for): its stdout, malloc'ed.
 * A non-zero exit fails the test with what the script said (copied first: fail_msg does
 * not return, and the leak report ASan would print would bury the reason). */
#define KT_PYTHON "/usr/bin/python3"
KT_FN char *kt_admin_e2e(const struct kb_broker *b, const char *const *args, int n)
{
    char path[1024], *out, *err;
    static char said[8192];
    const char *src = getenv("KC_SRC_DIR");
    const char *argv[10] = {KT_PYTHON, path};
    snprintf(path, sizeof(path), "%s/broker/tests/kafka/admin_e2e.py", src && *src ? src : ".");
    for (int i = 0; i < n && i < 7; i++)
        argv[2 + i] = args[i];
    int rc = kt_run(b, argv, NULL, 0, 120000, &out, NULL, &err);
    snprintf(said, sizeof(said), "%s\n%s", out, err);
    free(err);
    if (rc != 0) {
        free(out);
        fail_msg("admin_e2e.py %s exited %d:\n%s", args[0], rc, said);
    }
    return out;
}

/* Poll until fn(arg) is true or ms pass; true if it became true. */
KT_FN bool kt_until(bool (*fn)(void *arg), void *arg, int ms)
{
    int64_t deadline = kc_mono_ms() + ms;
    do {
        if (fn(arg))
            return true;
        kc_sleep_ms(50);
    } while (kc_mono_ms() < deadline);
    return fn(arg);
}

/* "broker" for clients: 127.0.0.1:<port>. */
KT_FN const char *kt_addr(const struct kb_broker *b)
{
    return b->addr;
}

/* ---- raw Kafka frames ------------------------------------------------------------------- */

/* Start a request frame (client_id "kt"; header v2, with its empty tag block, when the
 * codec says the version is flexible, else v1); returns where the frame starts. Written
 * by hand, byte by byte, like the rest of these frames: the tests do not trust the codec
 * they test. */
KT_FN size_t kt_req_begin(struct kc_writer *w, int16_t key, int16_t version, int32_t corr)
{
    size_t at = kc_writer_len(w);
    const struct kp_api *api = kp_api_find(key);
    kc_write_i32(w, 0); /* the size, patched by kt_req_end */
    kc_write_i16(w, key);
    kc_write_i16(w, version);
    kc_write_i32(w, corr);
    kc_write_cstr(w, "kt"); /* client_id: an i16 length even in header v2 */
    if (api && version >= api->flex_min)
        kc_write_uvarint(w, 0); /* no tagged fields */
    return at;
}

KT_FN void kt_req_end(struct kc_writer *w, size_t at)
{
    assert_int_equal(kc_writer_error(w), 0);
    kc_store_be32(kc_writer_data(w) + at, (uint32_t)(kc_writer_len(w) - at - 4));
}

/* Send w's bytes, read one answer frame into buf: its length (-1: the broker closed). */
KT_FN ssize_t kt_roundtrip(int fd, const struct kc_writer *w, uint8_t *buf, size_t cap)
{
    kb_send(fd, kc_writer_data(w), kc_writer_len(w));
    return kb_recv_frame(fd, buf, cap);
}

/* A reader over an answer's body (after size and correlation id). */
KT_FN void kt_body(struct kc_reader *r, const uint8_t *frame, ssize_t len)
{
    assert_true(len >= 8);
    kc_reader_init(r, frame + 8, (size_t)len - 8);
}

/* Read one field of an answer, failing the test if it is not there. */
KT_FN int8_t kt_i8(struct kc_reader *r)
{
    int8_t v;
    assert_int_equal(kc_read_i8(r, &v), 0);
    return v;
}

KT_FN int16_t kt_i16(struct kc_reader *r)
{
    int16_t v;
    assert_int_equal(kc_read_i16(r, &v), 0);
    return v;
}

KT_FN int32_t kt_i32(struct kc_reader *r)
{
    int32_t v;
    assert_int_equal(kc_read_i32(r, &v), 0);
    return v;
}

KT_FN int64_t kt_i64(struct kc_reader *r)
{
    int64_t v;
    assert_int_equal(kc_read_i64(r, &v), 0);
    return v;
}

KT_FN struct kc_slice kt_str(struct kc_reader *r)
{
    struct kc_slice s;
    assert_int_equal(kc_read_str(r, &s), 0);
    return s;
}

KT_FN struct kc_slice kt_bytes(struct kc_reader *r)
{
    struct kc_slice s;
    assert_int_equal(kc_read_bytes(r, &s), 0);
    return s;
}

/* Fetch v11 for one partition: the request frame into w. */
KT_FN void kt_fetch_req(struct kc_writer *w, int32_t corr, int32_t max_wait, int32_t min_bytes,
                        int32_t max_bytes, const char *topic, int32_t partition, int64_t offset,
                        int32_t part_max)
{
    size_t at = kt_req_begin(w, KP_API_FETCH, 11, corr);
    kc_write_i32(w, -1); /* replica: a consumer */
    kc_write_i32(w, max_wait);
    kc_write_i32(w, min_bytes);
    kc_write_i32(w, max_bytes);
    kc_write_i8(w, 1);   /* read_committed, as both clients ask */
    kc_write_i32(w, 0);  /* session id */
    kc_write_i32(w, -1); /* session epoch: no session */
    kc_write_i32(w, 1);
    kc_write_cstr(w, topic);
    kc_write_i32(w, 1);
    kc_write_i32(w, partition);
    kc_write_i32(w, -1); /* current leader epoch */
    kc_write_i64(w, offset);
    kc_write_i64(w, -1); /* log start (followers only) */
    kc_write_i32(w, part_max);
    kc_write_i32(w, 0);  /* forgotten topics */
    kc_write_cstr(w, "");
    kt_req_end(w, at);
}

/* One partition's answer to kt_fetch_req. records points into the frame. */
struct kt_fetch_part {
    int16_t error;
    int64_t high_watermark;
    int64_t last_stable_offset;
    int64_t log_start_offset;
    int32_t aborted;      /* the array's count: -1 null */
    struct kc_slice records;
};

KT_FN void kt_fetch_resp(const uint8_t *frame, ssize_t len, struct kt_fetch_part *p)
{
    struct kc_reader r;
    kt_body(&r, frame, len);
    assert_int_equal(kt_i32(&r), 0);  /* throttle */
    assert_int_equal(kt_i16(&r), 0);  /* top-level error */
    assert_int_equal(kt_i32(&r), 0);  /* session id: none */
    assert_int_equal(kt_i32(&r), 1);
    (void)kt_str(&r);
    assert_int_equal(kt_i32(&r), 1);
    (void)kt_i32(&r);                 /* index */
    p->error = kt_i16(&r);
    p->high_watermark = kt_i64(&r);
    p->last_stable_offset = kt_i64(&r);
    p->log_start_offset = kt_i64(&r);
    p->aborted = kt_i32(&r);
    for (int32_t i = 0; i < p->aborted; i++)
        (void)kt_i64(&r), (void)kt_i64(&r);
    assert_int_equal(kt_i32(&r), -1); /* preferred read replica */
    p->records = kt_bytes(&r);
    assert_int_equal(r.pos, r.len);   /* nothing after it */
}

/* ---- requests through the codec (the flexible versions' tests) --------------------------- */

/* Allocate n structs T from arena a, each at Kafka's defaults (kp_new). */
#define KT_NEW(a, T, n) ((struct T *)kp_new((a), &T##_schema, (n)))

/* Encode msg (a struct kp_<api>_req) as a request of api key at version, send it. */
KT_FN void kt_send(int fd, int16_t key, int16_t version, int32_t corr, const void *msg)
{
    struct kc_writer w;
    struct kp_request_header h = {key, version, corr, kp_slice_str("kt")};
    kc_writer_init(&w, 0);
    assert_int_equal(kp_request_encode(&w, &h, msg), 0);
    kb_send(fd, kc_writer_data(&w), kc_writer_len(&w));
    kc_writer_fini(&w);
}

/* Read one answer into buf and decode it as the answer to (key, version, corr): its
 * struct kp_<api>_resp (slices into buf; free resp with kp_response_fini). Fails the test
 * if the broker closes instead, or if the answer does not decode in full. */
KT_FN void *kt_recv(int fd, int16_t key, int16_t version, int32_t corr, uint8_t *buf,
                    size_t cap, struct kp_response *resp)
{
    ssize_t n = kb_recv_frame(fd, buf, cap);
    const struct kp_api *api = kp_api_find(key);
    if (n < 8)
        fail_msg("%s v%d: the broker closed the connection instead of answering",
                 api ? api->name : "?", version);
    int rc = kp_response_decode(buf + 4, (size_t)n - 4, key, version, 0, resp);
    if (rc)
        fail_msg("%s v%d: the answer does not decode: %s", api ? api->name : "?", version,
                 kc_strerror(rc));
    assert_int_equal(resp->correlation_id, corr);
    assert_int_equal(resp->body_used, (size_t)n - 4); /* nothing left over */
    return resp->msg;
}

/* kt_send, then kt_recv. */
KT_FN void *kt_call(int fd, int16_t key, int16_t version, const void *msg, uint8_t *buf,
                    size_t cap, struct kp_response *resp)
{
    static _Atomic int32_t next_corr = 1001; /* tests may call from two threads */
    int32_t corr = atomic_fetch_add(&next_corr, 1);
    kt_send(fd, key, version, corr, msg);
    return kt_recv(fd, key, version, corr, buf, cap, resp);
}

/* A fresh connection answers ApiVersions v2 correctly: the broker is alive and serving. */
KT_FN void kt_assert_serving(const struct kb_broker *b)
{
    struct kc_writer w;
    uint8_t buf[4096];
    struct kc_reader r;
    int16_t err;
    int32_t n;
    int fd = kb_connect(b);
    kc_writer_init(&w, 0);
    kt_req_end(&w, kt_req_begin(&w, KP_API_API_VERSIONS, 2, 77));
    ssize_t len = kt_roundtrip(fd, &w, buf, sizeof(buf));
    assert_true(len > 0);
    assert_int_equal((int32_t)kc_load_be32(buf + 4), 77);
    kt_body(&r, buf, len);
    assert_int_equal(kc_read_i16(&r, &err), 0);
    assert_int_equal(err, 0);
    assert_int_equal(kc_read_i32(&r, &n), 0);
    assert_int_equal(n, KT_SERVED_APIS);
    kc_writer_fini(&w);
    close(fd);
}

/* ---- kafkajs ----------------------------------------------------------------------------- */

/* <build>/kafkajs with kafkajs installed (kc_test_kafkajs_dir, common/testlib). */
KT_FN void kt_kafkajs_dir(const struct kb_broker *b, char *dir, size_t cap)
{
    (void)b;
    kc_test_kafkajs_dir(dir, cap);
}

/* ---- security --------------------------------------------------------------------------- */

/* A raw connection to the listener on port (any of the broker's). */
KT_FN int kt_connect_to(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct timeval tv = {.tv_sec = KB_WAIT_MS / 1000};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
    return fd;
}

/* SASL PLAIN on a raw connection (SaslHandshake v1, SaslAuthenticate v2): the
 * SaslAuthenticate answer's error code (0: fd is now user). */
KT_FN int16_t kt_sasl_plain(int fd, const char *user, const char *password)
{
    static uint8_t buf[4096];
    struct kp_response resp;
    char token[512];
    struct kp_sasl_handshake_req h = {kp_slice_str("PLAIN")};
    const struct kp_sasl_handshake_resp *hr =
        kt_call(fd, KP_API_SASL_HANDSHAKE, 1, &h, buf, sizeof(buf), &resp);
    assert_int_equal(hr->error_code, 0);
    kp_response_fini(&resp);
    int n = snprintf(token, sizeof(token), "%c%s%c%s", 0, user, 0, password);
    struct kp_sasl_authenticate_req a = {{(const uint8_t *)token, n}};
    const struct kp_sasl_authenticate_resp *ar =
        kt_call(fd, KP_API_SASL_AUTHENTICATE, 2, &a, buf, sizeof(buf), &resp);
    int16_t err = ar->error_code;
    kp_response_fini(&resp);
    return err;
}

#endif
