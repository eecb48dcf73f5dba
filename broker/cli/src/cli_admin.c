/*
 * cli_admin.c - how an admin verb runs: the family and verb words, the options every verb
 * shares, help, usage errors, and the client's lifetime (contract in cli_admin.h).
 *
 *   kafka_cli topics create payments --partitions 3 --json
 *             |      |      '------- the verb's own words, then the common options
 *             |      '-------------- struct cli_verb (the family's table)
 *             '--------------------- struct cli_family, from kafka_cli's command table
 *
 * `topics` alone, or followed by a word that is not one of its verbs (a topic's name),
 * stays the native `metadata` listing it was before the admin verbs existed, so scripts
 * written for it keep working; `metadata <topic>` reaches a topic named like a verb.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli_admin.h"
#include "kc_common.h"

/* ---- help and usage ---------------------------------------------------------------------- */

static void verb_help(FILE *f, const struct cli_family *fam, const struct cli_verb *v)
{
    fprintf(f, "%s%s%s %s\n    %s\n", fam->name, v->name[0] ? " " : "", v->name, v->args,
            v->summary);
    for (const char *p = v->details; p && *p;) {
        size_t n = strcspn(p, "\n");
        fprintf(f, "    %.*s\n", (int)n, p);
        p += n + (p[n] == '\n');
    }
    fprintf(f,
            "    --bootstrap-server H:P[,H:P...]  the Kafka brokers (default: -b's address)\n"
            "    --json         one JSON document on stdout instead of lines\n"
            "    Mirrors Kafka's %s.\n",
            fam->mirrors);
}

static void family_help(FILE *f, const struct cli_family *fam)
{
    fprintf(f, "%s: Kafka's %s, over the Kafka protocol\n", fam->name, fam->mirrors);
    for (int i = 0; i < fam->nverbs; i++)
        fprintf(f, "  %s %s %s\n      %s\n", fam->name, fam->verbs[i].name, fam->verbs[i].args,
                fam->verbs[i].summary);
    fprintf(f, "Each verb: --bootstrap-server H:P[,H:P...] (default: -b's address), --json, "
               "--help.\n");
}

int cli__admin_usage(struct cli_admin *a, const char *why, ...)
{
    va_list ap;
    FILE *f = a->cli->err;
    if (why) {
        fputs("error: ", f);
        va_start(ap, why);
        vfprintf(f, why, ap);
        va_end(ap);
        fputc('\n', f);
    }
    fprintf(f, "usage: %s%s%s %s   (try: %s%s%s --help)\n", a->family->name,
            a->verb->name[0] ? " " : "", a->verb->name, a->verb->args, a->family->name,
            a->verb->name[0] ? " " : "", a->verb->name);
    return CLI_EUSAGE;
}

int cli__admin_num(struct cli_admin *a, const char *what, const char *s, int64_t min, int64_t max,
                   int64_t *out)
{
    if (s && kc_parse_i64(s, min, max, out) == 0)
        return CLI_OK;
    return cli__admin_usage(a, "%s must be a number from %lld to %lld, not '%s'", what,
                            (long long)min, (long long)max, s ? s : "");
}

int cli__admin_kv(struct cli_admin *a, const char *opt, const char *text, char *key, size_t kcap,
                  const char **value)
{
    const char *eq = strchr(text, '=');
    size_t n = eq ? (size_t)(eq - text) : 0;
    if (!eq || n == 0 || n >= kcap)
        return cli__admin_usage(a, "%s takes name=value, not '%s'", opt, text);
    memcpy(key, text, n);
    key[n] = '\0';
    *value = eq + 1;
    return CLI_OK;
}

/* ---- options -------------------------------------------------------------------------------- */

