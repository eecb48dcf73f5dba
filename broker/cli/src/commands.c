/*
 * commands.c - the Playground's commands, one function each, and the table that names them.
 *
 * Every command is reachable by its original code (0-6) and by a name. Each parses its own
 * words with cli_getopt (so `--help` works everywhere), makes one or a few calls through the
 * native client, and prints one of the stable line formats listed in cli.h. Errors are
 * reported in one place (cli_report) so they all read the same:
 *
 *   error: UNKNOWN_TOPIC: topic 'nope' does not exist
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_int.h"
#include "kc_common.h"

void cli_init(struct cli *cli, const char *addr, FILE *out, FILE *err)
{
    memset(cli, 0, sizeof(*cli));
    snprintf(cli->addr, sizeof(cli->addr), "%s", addr ? addr : NP_CLIENT_DEFAULT_ADDR);
    cli->timeout_ms = NP_CLIENT_DEFAULT_TIMEOUT;
    cli->client.fd = -1;
    cli->out = out;
    cli->err = err;
}

void cli__disconnect(struct cli *cli)
{
    if (cli->connected)
        np_client_close(&cli->client);
    cli->connected = false;
}

void cli_fini(struct cli *cli)
{
    cli__disconnect(cli);
    cli_security_fini(cli);
}

int cli__connect(struct cli *cli)
{
    char why[768];
    if (cli->connected)
        return CLI_OK;
    int rc = cli__open(cli, &cli->client, why, sizeof(why));
    if (rc) {
        fprintf(cli->err, "error: %s\n", why);
        np_client_close(&cli->client);
        return rc;
    }
    cli->connected = true;
    return CLI_OK;
}

int cli__report(struct cli *cli, int rc)
{
    if (rc == 0)
        return CLI_OK;
    if (np_is_err(rc)) {
        const char *msg = cli->client.errmsg[0] ? cli->client.errmsg : np_strerror(rc);
        bool no_sasl = rc == NP_ERR(NP_E_ILLEGAL_SASL_STATE) && !cli->sec.sasl_mechanism;
        fprintf(cli->err, "error: %s: %s%s\n", np_error_name(np_err_code(rc)), msg,
                no_sasl ? " (kafka_cli: give --sasl-mechanism and --sasl-username)" : "");
        if (no_sasl)
            cli__disconnect(cli); /* the broker closes it */
        return no_sasl ? CLI_EAUTH : CLI_EBROKER;
    }
    /* TLS 1.3 tells a client that the broker refused its certificate only after the
     * handshake: as an alert (or a closed connection) instead of the first answer. */
    bool tls_refused = cli->client.tls && !cli->client.got_frame &&
                       (rc == -EPROTO || rc == -ECONNRESET);
    /* -EPROTO: the client said why (a TLS alert; a TLS answer to a plaintext request) */
    fprintf(cli->err, "error: connection to %s failed: %s%s\n", cli->addr,
            rc == -EPROTO && cli->client.errmsg[0] ? cli->client.errmsg : np_strerror(rc),
            tls_refused ? " (before any answer: did the broker refuse our certificate?)"
            : rc == -ECONNRESET && !cli->sec.tls ? " (if it is a TLS listener, give --tls-ca)"
                                                 : "");
    if (tls_refused) {
        cli__disconnect(cli);
        return CLI_EAUTH;
    }
    cli__disconnect(cli); /* the stream is no longer trustworthy: reconnect next time */
    return CLI_ENET;
}

int cli__usage(struct cli *cli, const char *cmd, const char *why)
{
    const struct cli_cmd *c = cli__find(cmd);
    if (why && *why)
        fprintf(cli->err, "error: %s\n", why);
    if (c)
        fprintf(cli->err, "usage: %s%s%s %s   (try: help %s)\n", c->code ? c->code : "",
                c->code ? "|" : "", c->name, c->args, c->name);
    return CLI_EUSAGE;
}

int cli__num(struct cli *cli, const char *cmd, const char *what, const char *s, int64_t min,
             int64_t max, int64_t *out)
{
    char why[128];
    if (kc_parse_i64(s, min, max, out) == 0)
        return CLI_OK;
    snprintf(why, sizeof(why), "%s must be a number from %lld to %lld, not '%s'", what,
             (long long)min, (long long)max, s);
    return cli__usage(cli, cmd, why);
}

/* Parse argv[1..] against opts; exactly min..max positionals. CLI_OK, or a usage error
 * already printed; *help set when --help was asked (then positionals are not checked). */
