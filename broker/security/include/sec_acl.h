/*
 * sec_acl.h - Kafka's ACL authorizer: bindings, filters, and the check every request makes.
 *
 * An ACL binding says: principal P, from host H, may (ALLOW) or may not (DENY) do
 * operation O on the resources a pattern names.
 *
 *   resource pattern                    access control entry
 *   +-------+-----------+----------+    +------------+------+-------+------------+
 *   | TOPIC | PREFIXED  | "orders-"|    | User:alice |  *   | WRITE | ALLOW      |
 *   +-------+-----------+----------+    +------------+------+-------+------------+
 *    type    LITERAL:    name            principal     host   op      permission
 *            the name exactly, or "*" = every name of the type
 *            PREFIXED: every name that starts with it
 *
 * The decision for (principal, host, op, resource type, name), as Kafka's
 * StandardAuthorizer makes it:
 *
 *   1. a super user (super.users = "User:admin;User:ops") may do anything;
 *   2. collect the bindings whose pattern matches the resource: LITERAL name, LITERAL "*",
 *      PREFIXED prefixes of the name;
 *   3. among them, one whose principal (or "User:*") and host (or "*") match and whose
 *      operation matches:
 *        DENY  when its op is the op asked, or ALL                -> DENIED (DENY wins)
 *        ALLOW when its op is the op asked, or ALL, or implies it -> ALLOWED, unless a
 *              DENY also matches
 *      ALLOW READ, WRITE, DELETE or ALTER imply DESCRIBE; ALLOW ALTER_CONFIGS implies
 *      DESCRIBE_CONFIGS. Implication is for ALLOW only: DENY READ does not deny DESCRIBE.
 *   4. no binding matched at all (for anyone): allow.everyone.if.no.acl.found decides
 *      (default false: DENIED); bindings exist but none allows: DENIED.
 *
 * The cluster is the one resource of type CLUSTER, named "kafka-cluster".
 *
 * The hot path (a produce checks WRITE on its topic once per request) does not scan: the
 * bindings are indexed by (type, pattern type, name) in a hash table, and the prefixed
 * ones are found by hashing the name's prefixes of the lengths that occur. See
 * src/acl_index.c and the README's figures.
 *
 * Durable state: <data-dir>/acls, one binding per line, committed like the credential
 * file (tmp, fsync, rename, fsync dir; CRC-32C trailer; strict parse).
 *
 * Threads: sec_authorize takes a read lock; create and delete are serialised, write the
 * file, then swap a new index in under the write lock.
 */
#ifndef SEC_ACL_H
#define SEC_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Kafka's codes (ResourceType, PatternType, AclOperation, AclPermissionType). */
enum sec_resource_type {
    SEC_RES_UNKNOWN = 0,
    SEC_RES_ANY = 1, /* filters only */
    SEC_RES_TOPIC = 2,
    SEC_RES_GROUP = 3,
    SEC_RES_CLUSTER = 4,
    SEC_RES_TRANSACTIONAL_ID = 5,
    SEC_RES_DELEGATION_TOKEN = 6,
    SEC_RES_USER = 7,
};

enum sec_pattern_type {
    SEC_PAT_UNKNOWN = 0,
    SEC_PAT_ANY = 1,   /* filters: any pattern type, name compared exactly */
    SEC_PAT_MATCH = 2, /* filters: every pattern that would match the name */
    SEC_PAT_LITERAL = 3,
    SEC_PAT_PREFIXED = 4,
};

enum sec_acl_op {
    SEC_OP_UNKNOWN = 0,
    SEC_OP_ANY = 1, /* filters only */
    SEC_OP_ALL = 2,
    SEC_OP_READ = 3,
    SEC_OP_WRITE = 4,
    SEC_OP_CREATE = 5,
    SEC_OP_DELETE = 6,
    SEC_OP_ALTER = 7,
    SEC_OP_DESCRIBE = 8,
    SEC_OP_CLUSTER_ACTION = 9,
    SEC_OP_DESCRIBE_CONFIGS = 10,
    SEC_OP_ALTER_CONFIGS = 11,
    SEC_OP_IDEMPOTENT_WRITE = 12,
    SEC_OP_CREATE_TOKENS = 13,
    SEC_OP_DESCRIBE_TOKENS = 14,
    SEC_OP_TWO_PHASE_COMMIT = 15,
};

enum sec_acl_perm {
    SEC_PERM_UNKNOWN = 0,
    SEC_PERM_ANY = 1, /* filters only */
    SEC_PERM_DENY = 2,
    SEC_PERM_ALLOW = 3,
};

#define SEC_CLUSTER_NAME       "kafka-cluster"
#define SEC_WILDCARD           "*"
#define SEC_WILDCARD_PRINCIPAL "User:*"

/* One binding. Codes are ints because they arrive from the wire and may be anything. */
struct sec_acl {
    int resource_type;
    int pattern_type;
    const char *resource_name;
    const char *principal; /* "User:alice" */
    const char *host;      /* "*" or an address as the broker prints it ("10.0.0.7") */
    int operation;
    int permission;
};

/* A filter (DescribeAcls, DeleteAcls). NULL strings match anything; the codes may be the
 * filter-only values ANY (and MATCH for the pattern type). Matching is Kafka's
 * ResourcePatternFilter.matches and AccessControlEntryFilter.matches:
 *   type ANY, or equal;
 *   pattern ANY: any pattern type, name compared exactly; MATCH: every LITERAL pattern
 *     equal to the name or "*", every PREFIXED pattern the name starts with; else the
 *     same pattern type and the same name;
 *   principal, host: NULL or equal; operation, permission: ANY or equal. */
