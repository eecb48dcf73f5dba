/*
 * kc_netns.h - a network partition between processes that share one machine, for the
 * end-to-end tests: a private network namespace, each broker on a loopback address of its
 * own, and nftables rules that drop what one address sends another.
 *
 *   the test process: unshare(CLONE_NEWNET) before anything starts (inside a new user
 *   namespace when plain root may not), `lo` brought up; all it starts lives in there
 *
 *            ZooKeeper, the test's clients           127.0.0.1  (never cut)
 *            broker 1 ─ 127.0.0.2                     broker id N listens on 127.0.0.(N+1)
 *            broker 2 ─ 127.0.0.3                     and connects to its peers FROM that
 *            broker 3 ─ 127.0.0.4                     address (the replica fetcher's
 *                                                     source_host: its listener's)
 *
 *   kc_netns_cut({1}, {2, 3})         table inet kc_netpart, chain out (hook output):
 *   (broker 1 from 2 and 3)             ip saddr 127.0.0.2 ip daddr {127.0.0.3, 127.0.0.4} drop
 *                                       ip saddr {127.0.0.3, 127.0.0.4} ip daddr 127.0.0.2 drop
 *   kc_netns_heal()                   the chain flushed
 *
 * Why this split of addresses: on Linux every 127/8 address is the host's, and a socket
 * that does not bind takes 127.0.0.1 as its source for any of them. So ZooKeeper and the
 * test's own connections (librdkafka's, raw frames, /metrics) come from 127.0.0.1, which no
 * rule names: a cut broker keeps its ZooKeeper session and its clients, and loses only its
 * peers. The rules DROP (no RST, no ICMP): an established connection goes silent, as
 * behind a broken switch, and a new one times out.
 *
 * A machine whose kernel or container refuses a network namespace or nf_tables, or that
 * lacks the nft program (Debian's nftables, scripts/deps.sh test), cannot do this: `why`
 * says so, and the tests that need it skip. kc_netns_enter must run first in main(),
 * while the process has one thread: ZooKeeper and the brokers are started later, inside.
 */
#ifndef KC_NETNS_H
#define KC_NETNS_H

#include <stdbool.h>
#include <stddef.h>

struct kc_netns {
    bool up;       /* in a namespace of our own, lo up, nft works */
    char why[300]; /* if not: the reason */
};

/* Enter a namespace of our own with its loopback up and an empty kc_netpart table. */
void kc_netns_enter(struct kc_netns *n);
/* "127.0.0.<id + 1>", where broker id listens, into buf. Returns buf. */
const char *kc_netns_host(int id, char *buf, size_t cap);
/* Drop every packet between brokers a[0..na) and brokers b[0..nb), both ways (what was
 * cut before is healed first): 0, or nft's exit status (-1: it did not run or finish). */
int kc_netns_cut(const int *a, int na, const int *b, int nb);
/* Every cut healed: 0 or as above. */
int kc_netns_heal(void);

#endif
