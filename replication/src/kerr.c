/* kerr.c - names for Kafka's error codes and for roles. */
#include "repl.h"

const char *repl_kerr_name(int kerr)
{
    switch (kerr) {
#define REPL_KERR_CASE(name, code)                                                                 \
    case code:                                                                                     \
        return &(#name)[5]; /* without "REPL_" */
        REPL_KERRORS(REPL_KERR_CASE)
#undef REPL_KERR_CASE
    }
    return "UNKNOWN";
}

const char *repl_role_name(enum repl_role role)
{
    switch (role) {
    case REPL_ROLE_LEADER:
        return "leader";
    case REPL_ROLE_FOLLOWER:
        return "follower";
    case REPL_ROLE_NONE:
        break;
    }
    return "none";
}
