/* test_scram_interop.c - the server against independent implementations: kafka-python's
 * ScramClient (Debian's python3-kafka) driving whole exchanges, and Python's hashlib/hmac
 * recomputing the SHA-256 and SHA-512 vectors live (tests/scram_peer.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kc_common.h"
#include "kc_test.h"
#include "sec.h"
#include "sec_int.h"
#include "support/sec_fixture.h"

#define PYTHON "/usr/bin/python3" /* Debian's, where python3-kafka is installed */

struct peer {
    pid_t pid;
    FILE *in;  /* what the peer prints */
    FILE *out; /* what we send it */
};

static void script_path(char *buf, size_t cap)
{
    const char *src = getenv("KC_SRC_DIR");
    snprintf(buf, cap, "%s/broker/security/tests/scram_peer.py", src ? src : ".");
}

static void peer_start(struct peer *p, char *const argv[])
{
    int to[2], from[2];
    assert_int_equal(pipe(to), 0);
    assert_int_equal(pipe(from), 0);
    p->pid = fork();
    assert_true(p->pid >= 0);
    if (p->pid == 0) {
        dup2(to[0], 0);
        dup2(from[1], 1);
        close(to[0]), close(to[1]), close(from[0]), close(from[1]);
        execv(PYTHON, argv);
        _exit(127);
    }
    close(to[0]);
    close(from[1]);
    p->out = fdopen(to[1], "w");
    p->in = fdopen(from[0], "r");
    assert_non_null(p->out);
    assert_non_null(p->in);
}

/* One line from the peer, without its newline; fails the test at EOF. */
static size_t peer_line(struct peer *p, char *buf, size_t cap)
{
    if (!fgets(buf, (int)cap, p->in))
        fail_msg("the Python peer ended early (is python3-kafka installed? scripts/deps.sh test)");
    size_t n = strcspn(buf, "\n");
    buf[n] = '\0';
    return n;
}

static void peer_send(struct peer *p, const void *msg, size_t n)
{
    assert_int_equal(fwrite(msg, 1, n, p->out), n);
    assert_int_equal(fputc('\n', p->out), '\n');
    assert_int_equal(fflush(p->out), 0);
}

static void peer_finish(struct peer *p)
{
    int status;
    fclose(p->out);
    fclose(p->in);
    assert_int_equal(waitpid(p->pid, &status, 0), p->pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* kafka-python's client logs in as user/password; returns the server's final rc and what
 * the client printed last ("OK", "BADSIG" or "FAILED"). */
static int kafka_python_login(struct sec_cred_store *st, enum sec_sasl_mech mech, const char *user,
                              const char *password, char *verdict)
{
    char script[4096], line[8192];
    script_path(script, sizeof(script));
    char *argv[] = {PYTHON,       script,           "client", (char *)sec_sasl_mech_name(mech),
                    (char *)user, (char *)password, NULL};
    struct peer p;
    struct sec_scram_server *s;
    const uint8_t *out;
    size_t n;
    peer_start(&p, argv);
    assert_int_equal(sec_scram_server_new(mech, st, &s), 0);
    size_t len = peer_line(&p, line, sizeof(line));
    int rc = sec_scram_server_step(s, (const uint8_t *)line, len, &out, &n, NULL);
    assert_int_equal(rc, SEC_SASL_CONTINUE);
    peer_send(&p, out, n);
    len = peer_line(&p, line, sizeof(line));
    rc = sec_scram_server_step(s, (const uint8_t *)line, len, &out, &n, NULL);
    if (rc == SEC_SASL_DONE)
        peer_send(&p, out, n);
    else
        peer_send(&p, "FAILED", 6);
    peer_line(&p, verdict, 16);
    peer_finish(&p);
    sec_scram_server_free(s);
    return rc;
}

static void test_scram_interop_kafka_python_client_logs_in(void **state)
{
    (void)state;
    struct sec_fx_store fx;
    char verdict[16];
    sec_fx_store_open(&fx);
    for (int m = SEC_SASL_SCRAM_SHA_256; m <= SEC_SASL_SCRAM_SHA_512; m++) {
        sec_fx_add(fx.st, (enum sec_sasl_mech)m, "alice", "alice-secret", 8192);
        assert_int_equal(
            kafka_python_login(fx.st, (enum sec_sasl_mech)m, "alice", "alice-secret", verdict),
            SEC_SASL_DONE);
        assert_string_equal(verdict, "OK"); /* the client verified the server signature */
        assert_int_equal(
            kafka_python_login(fx.st, (enum sec_sasl_mech)m, "alice", "wrong", verdict), -EACCES);
        assert_string_equal(verdict, "FAILED");
        assert_int_equal(kafka_python_login(fx.st, (enum sec_sasl_mech)m, "nobody", "x", verdict),
                         -EACCES);
    }
    sec_fx_store_close(&fx);
}

/* Python recomputes RFC 7677's exchange for both hashes; our server, given the same
 * nonces, salt and password, must answer byte for byte the same. */
static void test_scram_interop_hashlib_vectors_match(void **state)
{
    (void)state;
    char script[4096], msg[4][512];
    script_path(script, sizeof(script));
    for (int m = SEC_SASL_SCRAM_SHA_256; m <= SEC_SASL_SCRAM_SHA_512; m++) {
        char *argv[] = {PYTHON, script, "vector", (char *)sec_sasl_mech_name(m), NULL};
        struct peer p;
        peer_start(&p, argv);
        for (int k = 0; k < 4; k++)
            peer_line(&p, msg[k], sizeof(msg[k]));
        peer_finish(&p);

        struct sec_fx_store fx;
        uint8_t salt[16];
        sec_fx_store_open(&fx);
        assert_int_equal(sec__b64_decode("W22ZaJ0SNY7soEsUEjb6gQ==", 24, salt, 16), 16);
        struct sec_cred_change ch = {.user = "user",
                                     .mech = m,
                                     .iterations = 4096,
                                     .salt = salt,
                                     .salt_len = 16,
                                     .password = "pencil"};
        assert_int_equal(sec_cred_store_apply(fx.st, &ch, 1), 0);
        struct sec_scram_server *s;
        const uint8_t *out;
        size_t n;
        assert_int_equal(sec_scram_server_new((enum sec_sasl_mech)m, fx.st, &s), 0);
        sec__scram_server_set_nonce(s, "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
        assert_int_equal(
            sec_scram_server_step(s, (const uint8_t *)msg[0], strlen(msg[0]), &out, &n, NULL),
            SEC_SASL_CONTINUE);
        assert_int_equal(n, strlen(msg[1]));
        assert_memory_equal(out, msg[1], n);
        assert_int_equal(
            sec_scram_server_step(s, (const uint8_t *)msg[2], strlen(msg[2]), &out, &n, NULL),
            SEC_SASL_DONE);
        assert_int_equal(n, strlen(msg[3]));
        assert_memory_equal(out, msg[3], n);
        sec_scram_server_free(s);
        sec_fx_store_close(&fx);
    }
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* a peer that dies shows up as a failed write, not a kill */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scram_interop_kafka_python_client_logs_in),
        cmocka_unit_test(test_scram_interop_hashlib_vectors_match),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
