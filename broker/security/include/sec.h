/*
 * sec.h - broker/security, everything the broker needs to authenticate and authorize.
 *
 *   sec_sasl.h       what the SASL mechanisms share: names, results, failure texts
 *   sec_scram.h      SCRAM-SHA-256/512: credentials, the server (and a client), parsers
 *   sec_plain.h      PLAIN, verified against the SCRAM credentials
 *   sec_cred.h       the credential store (file, online changes) and --add-scram
 *   sec_acl.h        Kafka's authorizer: bindings, filters, super users, the decision
 *   sec_principal.h  the principal of a connection, from SASL or a client certificate
 *
 * Read sec_scram.h first, then sec_cred.h; the README is the lesson.
 */
#ifndef SEC_H
#define SEC_H

#include "sec_acl.h"
#include "sec_cred.h"
#include "sec_plain.h"
#include "sec_principal.h"
#include "sec_sasl.h"
#include "sec_scram.h"

#endif