int cli__args(struct cli *cli, int argc, char **argv, const struct cli_opt *opts, char **pos,
              int min, int max, int *npos, bool *help)
{
    char why[256];
    if (cli_getopt(argc - 1, argv + 1, opts, pos, max, npos, why, sizeof(why)) != 0)
        return cli__usage(cli, argv[0], why);
    if (*help)
        return cli_help(cli, argv[0]) == CLI_OK ? CLI_OK : CLI_EUSAGE;
    if (*npos < min)
        return cli__usage(cli, argv[0], "missing arguments");
    return CLI_OK;
}

/* ---- 0 create -------------------------------------------------------------------------- */

static int cmd_create(struct cli *cli, int argc, char **argv)
{
    bool help = false;
    char *pos[2];
    int n, rc;
    int64_t parts = -1;
    struct np_create_topic_resp resp;
    const struct cli_opt opts[] = {{"help", NULL, &help, NULL}, {NULL, NULL, NULL, NULL}};
    rc = cli__args(cli, argc, argv, opts, pos, 1, 2, &n, &help);
    if (rc || help)
        return rc;
    if (n == 2 && (rc = cli__num(cli, argv[0], "partitions", pos[1], 1, INT32_MAX, &parts)))
        return rc;
    if ((rc = cli__connect(cli)))
        return rc;
    rc = np_client_create_topic(&cli->client, pos[0], (int32_t)parts, &resp);
    if (rc)
        return cli__report(cli, rc);
    fprintf(cli->out, "topic=%s partitions=%d\n", pos[0], resp.partitions);
    return CLI_OK;
}

/* ---- 2 consume ------------------------------------------------------------------------- */

static int cmd_consume(struct cli *cli, int argc, char **argv)
{
    bool help = false;
    char *pos[3];
    int n, rc;
    int64_t part, off;
    struct np_consume_resp resp;
    const struct cli_opt opts[] = {{"help", NULL, &help, NULL}, {NULL, NULL, NULL, NULL}};
    rc = cli__args(cli, argc, argv, opts, pos, 3, 3, &n, &help);
    if (rc || help)
        return rc;
    if ((rc = cli__num(cli, argv[0], "partition", pos[1], 0, INT32_MAX, &part)) ||
        (rc = cli__num(cli, argv[0], "offset", pos[2], INT64_MIN, INT64_MAX, &off)))
        return rc;
    if ((rc = cli__connect(cli)))
        return rc;
    struct np_consume_req req = {np_str(pos[0]), (int32_t)part, off};
    rc = np_client_consume(&cli->client, &req, &resp);
    if (rc)
        return cli__report(cli, rc);
    cli_print_record(cli->out, resp.offset, resp.value.p, resp.value.len);
    return CLI_OK;
}

/* ---- 3 commit, 4 offset ---------------------------------------------------------------- */

static int cmd_commit(struct cli *cli, int argc, char **argv)
{
    bool help = false;
    char *pos[4];
    const char *meta = NULL;
    int n, rc;
    int64_t part, off;
    const struct cli_opt opts[] = {
        {"help", NULL, &help, NULL}, {"metadata", &meta, NULL, NULL}, {NULL, NULL, NULL, NULL}};
    rc = cli__args(cli, argc, argv, opts, pos, 4, 4, &n, &help);
    if (rc || help)
        return rc;
    if ((rc = cli__num(cli, argv[0], "partition", pos[2], 0, INT32_MAX, &part)) ||
        (rc = cli__num(cli, argv[0], "offset", pos[3], INT64_MIN, INT64_MAX, &off)))
        return rc;
    if ((rc = cli__connect(cli)))
        return rc;
    struct np_commit_req req = {np_str(pos[0]), np_str(pos[1]), (int32_t)part, off, np_str(meta)};
    rc = np_client_commit(&cli->client, &req);
    if (rc)
        return cli__report(cli, rc);
    fprintf(cli->out, "group=%s topic=%s partition=%lld offset=%lld\n", pos[0], pos[1],
            (long long)part, (long long)off);
    return CLI_OK;
}