int cli__admin_args(struct cli_admin *a, int argc, char **argv, const struct cli_opt *opts,
                    char **pos, int min, int max, int *npos)
{
    struct cli_opt all[CLI_ADMIN_OPTS_MAX];
    char why[256];
    int n = 0;
    for (; opts && opts[n].name; n++)
        all[n] = opts[n];
    all[n++] = (struct cli_opt){"bootstrap-server", &a->bootstrap, NULL, NULL};
    all[n++] = (struct cli_opt){"json", NULL, &a->json, NULL};
    all[n++] = (struct cli_opt){"help", NULL, &a->help, NULL};
    all[n] = (struct cli_opt){NULL, NULL, NULL, NULL};
    if (cli_getopt(argc - 1, argv + 1, all, pos, max, npos, why, sizeof(why)) != 0)
        return cli__admin_usage(a, "%s", why);
    if (a->help) {
        verb_help(a->cli->out, a->family, a->verb);
        return CLI_OK;
    }
    if (*npos < min)
        return cli__admin_usage(a, "missing arguments");
    cli__json_init(&a->j, a->cli->out);
    return CLI_OK;
}

int cli__admin_open(struct cli_admin *a)
{
    const char *bootstrap = a->bootstrap        ? a->bootstrap
                            : a->cli->bootstrap ? a->cli->bootstrap
                                                : a->cli->addr;
    if (a->opened)
        return CLI_OK;
    a->opened = true; /* cli__kafka_close runs whatever happens now */
    return cli__kafka_open(&a->k, a->cli, bootstrap);
}

/* ---- dispatch ------------------------------------------------------------------------------- */

static const struct cli_verb *find_verb(const struct cli_family *fam, const char *word)
{
    for (int i = 0; word && i < fam->nverbs; i++)
        if (strcmp(fam->verbs[i].name, word) == 0)
            return &fam->verbs[i];
    return NULL;
}

static bool is_help(const char *w)
{
    return strcmp(w, "--help") == 0 || strcmp(w, "-h") == 0 || strcmp(w, "help") == 0;
}

static int run_verb(struct cli *cli, const struct cli_family *fam, const struct cli_verb *v,
                    int argc, char **argv)
{
    struct cli_admin a = {.cli = cli, .family = fam, .verb = v};
    int rc = v->run(&a, argc, argv);
    if (a.opened)
        cli__kafka_close(&a.k);
    return rc;
}

/* argv[0] is the family's word; argv[1] its verb. */
static int run_family(struct cli *cli, const struct cli_family *fam, int argc, char **argv)
{
    const struct cli_verb *v;
    if (argc >= 2 && is_help(argv[1])) {
        family_help(cli->out, fam);
        return CLI_OK;
    }
    if (argc < 2 || !(v = find_verb(fam, argv[1]))) {
        if (argc >= 2)
            fprintf(cli->err, "error: %s has no verb '%s'\n", fam->name, argv[1]);
        family_help(cli->err, fam);
        return CLI_EUSAGE;
    }
    return run_verb(cli, fam, v, argc - 1, argv + 1);
}

int cli__cmd_topics(struct cli *cli, int argc, char **argv)
{
    if (argc < 2 || (!is_help(argv[1]) && !find_verb(&cli__topics_family, argv[1])))
        return cli__cmd_metadata(cli, argc, argv); /* the native listing, as before */
    return run_family(cli, &cli__topics_family, argc, argv);
}

int cli__cmd_groups(struct cli *cli, int argc, char **argv)
{
    return run_family(cli, &cli__groups_family, argc, argv);
}

int cli__cmd_configs(struct cli *cli, int argc, char **argv)
{
    return run_family(cli, &cli__configs_family, argc, argv);
}

int cli__cmd_acls(struct cli *cli, int argc, char **argv)
{
    return run_family(cli, &cli__acls_family, argc, argv);
}

int cli__cmd_scram(struct cli *cli, int argc, char **argv)
{
    return run_family(cli, &cli__scram_family, argc, argv);
}

/* elect-leaders, the same. */
int cli__cmd_elect_leaders(struct cli *cli, int argc, char **argv)
{
    return run_verb(cli, &cli__elect_family, &cli__elect_family.verbs[0], argc, argv);
}

/* delete-records is a family of one verb: its words follow it directly. */
int cli__cmd_delete_records(struct cli *cli, int argc, char **argv)
{
    return run_verb(cli, &cli__records_family, &cli__records_family.verbs[0], argc, argv);
}
