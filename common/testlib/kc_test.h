/*
 * kc_test.h - what every cmocka test in the project shares.
 *
 * Include after the cmocka prerequisites (<stdarg.h>, <stddef.h>, <stdint.h>, <setjmp.h>)
 * and <cmocka.h>. Rules the helpers enforce:
 *  - every test gets its own temporary directory and removes it (kc_test_tmpdir /
 *    kc_test_rmdir, or the KC_TEST_DIR setup/teardown pair);
 *  - a test that opens files or maps memory checks it gave them all back
 *    (kc_test_fd_count, kc_test_map_count before and after);
 *  - random tests take their seed from kc_test_seed(), which prints it, so a failure can
 *    be replayed with KC_TEST_SEED=<seed>.
 */
#ifndef KC_TEST_H
#define KC_TEST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A fresh directory under $TMPDIR, malloc'ed path; remove with kc_test_rmdir. */
char *kc_test_tmpdir(void);
void kc_test_rmdir(char *dir);

/* cmocka setup/teardown that put a fresh temp dir (char *) in *state. */
int kc_test_dir_setup(void **state);
int kc_test_dir_teardown(void **state);

/* Open file descriptors / memory mappings of this process right now. */
int kc_test_fd_count(void);
int kc_test_map_count(void);
/* Open file descriptors of another process (a broker under test, say), and how many of
 * them are sockets (connections, listeners): the count a connection test compares, which
 * the files a server opens and closes by itself meanwhile cannot disturb. */
int kc_test_pid_fd_count(pid_t pid);
int kc_test_pid_socket_count(pid_t pid);

/* A connected pair of blocking loopback TCP sockets (CLOEXEC), or the test fails. Buffer
 * sizes of 0 keep the kernel's defaults; rcvbuf is set on the listener, before listen, so
 * the accepted socket inherits it (and its window scale). */
void kc_test_tcp_pair(int *snd, int *rcv, int sndbuf, int rcvbuf);

/* Capture what this process writes to stderr (log lines, warnings) between start and stop.
 * stop returns the text (malloc'ed; free it) and copies it to the real stderr, so the
 * test log still shows it. */
struct kc_test_capture {
    int saved;
    char path[64];
};
void kc_test_capture_start(struct kc_test_capture *c);
char *kc_test_capture_stop(struct kc_test_capture *c);
/* Lines of text containing needle. */
int kc_test_count_lines(const char *text, const char *needle);

/* Load a file relative to the source tree ($KC_SRC_DIR, default "."); malloc'ed, or fails
 * the test. */
uint8_t *kc_test_load(const char *relpath, size_t *len);

/* kafkajs, for tests that run it with node: <build>/kafkajs (beside $KC_BIN_DIR) holding
 * the version pinned by broker/tests/kafka/package-lock.json, installed there with
 * `npm ci` the first time (never into the source tree). dir gets that path; point
 * NODE_PATH at <dir>/node_modules. Fails the test, saying why, if npm cannot install it. */
#define KC_TEST_KAFKAJS_VERSION "2.2.4"
void kc_test_kafkajs_dir(char *dir, size_t cap);

/* The seed for random tests: $KC_TEST_SEED, or the clock. Printed to stdout. */
uint64_t kc_test_seed(void);
/* A small fast PRNG (xorshift64*) for tests; state must be non-zero. */
uint64_t kc_test_rand(uint64_t *state);

#endif
