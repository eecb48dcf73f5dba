/*
 * repl.c - the interactive Playground: a prompt with line editing and history (libedit),
 * or, when standard input is not a terminal, a script read line by line.
 *
 *   kafka> 0 payments 3
 *   topic=payments partitions=3
 *   kafka> 1 payments "Hello World"
 *   topic=payments partition=0 offset=0
 *
 * History persists in $KAFKA_CLI_HISTORY, else ~/.kafka_cli_history (best effort: a
 * history that cannot be read or written is not an error). An error in one command is
 * printed and the prompt comes back; the connection is re-established on the next command
 * if it broke.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <editline/readline.h>

#include "cli_int.h"
#include "kc_common.h"

#define CLI_HISTORY_MAX 1000

/* Run one line; 1 when it asked to quit. *worst keeps the highest status seen. */
static int repl_line(struct cli *cli, const char *line, int *worst)
{
    struct cli_args a;
    char why[256];
    int rc = cli_tokenize(line, &a, why, sizeof(why));
    if (rc) {
        fprintf(cli->err, "error: %s\n", rc == -EINVAL ? why : np_strerror(rc));
        *worst = KC_MAX(*worst, CLI_EUSAGE);
        return 0;
    }
    bool quit = a.argc > 0 && cli_is_quit(a.argv[0]);
    if (!quit && a.argc > 0) {
        int status = cli_run(cli, a.argc, a.argv); /* once: KC_MAX evaluates twice */
        *worst = KC_MAX(*worst, status);
    }
    cli_args_free(&a);
    fflush(cli->out);
    fflush(cli->err);
    return quit;
}

/* Standard input is a file or a pipe: no prompt, no history, same commands. */
static int repl_script(struct cli *cli)
{
    char *line = NULL;
    size_t cap = 0;
    int worst = CLI_OK;
    while (getline(&line, &cap, stdin) >= 0)
        if (repl_line(cli, line, &worst))
            break;
    free(line);
    return worst;
}

static void history_path(char *buf, size_t cap)
{
    const char *env = getenv("KAFKA_CLI_HISTORY"), *home = getenv("HOME");
    if (env)
        snprintf(buf, cap, "%s", env);
    else if (home)
        snprintf(buf, cap, "%s/.kafka_cli_history", home);
    else
        buf[0] = '\0';
}

static void repl_banner(struct cli *cli)
{
    fprintf(cli->out, "kafka_cli %s, the Playground. Broker: %s\n"
                      "Type help for the commands, quit (or Ctrl-D) to leave.\n",
            CLI_VERSION, cli->addr);
    if (cli__connect(cli) == CLI_OK && np_client_ping(&cli->client, NULL, -1) == 0)
        return;
    fprintf(cli->err, "(the broker is not answering yet; each command will try again)\n");
    cli__disconnect(cli);
}

int cli_repl(struct cli *cli)
{
    char hist[1024];
    char *line;
    int worst = CLI_OK;
    if (!isatty(STDIN_FILENO))
        return repl_script(cli);
    cli->interactive = true;
    history_path(hist, sizeof(hist));
    using_history();
    stifle_history(CLI_HISTORY_MAX);
    if (hist[0])
        (void)read_history(hist); /* a first run has none */
    repl_banner(cli);
    while ((line = readline("kafka> ")) != NULL) {
        if (line[strspn(line, " \t")])
            add_history(line);
        int quit = repl_line(cli, line, &worst);
        free(line);
        if (quit)
            break;
    }
    if (hist[0])
        (void)write_history(hist); /* best effort: a read-only home is no reason to fail */
    fputc('\n', cli->out);
    return CLI_OK; /* errors were shown as they came; leaving the REPL is a success */
}
