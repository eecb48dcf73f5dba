/*
 * knet.h - the cluster tests' network partitions: common/testlib's kc_netns (a network
 * namespace of the test's own, brokers on 127.0.0.2, .3, .4, nftables dropping what the
 * cut brokers send each other; its header has the picture) with the tests' manners: a
 * machine that cannot do it SKIPS, saying why; an nft that fails once it worked fails the
 * test.
 */
#ifndef KNET_H
#define KNET_H

#include "kc_netns.h"
#include "kt.h"

#define KNET_REQUIRE(n)                                                                    \
    do {                                                                                   \
        if (!(n)->up) {                                                                    \
            printf("# skipped: %s\n", (n)->why);                                           \
            skip();                                                                        \
        }                                                                                  \
    } while (0)

/* "127.0.0.<id + 1>": where broker id listens (static buffer, four in rotation). */
KT_FN const char *knet_host(int id)
{
    static char bufs[4][20];
    static int next;
    return kc_netns_host(id, bufs[next++ % 4], sizeof(bufs[0]));
}

/* Brokers a[0..na) and b[0..nb) cut apart, both ways (an earlier cut healed first). */
KT_FN void knet_cut(const int *a, int na, const int *b, int nb)
{
    assert_int_equal(kc_netns_cut(a, na, b, nb), 0);
}

KT_FN void knet_heal(void)
{
    assert_int_equal(kc_netns_heal(), 0);
}

#endif