static int cmd_offset(struct cli *cli, int argc, char **argv)
{
    bool help = false;
    char *pos[3];
    int n, rc;
    int64_t part;
    struct np_fetch_offset_resp resp;
    const struct cli_opt opts[] = {{"help", NULL, &help, NULL}, {NULL, NULL, NULL, NULL}};
    rc = cli__args(cli, argc, argv, opts, pos, 3, 3, &n, &help);
    if (rc || help)
        return rc;
    if ((rc = cli__num(cli, argv[0], "partition", pos[2], 0, INT32_MAX, &part)))
        return rc;
    if ((rc = cli__connect(cli)))
        return rc;
    struct np_fetch_offset_req req = {np_str(pos[0]), np_str(pos[1]), (int32_t)part};
    rc = np_client_fetch_offset(&cli->client, &req, &resp);
    if (rc)
        return cli__report(cli, rc);
    fprintf(cli->out, "%lld\n", (long long)resp.offset);
    return CLI_OK;
}

/* ---- metadata, ping, info -------------------------------------------------------------- */

int cli__cmd_metadata(struct cli *cli, int argc, char **argv)
{
    bool help = false;
    char *pos[1];
    int n, rc;
    struct np_metadata_resp md;
    struct np_metadata_iter it;
    struct np_topic_meta tm;
    struct np_partition_meta pm;
    const struct cli_opt opts[] = {{"help", NULL, &help, NULL}, {NULL, NULL, NULL, NULL}};
    rc = cli__args(cli, argc, argv, opts, pos, 0, 1, &n, &help);
    if (rc || help)
        return rc;
    if ((rc = cli__connect(cli)))
        return rc;
    rc = np_client_metadata(&cli->client, n ? pos[0] : NULL, &md);
    if (rc)
        return cli__report(cli, rc);
    np_metadata_iter_init(&it, &md);
    while (np_metadata_next(&it, &tm)) {
        for (int32_t i = 0; i < tm.npartitions; i++) {
            np_metadata_part(&tm, i, &pm);
            fprintf(cli->out, "topic=%.*s partition=%d log_start=%lld log_end=%lld\n",
                    (int)tm.name.len, tm.name.p, pm.partition, (long long)pm.log_start,
                    (long long)pm.log_end);
        }
    }
    return CLI_OK;
}

static int cmd_ping(struct cli *cli, int argc, char **argv)
{
    bool help = false;
    char *pos[1];
    const char *count = "1";
    int n, rc;
    int64_t times;
    char buf[32];
    const struct cli_opt opts[] = {
        {"help", NULL, &help, NULL}, {"count", &count, NULL, NULL}, {NULL, NULL, NULL, NULL}};
    rc = cli__args(cli, argc, argv, opts, pos, 0, 0, &n, &help);
    if (rc || help)
        return rc;
    if ((rc = cli__num(cli, argv[0], "--count", count, 1, 1000000, &times)))
        return rc;
    if ((rc = cli__connect(cli)))
        return rc;
    for (int64_t i = 0; i < times; i++) {
        int64_t t0 = kc_mono_ns();
        rc = np_client_ping(&cli->client, "ping", 4);
        if (rc)
            return cli__report(cli, rc);
        fprintf(cli->out, "pong from %s: seq=%lld time=%s\n", cli->addr, (long long)i,
                kc_fmt_ns((double)(kc_mono_ns() - t0), buf, sizeof(buf)));
    }
    return CLI_OK;
}

static int cmd_info(struct cli *cli, int argc, char **argv)
{
    bool help = false;
    char *pos[1];
    int n, rc;
    struct np_info_resp info;
    const struct cli_opt opts[] = {{"help", NULL, &help, NULL}, {NULL, NULL, NULL, NULL}};
    rc = cli__args(cli, argc, argv, opts, pos, 0, 0, &n, &help);
    if (rc || help)
        return rc;
    fprintf(cli->out, "client=kafka_cli %s protocol=%d\n", CLI_VERSION, NP_VERSION);
    if ((rc = cli__connect(cli)))
        return rc;
    if ((rc = np_client_info(&cli->client, &info)))
        return cli__report(cli, rc);
    fprintf(cli->out,
            "broker=%.*s address=%s max_request_bytes=%d max_message_bytes=%d "
            "default_partitions=%d network_threads=%d\n",
            (int)info.version.len, info.version.p, cli->addr, info.max_request_bytes,
            info.max_message_bytes, info.default_partitions, info.network_threads);
    return CLI_OK;
}

static int cmd_help(struct cli *cli, int argc, char **argv)
{
    (void)argv;
    return cli_help(cli, argc > 1 ? argv[1] : NULL);
}

static int cmd_quit(struct cli *cli, int argc, char **argv)
{
    (void)cli, (void)argc, (void)argv;
    return CLI_OK; /* the REPL checks cli_is_quit first; one-shot "quit" does nothing */
}

/* ---- the table ------------------------------------------------------------------------- */

