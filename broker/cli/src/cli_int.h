/*
 * cli_int.h - what the CLI's source files share and nothing outside needs.
 */
#ifndef CLI_INT_H
#define CLI_INT_H

#include "cli.h"

/* One command of the table in commands.c. */
struct cli_cmd {
    const char *code;    /* "0".."6", or NULL */
    const char *name;
    const char *alias;   /* a second name, or NULL */
    const char *args;    /* synopsis after the name */
    const char *summary; /* one line */
    const char *details; /* option lines, or NULL */
    int (*run)(struct cli *cli, int argc, char **argv); /* argv[0] is the word typed */
};

const struct cli_cmd *cli__find(const char *word);

/* Connect if not connected; prints the failure. A cli_status. */
int cli__connect(struct cli *cli);
/* Close the connection (the next command reconnects); the security state stays. */
void cli__disconnect(struct cli *cli);
/* Open c to cli->addr the way cli->sec says: TCP, TLS, SASL (security.c). A cli_status,
 * with why it failed in err[cap]; close c either way when done. Reads cli only: the load
 * test's threads call it concurrently. */
int cli__open(const struct cli *cli, struct np_client *c, char *err, size_t cap);
/* The first line of the file at path (option opt names it in errors), without its end of
 * line, into a malloc'ed *out (wipe and free it). Warns when others can read the file.
 * CLI_OK, or CLI_EUSAGE after printing why. */
int cli__read_secret_file(struct cli *cli, const char *opt, const char *path, char **out);
/* Print a client return code as an error line; a cli_status (network errors disconnect). */
int cli__report(struct cli *cli, int rc);
/* Print why (if any) and the command's synopsis; returns CLI_EUSAGE. */
int cli__usage(struct cli *cli, const char *cmd, const char *why);
/* A number in [min, max] for the named argument, or a usage error. */
int cli__num(struct cli *cli, const char *cmd, const char *what, const char *s, int64_t min,
             int64_t max, int64_t *out);
/* Options and min..max positionals of argv[1..]; prints usage or help. */
int cli__args(struct cli *cli, int argc, char **argv, const struct cli_opt *opts, char **pos,
              int min, int max, int *npos, bool *help);

/* Commands that live in their own files. */
int cli__cmd_produce(struct cli *cli, int argc, char **argv);
int cli__cmd_produce_batch(struct cli *cli, int argc, char **argv);
int cli__cmd_consume_batch(struct cli *cli, int argc, char **argv);
int cli__cmd_test(struct cli *cli, int argc, char **argv);
int cli__cmd_top(struct cli *cli, int argc, char **argv); /* top.c */
int cli__cmd_metadata(struct cli *cli, int argc, char **argv); /* commands.c */
/* The admin verbs over the Kafka protocol (cli_admin.c and the family files). */
int cli__cmd_topics(struct cli *cli, int argc, char **argv);
int cli__cmd_groups(struct cli *cli, int argc, char **argv);
int cli__cmd_configs(struct cli *cli, int argc, char **argv);
int cli__cmd_delete_records(struct cli *cli, int argc, char **argv);
int cli__cmd_elect_leaders(struct cli *cli, int argc, char **argv);
int cli__cmd_acls(struct cli *cli, int argc, char **argv);
int cli__cmd_scram(struct cli *cli, int argc, char **argv);

/*
 * Print the records of whole batches records[0..len) with offsets >= from, at most
 * *left of them (decremented); *next gets the offset after the last record looked at.
 * CLI_OK, or CLI_EBROKER after printing why (a corrupt or compressed batch).
 */
int cli__print_batches(struct cli *cli, const uint8_t *records, size_t len, int64_t from,
                       int64_t *left, int64_t *next);

#endif
