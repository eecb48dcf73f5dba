/*
 * partitioner.c - where a record goes: round-robin without a key, murmur2 with one.
 *
 * Keyed records must land where every other Kafka client would put them, or a consumer
 * relying on "all events of user 42 are in one partition, in order" breaks as soon as two
 * producers in different languages write the same topic. Kafka's Java client decides with
 *
 *     partition = (murmur2(keyBytes) & 0x7fffffff) % numPartitions
 *
 * (BuiltInPartitioner.partitionForKey; Utils.toPositive is the & 0x7fffffff, which is not
 * Math.abs: abs(INT_MIN) stays negative). murmur2 is Austin Appleby's MurmurHash2 with the
 * seed 0x9747b28c, reading the key as little-endian 32-bit words:
 *
 *     h = seed ^ len
 *     for each 4-byte word k:  k *= m; k ^= k >>> 24; k *= m;  h *= m; h ^= k
 *     tail (1-3 bytes):        h ^= b2 << 16; h ^= b1 << 8; h ^= b0; h *= m
 *     finish:                  h ^= h >>> 13; h *= m; h ^= h >>> 15         m = 0x5bd1e995
 *
 * Java has no unsigned types: bytes are signed, so Kafka masks every one with & 0xff, and
 * uses >>> (unsigned shift) on ints. The C version gets the same bits by reading the key
 * as unsigned char and doing all arithmetic in uint32_t (wrapping multiplication, logical
 * shifts); a port that read `char` (signed on x86) would sign-extend bytes >= 0x80 in the
 * tail and disagree with Java for every non-ASCII key. The tests check bytes >= 0x80 in
 * the body and the tail against values computed by the JVM.
 *
 * Keyless records: Kafka's RoundRobinPartitioner keeps one counter per topic and takes
 * counter++ % partitions. Here the counter is one atomic per topic on its own cache line:
 * no lock, and the first record goes to partition 0. (Kafka's default for keyless
 * records is now the "sticky" partitioner, which fills one batch per partition before
 * moving on; a broker-side partitioner that sees whole batches gets the same effect by
 * giving each batch one partition, which is what part_next_round_robin is for.)
 */
#include <stdatomic.h>
#include <stdint.h>

#include "part_int.h"

#define MURMUR2_SEED 0x9747b28cu
#define MURMUR2_M    0x5bd1e995u
#define MURMUR2_R    24

int32_t part_murmur2(const void *key, size_t len)
{
    const unsigned char *p = key;
    uint32_t h = MURMUR2_SEED ^ (uint32_t)len;
    size_t words = len / 4;
    for (size_t i = 0; i < words; i++, p += 4) {
        uint32_t k = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                     (uint32_t)p[3] << 24;
        k *= MURMUR2_M;
        k ^= k >> MURMUR2_R;
        k *= MURMUR2_M;
        h *= MURMUR2_M;
        h ^= k;
    }
    switch (len % 4) {
    case 3:
        h ^= (uint32_t)p[2] << 16;
        /* fall through */
    case 2:
        h ^= (uint32_t)p[1] << 8;
        /* fall through */
    case 1:
        h ^= (uint32_t)p[0];
        h *= MURMUR2_M;
    }
    h ^= h >> 13;
    h *= MURMUR2_M;
    h ^= h >> 15;
    return (int32_t)h; /* the same bits as Java's int (two's complement) */
}

int32_t part_for_key(const void *key, size_t len, int32_t partitions)
{
    if (partitions < 1)
        return -1;
    uint32_t positive = (uint32_t)part_murmur2(key, len) & 0x7fffffffu;
    return (int32_t)(positive % (uint32_t)partitions);
}

int32_t part_next_round_robin(struct part_topic *t)
{
    /* Relaxed is enough: the counter orders nothing else, it only hands out numbers. A
     * 64-bit counter never wraps (2^64 records), so the cycle never skips a partition. */
    uint64_t n = atomic_fetch_add_explicit(&t->rr_next, 1, memory_order_relaxed);
    return (int32_t)(n % (uint64_t)t->partitions);
}