#define ADMIN_DETAILS(family)                                                                 \
    "over the Kafka protocol, to --bootstrap-server (default: -b's address)\n"                \
    "`" family " --help` lists the verbs, `" family " <verb> --help` their options"

static const struct cli_cmd cli_cmds[] = {
    {"0", "create", NULL, "<topic> [<partitions>]", "create a topic",
     "partitions: 1 or more (default: the broker's num.partitions)", cmd_create},
    {"1", "produce", NULL, "<topic> <message>|- [--key K] [--partition P] [--acks 0|1|all]",
     "produce one record (or one per line of stdin with -)",
     "--key K        keyed: the partition is murmur2(K) as in Kafka\n"
     "--partition P  this partition (default: by key, else round-robin)\n"
     "--acks A       1: after append (default); all: after fsync; 0: no answer",
     cli__cmd_produce},
    {"2", "consume", NULL, "<topic> <partition> <offset>", "consume the record at an offset",
     "prints <offset>TAB<value>; END_OF_LOG when the offset is the log end", cmd_consume},
    {"3", "commit", NULL, "<group> <topic> <partition> <offset> [--metadata M]",
     "commit a consumer group's offset (durable before it answers)", NULL, cmd_commit},
    {"4", "offset", "fetch-offset", "<group> <topic> <partition>",
     "fetch a consumer group's committed offset (-1: none)", NULL, cmd_offset},
    {"5", "produce-batch", NULL,
     "<topic> <msg1>,<msg2>,...|- [--partition P] [--acks 0|1|all] [--sep S]",
     "produce one batch (one RecordBatch v2, all to one partition)",
     "messages are split on the separator (default ','); - reads one per line of stdin",
     cli__cmd_produce_batch},
    {"6", "consume-batch", NULL,
     "<topic> <partition> <offset> <count> [--max-wait MS] [--max-bytes B]",
     "consume up to count records from an offset",
     "--max-wait MS  long-poll: wait up to MS for the first record (default 0)\n"
     "--max-bytes B  bytes per request (default 1 MiB)",
     cli__cmd_consume_batch},
    {NULL, "test", NULL,
     "<topic> <count> [--size B] [--batch N] [--acks 0|1|all] [--producers P] [--json] "
     "[--verify]",
     "load test: produce count records as fast as the broker acknowledges them",
     "--size B       value bytes per record (default 100)\n"
     "--batch N      records per request (default 1; >1 sends RecordBatches)\n"
     "--acks A       0, 1 (default) or all\n"
     "--producers P  connections/threads (default 1)\n"
     "--window W     requests in flight per connection (default 64)\n"
     "--partitions N partitions if the topic must be created (default: the broker's)\n"
     "--json         print the result as one JSON object\n"
     "--verify       read everything back and check it (values need --size >= 16)",
     cli__cmd_test},
    {NULL, "metadata", NULL, "[<topic>]", "list topics with partitions and offsets",
     "also: topics, and topics <topic> (the admin verbs below take `topics <verb>`)",
     cli__cmd_metadata},
    {NULL, "top", NULL, "[--metrics host:port] [--interval S] [--partitions] [--once] [--json]",
     "watch a broker's /metrics: rates, offsets, lag, latency",
     "--metrics A    the metrics port (default: the broker's host, port 9644)\n"
     "--interval S   seconds between scrapes (default 2; the first block after one)\n"
     "--partitions   a row per partition, not per topic\n"
     "--once         one block, then exit\n"
     "--count N      N blocks, then exit (default: until interrupted)\n"
     "--json         one JSON object per block, one per line",
     cli__cmd_top},
    {NULL, "ping", NULL, "[--count N]", "round trip to the broker", NULL, cmd_ping},
    /* The admin verbs: Kafka's protocol, to --bootstrap-server (default: -b's address). */
    {NULL, "topics", NULL, "list|describe|create|delete|alter|add-partitions ...",
     "administer topics (Kafka's kafka-topics.sh)", ADMIN_DETAILS("topics"), cli__cmd_topics},
    {NULL, "groups", NULL, "list|describe|reset-offsets|delete|delete-offsets ...",
     "consumer groups: lag, offsets (Kafka's kafka-consumer-groups.sh)",
     ADMIN_DETAILS("groups"), cli__cmd_groups},
    {NULL, "configs", NULL, "describe|alter --topic T|--broker B ...",
     "topic and broker configs (Kafka's kafka-configs.sh)", ADMIN_DETAILS("configs"),
     cli__cmd_configs},
    {NULL, "delete-records", NULL,
     "--topic T --partition P --offset O | --offset-json-file F",
     "delete a partition's records before an offset (Kafka's kafka-delete-records.sh)",
     ADMIN_DETAILS("delete-records"), cli__cmd_delete_records},
    {NULL, "elect-leaders", NULL,
     "--election-type preferred|unclean --all-topic-partitions | --topic T --partition P",
     "move leaderships to preferred (or any live) replicas (Kafka's kafka-leader-election.sh)",
     ADMIN_DETAILS("elect-leaders"), cli__cmd_elect_leaders},
    {NULL, "acls", NULL, "list|add|remove ...", "ACLs (Kafka's kafka-acls.sh)",
     ADMIN_DETAILS("acls"), cli__cmd_acls},
    {NULL, "scram", NULL, "describe|set|delete ...",
     "SCRAM credentials (Kafka's kafka-configs.sh --entity-type users)",
     ADMIN_DETAILS("scram"), cli__cmd_scram},
    {NULL, "info", "version", "", "client and broker versions and limits", NULL, cmd_info},
    {NULL, "help", NULL, "[<command>]", "this help, or one command's", NULL, cmd_help},
    {NULL, "quit", "exit", "", "leave the Playground", NULL, cmd_quit},
};

