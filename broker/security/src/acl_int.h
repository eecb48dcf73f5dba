/*
 * acl_int.h - the authorizer's immutable snapshot: the bindings, and the index that
 * answers sec_authorize without scanning them. Shared by acl_index.c (build, lookup) and
 * acl_store.c (changes, file, locking).
 *
 *   snapshot
 *   +-- acls[0..n)   every binding, sorted, owning its strings (the file's order)
 *   +-- slots[cap]   open addressing, one slot per distinct resource pattern
 *   |     (type, pattern type, name) -> entries[] of that pattern:
 *   |                                   {principal, host, operation, permission}
 *   +-- prefix_len[type] = sorted distinct lengths of that type's PREFIXED names
 *
 *   sec_authorize(TOPIC, "orders-eu")     the lookups it makes:
 *     (TOPIC, LITERAL, "orders-eu")       the exact name
 *     (TOPIC, LITERAL, "*")               the wildcard
 *     (TOPIC, PREFIXED, "orders-")        one per prefix length in prefix_len[TOPIC]
 *     (TOPIC, PREFIXED, "ord")              that the name is long enough for; hashed
 *                                           incrementally along the name (FNV-1a)
 */
#ifndef ACL_INT_H
#define ACL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sec_acl.h"

#define ACL_TYPES 8 /* resource type codes 0..7 */

struct acl_entry {
    const char *principal; /* points into acls[] */
    const char *host;
    uint8_t operation, permission;
    bool any_principal; /* "User:*" */
    bool any_host;      /* "*" */
};

struct acl_slot {
    const char *name; /* NULL: empty slot */
    size_t name_len;
    uint64_t hash;
    uint8_t type, pattern;
    struct acl_entry *entries;
    size_t n;
};

struct acl_snapshot {
    struct sec_acl *acls;
    size_t n;
    struct acl_slot *slots;
    size_t cap;                /* a power of two */
    struct acl_entry *entries; /* all slots' entries, one allocation */
    uint32_t *prefix_len[ACL_TYPES];
    size_t n_prefix_len[ACL_TYPES];
};

/* Order of bindings: type, pattern, name, principal, host, operation, permission. */
int acl__cmp(const struct sec_acl *a, const struct sec_acl *b);

/* Build a snapshot that takes ownership of acls[0..n) (sorted, distinct; strings malloc'ed).
 * NULL on ENOMEM (acls are then freed too). */
struct acl_snapshot *acl__snapshot_build(struct sec_acl *acls, size_t n);
void acl__snapshot_free(struct acl_snapshot *s);
/* Free one binding's strings. */
void acl__free_strings(struct sec_acl *acl);

/* The decision over one snapshot (without super users). */
enum sec_authz_result acl__decide(const struct acl_snapshot *s, bool allow_if_none,
                                  const char *principal, const char *host, int op, int type,
                                  const char *name, size_t name_len, enum sec_authz_rule *rule);

#endif
