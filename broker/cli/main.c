/*
 * kafka_cli - the native protocol's command-line client.
 *
 *   kafka_cli                               the interactive Playground
 *   kafka_cli [-b host:port] <cmd> args...  run one command and exit
 *   kafka_cli help                          every command, with examples
 */
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
               "             3 the broker could not be reached.\n\n"
               "  -b, --broker host:port  the broker (default %s)\n"
               "  -t, --timeout MS        give up on a silent broker after MS (default %d)\n\n",
            NP_CLIENT_DEFAULT_ADDR, NP_CLIENT_DEFAULT_TIMEOUT);
}

int main(int argc, char **argv)
{
    const char *addr = NP_CLIENT_DEFAULT_ADDR;
    int64_t timeout = NP_CLIENT_DEFAULT_TIMEOUT;
    struct cli cli;
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        const char *a = argv[i];
        bool has_next = i + 1 < argc;
        if ((!strcmp(a, "-b") || !strcmp(a, "--broker")) && has_next) {
            addr = argv[++i];
        } else if ((!strcmp(a, "-t") || !strcmp(a, "--timeout")) && has_next) {
            if (kc_parse_i64(argv[++i], 1, 86400000, &timeout) != 0) {
                fprintf(stderr, "error: --timeout needs milliseconds, not '%s'\n", argv[i]);
                return 2;
            }
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
    int rc = i < argc ? cli_run(&cli, argc - i, argv + i) : cli_repl(&cli);
    cli_fini(&cli);
    return rc;
}
