/*
 * acl_types.c - the vocabulary of Kafka's ACLs: codes and names, what may be stored, what
 * a filter matches, and which operations an entry decides.
 *
 * Implication (Kafka's StandardAuthorizerData.findResult), for ALLOW entries only:
 *
 *   asked DESCRIBE          <- ALLOW DESCRIBE, READ, WRITE, DELETE, ALTER, ALL
 *   asked DESCRIBE_CONFIGS  <- ALLOW DESCRIBE_CONFIGS, ALTER_CONFIGS, ALL
 *   asked anything else X   <- ALLOW X, ALL
 *   DENY entries:              DENY X or DENY ALL decide X; nothing else
 */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "sec_acl.h"
#include "sec_int.h"

static const char *const res_names[] = {
    "UNKNOWN", "ANY", "TOPIC", "GROUP", "CLUSTER", "TRANSACTIONAL_ID", "DELEGATION_TOKEN", "USER"};
static const char *const pat_names[] = {"UNKNOWN", "ANY", "MATCH", "LITERAL", "PREFIXED"};
static const char *const op_names[] = {"UNKNOWN",
                                       "ANY",
                                       "ALL",
                                       "READ",
                                       "WRITE",
                                       "CREATE",
                                       "DELETE",
                                       "ALTER",
                                       "DESCRIBE",
                                       "CLUSTER_ACTION",
                                       "DESCRIBE_CONFIGS",
                                       "ALTER_CONFIGS",
                                       "IDEMPOTENT_WRITE",
                                       "CREATE_TOKENS",
                                       "DESCRIBE_TOKENS",
                                       "TWO_PHASE_COMMIT"};
static const char *const perm_names[] = {"UNKNOWN", "ANY", "DENY", "ALLOW"};

#define NAME_OF(table, code)                                                                       \
    ((code) >= 0 && (size_t)(code) < sizeof(table) / sizeof((table)[0]) ? (table)[code] : NULL)

const char *sec_resource_type_name(int code)
{
    return NAME_OF(res_names, code);
}
const char *sec_pattern_type_name(int code)
{
    return NAME_OF(pat_names, code);
}
const char *sec_acl_op_name(int code)
{
    return NAME_OF(op_names, code);
}
const char *sec_acl_perm_name(int code)
{
    return NAME_OF(perm_names, code);
}

static int parse_in(const char *const *table, size_t n, const char *s)
{
    for (size_t i = 1; s && i < n; i++)
        if (strcasecmp(s, table[i]) == 0)
            return (int)i;
    return 0; /* UNKNOWN, as Kafka's fromString */
}

int sec_resource_type_parse(const char *s)
{
    return parse_in(res_names, sizeof(res_names) / sizeof(res_names[0]), s);
}
int sec_pattern_type_parse(const char *s)
{
    return parse_in(pat_names, sizeof(pat_names) / sizeof(pat_names[0]), s);
}
int sec_acl_op_parse(const char *s)
{
    return parse_in(op_names, sizeof(op_names) / sizeof(op_names[0]), s);
}
int sec_acl_perm_parse(const char *s)
{
    return parse_in(perm_names, sizeof(perm_names) / sizeof(perm_names[0]), s);
}

/* Codes outside Kafka's tables are UNKNOWN (fromCode). */
static bool known(const char *name)
{
    return name && strcmp(name, "UNKNOWN") != 0;
}

bool sec__acl_known(int resource_type, int pattern_type, int operation, int permission)
{
    return known(sec_resource_type_name(resource_type)) &&
           known(sec_pattern_type_name(pattern_type)) && known(sec_acl_op_name(operation)) &&
           known(sec_acl_perm_name(permission));
}

