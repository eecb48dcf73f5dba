/*
 * kafka_cli - the native protocol's command-line client, and an admin tool over Kafka's.
 *
 *   kafka_cli                               the interactive Playground
 *   kafka_cli [-b host:port] <cmd> args...  run one command and exit
 *   kafka_cli help                          every command, with examples
 *   kafka_cli topics|groups|configs|...     the admin verbs, over Kafka's protocol
 *                                           (--bootstrap-server; src/cli_admin.c)
 *
 * The global options come before the command; the security ones are src/security.c's.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "kc_common.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: kafka_cli [-b host:port] [--timeout MS] [<command> [args...]]\n"
               "       kafka_cli --help | --version\n\n"
               "With no command: the interactive Playground (line editing, history).\n"
               "With a command: run it once. Results on stdout, errors on stderr.\n"
               "Exit status: 0 ok, 1 the broker answered with an error, 2 bad usage,\n"
               "             3 the broker could not be reached, 4 the TLS handshake or the\n"
               "             SASL authentication failed.\n\n"
               "  -b, --broker host:port  the broker (default %s)\n"
               "  --bootstrap-server H:P[,H:P...]\n"
               "                          the Kafka brokers of the admin verbs (topics, groups,\n"
               "                          configs, delete-records, acls, scram), which speak\n"
               "                          Kafka's protocol; default: -b's address (the broker\n"
               "                          serves both protocols on one port). A verb may also\n"
               "                          take it after its own words, as Kafka's tools do.\n"
               "  -t, --timeout MS        give up on a silent broker after MS (default %d)\n\n"
               "Security (the broker's SSL, SASL_PLAINTEXT and SASL_SSL listeners):\n"
               "  --tls-ca FILE           speak TLS; the broker's certificate must chain to the\n"
               "                          CA certificates in FILE (PEM) and name the host of -b\n"
               "  --tls-cert FILE         our certificate (PEM), for mutual TLS: the broker then\n"
               "                          knows us by its subject (User:CN=...)\n"
               "  --tls-key FILE          its private key (default: in the --tls-cert file)\n"
               "  --sasl-mechanism M      PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (PLAIN sends\n"
               "                          the password itself: use it with --tls-ca)\n"
               "  --sasl-username NAME\n"
               "  --sasl-password-file F  the password is the first line of F; without it,\n"
               "                          the environment variable %s.\n"
               "                          Never on the command line: every user of this\n"
               "                          machine can read a process's arguments (ps,\n"
               "                          /proc/PID/cmdline) and shells keep them in history.\n\n",
            NP_CLIENT_DEFAULT_ADDR, NP_CLIENT_DEFAULT_TIMEOUT, CLI_PASSWORD_ENV);
}

/* A security option and its value into cli->sec: 1 taken, 0 not one of them. */
static int security_opt(struct cli_security *s, const char *a, const char *v)
{
    static const struct {
        const char *name;
        size_t off;
    } opts[] = {
        {"--tls-ca", offsetof(struct cli_security, tls_ca)},
        {"--tls-cert", offsetof(struct cli_security, tls_cert)},
        {"--tls-key", offsetof(struct cli_security, tls_key)},
        {"--sasl-mechanism", offsetof(struct cli_security, sasl_mechanism)},
        {"--sasl-username", offsetof(struct cli_security, sasl_username)},
        {"--sasl-password-file", offsetof(struct cli_security, sasl_password_file)},
    };
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
        if (strcmp(a, opts[i].name) == 0) {
            *(const char **)((char *)s + opts[i].off) = v;
            return 1;
        }
    return 0;
}

int main(int argc, char **argv)
{
    const char *addr = NP_CLIENT_DEFAULT_ADDR, *bootstrap = NULL;
    int64_t timeout = NP_CLIENT_DEFAULT_TIMEOUT;
    struct cli cli;
    struct cli_security sec = {0};
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        const char *a = argv[i];
        bool has_next = i + 1 < argc;
        if ((!strcmp(a, "-b") || !strcmp(a, "--broker")) && has_next) {
            addr = argv[++i];
        } else if (!strcmp(a, "--bootstrap-server") && has_next) {
            bootstrap = argv[++i];
        } else if ((!strcmp(a, "-t") || !strcmp(a, "--timeout")) && has_next) {
            if (kc_parse_i64(argv[++i], 1, 86400000, &timeout) != 0) {
                fprintf(stderr, "error: --timeout needs milliseconds, not '%s'\n", argv[i]);
                return 2;
            }
        } else if (has_next && security_opt(&sec, a, argv[i + 1])) {
            i++;
        } else if (!strncmp(a, "--sasl-password", 15) && strcmp(a, "--sasl-password-file")) {
            fprintf(stderr, "error: %s: a password is never taken on the command line (other "
                            "users can read it there); use --sasl-password-file FILE or %s\n",
                    a, CLI_PASSWORD_ENV);
            return 2;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            cli_init(&cli, addr, stdout, stderr);
            return cli_help(&cli, NULL);
        } else if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
            printf("kafka_cli %s (native protocol %d)\n", CLI_VERSION, NP_VERSION);
            return 0;
        } else {
            fprintf(stderr, "error: unknown option or missing value: %s\n", a);
            usage(stderr);
            return 2;
        }
    }
    cli_init(&cli, addr, stdout, stderr);
    cli.timeout_ms = (int)timeout;
    cli.sec = sec;
    cli.bootstrap = bootstrap;
    int rc = cli_security_init(&cli);
    if (rc == CLI_OK)
        rc = i < argc ? cli_run(&cli, argc - i, argv + i) : cli_repl(&cli);
    cli_fini(&cli);
    return rc;
}
