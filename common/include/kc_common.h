/*
 * kc_common.h - libcommon, everything every module shares.
 *
 *   kc_err.h     -errno plus project error codes, one kc_strerror()
 *   kc_buf.h     bounds-checked big-endian reader/writer, Kafka strings and bytes
 *   kc_varint.h  zigzag and unsigned varints
 *   kc_crc32c.h  CRC-32C, SSE4.2 and portable
 *   kc_batch.h   RecordBatch v2: validate, iterate, build
 *   kc_codec.h   gzip, snappy, lz4, zstd; reading and rebuilding compressed batches
 *   kc_fs.h      write-all/read-all, fsync of files and directories, atomic replace
 *   kc_log.h     leveled logging
 *   kc_time.h    monotonic and wall clocks
 *   kc_stats.h   medians, percentiles, human-readable figures
 *   kc_parse.h   strict number/size parsing
 *
 * Read kc_buf.h and kc_batch.h first: they are the formats everything else moves around.
 */
#ifndef KC_COMMON_H
#define KC_COMMON_H

#include "kc_batch.h"
#include "kc_buf.h"
#include "kc_codec.h"
#include "kc_crc32c.h"
#include "kc_err.h"
#include "kc_fs.h"
#include "kc_log.h"
#include "kc_parse.h"
#include "kc_stats.h"
#include "kc_time.h"
#include "kc_varint.h"

#define KC_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define KC_MIN(a, b)     ((a) < (b) ? (a) : (b))
#define KC_MAX(a, b)     ((a) > (b) ? (a) : (b))

#endif