const char *sec__acl_invalid(const struct sec_acl *acl)
{
    if (!known(sec_resource_type_name(acl->resource_type)) || acl->resource_type == SEC_RES_ANY)
        return "Invalid resourceType";
    if (acl->pattern_type != SEC_PAT_LITERAL && acl->pattern_type != SEC_PAT_PREFIXED)
        return "Invalid patternType";
    if (!known(sec_acl_op_name(acl->operation)) || acl->operation == SEC_OP_ANY)
        return "Invalid operation";
    if (acl->permission != SEC_PERM_ALLOW && acl->permission != SEC_PERM_DENY)
        return "Invalid permissionType";
    if (!acl->resource_name || !*acl->resource_name)
        return "Resource name should not be empty";
    if (!acl->principal || !strchr(acl->principal, ':'))
        return "Could not parse principal (no colon is present separating the principal "
               "type from the principal name)";
    if (!acl->host || !*acl->host)
        return "Host should not be empty";
    return NULL;
}

const char *sec__filter_invalid(const struct sec_acl_filter *f)
{
    if (!known(sec_resource_type_name(f->resource_type)) ||
        !known(sec_pattern_type_name(f->pattern_type)))
        return "Unknown patternFilter.";
    if (!known(sec_acl_op_name(f->operation)) || !known(sec_acl_perm_name(f->permission)))
        return "Unknown entryFilter.";
    return NULL;
}

static bool str_match(const char *filter, const char *value)
{
    return !filter || strcmp(filter, value) == 0;
}

/* ResourcePatternFilter.matches */
static bool pattern_matches(const struct sec_acl_filter *f, const struct sec_acl *acl)
{
    if (f->resource_type != SEC_RES_ANY && f->resource_type != acl->resource_type)
        return false;
    if (f->pattern_type != SEC_PAT_ANY && f->pattern_type != SEC_PAT_MATCH &&
        f->pattern_type != acl->pattern_type)
        return false;
    if (!f->resource_name)
        return true;
    if (f->pattern_type == SEC_PAT_ANY || f->pattern_type == acl->pattern_type)
        return strcmp(f->resource_name, acl->resource_name) == 0;
    /* MATCH: would the pattern match a resource of this name? */
    if (acl->pattern_type == SEC_PAT_LITERAL)
        return strcmp(f->resource_name, acl->resource_name) == 0 ||
               strcmp(acl->resource_name, SEC_WILDCARD) == 0;
    size_t n = strlen(acl->resource_name);
    return strncmp(f->resource_name, acl->resource_name, n) == 0;
}

bool sec_acl_filter_matches(const struct sec_acl_filter *f, const struct sec_acl *acl)
{
    return pattern_matches(f, acl) && str_match(f->principal, acl->principal) &&
           str_match(f->host, acl->host) &&
           (f->operation == SEC_OP_ANY || f->operation == acl->operation) &&
           (f->permission == SEC_PERM_ANY || f->permission == acl->permission);
}

int sec__acl_op_decides(int acl_op, int acl_perm, int asked)
{
    if (acl_op == SEC_OP_ALL || acl_op == asked)
        return acl_perm;
    if (acl_perm != SEC_PERM_ALLOW)
        return 0;
    if (asked == SEC_OP_DESCRIBE)
        return acl_op == SEC_OP_READ || acl_op == SEC_OP_WRITE || acl_op == SEC_OP_DELETE ||
                       acl_op == SEC_OP_ALTER
                   ? SEC_PERM_ALLOW
                   : 0;
    if (asked == SEC_OP_DESCRIBE_CONFIGS)
        return acl_op == SEC_OP_ALTER_CONFIGS ? SEC_PERM_ALLOW : 0;
    return 0;
}

const char *sec_authz_rule_name(enum sec_authz_rule rule)
{
    switch (rule) {
    case SEC_RULE_SUPER_USER:
        return "SuperUser";
    case SEC_RULE_MATCHING_ALLOW:
        return "MatchingAcl(ALLOW)";
    case SEC_RULE_MATCHING_DENY:
        return "MatchingAcl(DENY)";
    case SEC_RULE_DEFAULT:
        return "DefaultRule";
    default:
        return "NoMatchingAllow";
    }
}