struct sec_acl_filter {
    int resource_type;
    int pattern_type;
    const char *resource_name;
    const char *principal;
    const char *host;
    int operation;
    int permission;
};

/* Names as Kafka prints them ("TOPIC", "PREFIXED", "DESCRIBE_CONFIGS", "ALLOW"), NULL for
 * a code that has none; and back (case-insensitive, as Kafka's fromString): the code, or
 * UNKNOWN (0). */
const char *sec_resource_type_name(int code);
const char *sec_pattern_type_name(int code);
const char *sec_acl_op_name(int code);
const char *sec_acl_perm_name(int code);
int sec_resource_type_parse(const char *s);
int sec_pattern_type_parse(const char *s);
int sec_acl_op_parse(const char *s);
int sec_acl_perm_parse(const char *s);

/* ---- the authorizer ------------------------------------------------------------------- */

struct sec_authorizer_config {
    const char *super_users;             /* super.users: "User:admin;User:ops"; NULL: none */
    bool allow_everyone_if_no_acl_found; /* allow.everyone.if.no.acl.found, default false */
};

/* Set one of Kafka's two settings by name. 0, -ENOENT (not an authorizer setting), or
 * -EINVAL (allow.everyone.if.no.acl.found must be true or false, any case). value is not
 * copied: keep it alive until sec_authorizer_open. */
int sec_authorizer_config_set(struct sec_authorizer_config *cfg, const char *key,
                              const char *value);

struct sec_authorizer;

/*
 * Open the authorizer of data_dir: load <data-dir>/acls (absent: no ACLs, and no file is
 * written until the first change). cfg is copied. 0, -errno, KC_ECORRUPT (the file does not
 * parse: refusing to start beats authorizing with half the rules), -EINVAL (a super.users
 * entry is not "Type:name").
 */
int sec_authorizer_open(const char *data_dir, const struct sec_authorizer_config *cfg,
                        struct sec_authorizer **out);
void sec_authorizer_close(struct sec_authorizer *a);

enum sec_authz_result {
    SEC_AUTHZ_DENIED = 0,
    SEC_AUTHZ_ALLOWED = 1,
};

/* Why, for the audit log (Kafka's rule names). */
enum sec_authz_rule {
    SEC_RULE_SUPER_USER,     /* "SuperUser" */
    SEC_RULE_MATCHING_ALLOW, /* an ALLOW binding matched, no DENY did */
    SEC_RULE_MATCHING_DENY,  /* a DENY binding matched */
    SEC_RULE_DEFAULT,        /* no binding for the resource: allow.everyone.if.no.acl.found */
    SEC_RULE_NO_ALLOW,       /* bindings for the resource, none for this request */
};
const char *sec_authz_rule_name(enum sec_authz_rule rule);

/*
 * The decision for principal ("User:alice"), host (the client's address as text), op (a
 * concrete operation, not ANY/ALL) on the resource (type, name[0..name_len)), as described
 * at the top. rule (may be NULL) says why. Thread-safe; allocates nothing; no system call
 * except an uncontended read lock.
 */
enum sec_authz_result sec_authorize(struct sec_authorizer *a, const char *principal,
                                    const char *host, enum sec_acl_op op,
                                    enum sec_resource_type type, const char *name, size_t name_len,
                                    enum sec_authz_rule *rule);

/* The result of one binding to create or one filter to delete/describe: Kafka's error code
 * (0, or INVALID_REQUEST = 42) and its message (static), NULL when 0. */
struct sec_acl_result {
    int16_t error_code;
    const char *error_message;
};

#define SEC_ACL_INVALID_REQUEST 42

/*
 * CreateAcls: validate each binding as Kafka's controller does (resource type not
 * UNKNOWN/ANY, pattern LITERAL or PREFIXED, operation not UNKNOWN/ANY, permission ALLOW or
 * DENY, non-empty name, principal "Type:name", non-empty host), then add the valid ones
 * with one durable write. A binding that exists already succeeds without a duplicate.
 * results[i] is binding i's outcome. Returns the number refused, or -errno if the file
 * could not be written (nothing changed).
 */
int sec_acl_create(struct sec_authorizer *a, const struct sec_acl *acls, size_t n,
                   struct sec_acl_result *results);

/*
 * DeleteAcls: remove every binding matching any of the n filters, with one durable write.
 * A filter with an UNKNOWN part fails alone (INVALID_REQUEST). fn(arg, i, acl) is called
 * for each binding removed by filter i (a binding matched by two filters is reported for
 * both, as Kafka does), before the call returns; the strings in acl are valid only during
 * the call. Returns the number of bindings removed, or -errno.
 */
int sec_acl_delete(struct sec_authorizer *a, const struct sec_acl_filter *filters, size_t n,
                   struct sec_acl_result *results,
                   void (*fn)(void *arg, size_t filter_index, const struct sec_acl *acl),
                   void *arg);

/*
 * DescribeAcls: fn(arg, acl) for each binding matching filter, under the read lock (fn
 * must not call into the authorizer). Returns the number matched, or KC_EMALFORMED (with
 * *result set) for a filter with an UNKNOWN part.
 */
int sec_acl_describe(struct sec_authorizer *a, const struct sec_acl_filter *filter,
                     struct sec_acl_result *result,
                     void (*fn)(void *arg, const struct sec_acl *acl), void *arg);

/* true if filter matches acl (the rules above). Pure. */
bool sec_acl_filter_matches(const struct sec_acl_filter *filter, const struct sec_acl *acl);

/* Number of bindings. */
size_t sec_acl_count(struct sec_authorizer *a);

#endif