const struct cli_cmd *cli__find(const char *word)
{
    for (size_t i = 0; word && i < KC_ARRAY_SIZE(cli_cmds); i++) {
        const struct cli_cmd *c = &cli_cmds[i];
        if ((c->code && strcmp(word, c->code) == 0) || strcmp(word, c->name) == 0 ||
            (c->alias && strcmp(word, c->alias) == 0))
            return c;
    }
    return NULL;
}

bool cli_is_quit(const char *word)
{
    return strcmp(word, "quit") == 0 || strcmp(word, "exit") == 0 || strcmp(word, "q") == 0;
}

static void cli_help_one(FILE *f, const struct cli_cmd *c)
{
    fprintf(f, "%s%s%s %s\n    %s\n", c->code ? c->code : "", c->code ? " | " : "", c->name,
            c->args, c->summary);
    if (c->alias)
        fprintf(f, "    also: %s\n", c->alias);
    if (c->details)
        for (const char *p = c->details; *p;) {
            size_t n = strcspn(p, "\n");
            fprintf(f, "    %.*s\n", (int)n, p);
            p += n + (p[n] == '\n');
        }
}

int cli_help(struct cli *cli, const char *cmd)
{
    if (cmd) {
        const struct cli_cmd *c = cli__find(cmd);
        if (!c) {
            fprintf(cli->err, "error: unknown command '%s' (try: help)\n", cmd);
            return CLI_EUSAGE;
        }
        cli_help_one(cli->out, c);
        return CLI_OK;
    }
    fprintf(cli->out, "Commands (by code or name):\n");
    for (size_t i = 0; i < KC_ARRAY_SIZE(cli_cmds); i++)
        fprintf(cli->out, "  %-2s %-14s %s\n", cli_cmds[i].code ? cli_cmds[i].code : "",
                cli_cmds[i].name, cli_cmds[i].args);
    fprintf(cli->out, "Examples:\n  0 payments 3\n  1 payments \"Hello World\"\n"
                      "  2 payments 0 0\n  3 groupA payments 0 15\n  4 groupA payments 0\n"
                      "  5 logs error1,error2,error3\n  6 logs 0 0 100\n  test logs 10000\n"
                      "Quote a message with spaces; help <command> shows its options.\n");
    return CLI_OK;
}

int cli_run(struct cli *cli, int argc, char **argv)
{
    if (argc == 0)
        return CLI_OK;
    const struct cli_cmd *c = cli__find(argv[0]);
    if (!c) {
        fprintf(cli->err, "error: unknown command '%s' (try: help)\n", argv[0]);
        return CLI_EUSAGE;
    }
    return c->run(cli, argc, argv);
}

int cli_run_line(struct cli *cli, const char *line)
{
    struct cli_args a;
    char why[256];
    int rc = cli_tokenize(line, &a, why, sizeof(why));
    if (rc == -EINVAL) {
        fprintf(cli->err, "error: %s\n", why);
        return CLI_EUSAGE;
    }
    if (rc) {
        fprintf(cli->err, "error: %s\n", np_strerror(rc));
        return CLI_EUSAGE;
    }
    rc = cli_run(cli, a.argc, a.argv);
    cli_args_free(&a);
    return rc;
}
