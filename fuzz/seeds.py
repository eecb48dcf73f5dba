#!/usr/bin/env python3
"""fuzz/seeds.py - (re)make the seed corpora of the fuzz targets from real bytes.

    python3 fuzz/seeds.py        # from the repository root; rewrites fuzz/corpus/fuzz_*/seed_*

Sources: the RecordBatches kcat produced (fuzz/corpus/fuzz_batch/kcat_*.bin, captured by
scripts/capture-kcat-batch.py) and the Kafka requests real clients sent, with the answers
they accepted (broker/kafka/tests/fixtures/*/*.req, .resp). The native protocol's seeds are frames built here
byte by byte from broker/PROTOCOL.md, one per command and answer, so that the fuzzer starts
from every decoder's happy path. Nothing here is random: the output is the same every run.
"""
import glob
import os
import re
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")
MAGIC = 0xCAFE


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed_" + name), "wb") as f:
        f.write(data)


def s16(s):  # Kafka string
    if s is None:
        return struct.pack(">h", -1)
    b = s.encode() if isinstance(s, str) else s
    return struct.pack(">h", len(b)) + b


def b32(b):  # Kafka bytes
    if b is None:
        return struct.pack(">i", -1)
    b = b.encode() if isinstance(b, str) else b
    return struct.pack(">i", len(b)) + b


def kcat_batches():
    out = []
    for name in ("plain", "keyed_headers", "gzip", "snappy", "lz4", "zstd"):
        with open(os.path.join(CORPUS, "fuzz_batch", "kcat_%s.bin" % name), "rb") as f:
            out.append(f.read())
    return out


# ---- the native protocol ----------------------------------------------------------------

def req(cmd, corr, body):
    return struct.pack(">IHBBI", 8 + len(body), MAGIC, 1, cmd, corr) + body


def resp(cmd, corr, error, body):
    return struct.pack(">IHBBIh", 10 + len(body), MAGIC, 1, cmd, corr, error) + body


def native_requests(batch):
    return {
        "create_topic": req(0, 1, s16("payments") + struct.pack(">i", 3)),
        "produce": req(1, 2, s16("payments") + struct.pack(">ihq", -1, -1, -1) + b32("user-42")
                       + b32("Hello World")),
        "produce_null_key": req(1, 3, s16("t") + struct.pack(">ihq", 0, 1, 1700000000000)
                                + b32(None) + b32("v")),
        "consume": req(2, 4, s16("payments") + struct.pack(">iq", 0, 0)),
        "commit": req(3, 5, s16("groupA") + s16("payments") + struct.pack(">iq", 0, 15)
                      + s16("meta")),
        "fetch_offset": req(4, 6, s16("groupA") + s16("payments") + struct.pack(">i", 0)),
        "produce_batch": req(5, 7, s16("logs") + struct.pack(">ih", 0, -1) + b32(batch)),
        "consume_batch": req(6, 8, s16("logs") + struct.pack(">iqiii", 0, 0, 100, 1 << 20, 500)),
        "metadata_all": req(7, 9, s16(None)),
        "metadata_one": req(7, 10, s16("logs")),
        "ping": req(8, 11, b32("hi")),
        "info": req(9, 12, b""),
        "sasl_handshake": req(10, 13, s16("SCRAM-SHA-256")),
        "sasl_authenticate": req(11, 14, b32("n,,n=alice,r=fyko+d2lbbFgONRv9qkxdawL")),
        "sasl_plain": req(11, 15, b32(b"\0alice\0alice-secret")),
    }


def native_responses(batch):
    meta = struct.pack(">i", 2) + s16("logs") + struct.pack(">i", 1) + struct.pack(">iqq", 0, 0, 3) \
        + s16("payments") + struct.pack(">i", 2) + struct.pack(">iqq", 0, 0, 1) \
        + struct.pack(">iqq", 1, 0, 0)
    return {
        "create_topic": resp(0, 1, 0, struct.pack(">i", 3)),
        "produce": resp(1, 2, 0, struct.pack(">iq", 1, 42)),
        "consume": resp(2, 3, 0, struct.pack(">qqqq", 0, 3, 0, 1700000000000) + b32(None)
                        + b32("Hello World")),
        "commit": resp(3, 4, 0, b""),
        "fetch_offset": resp(4, 5, 0, struct.pack(">q", 15) + s16("meta")),
        "produce_batch": resp(5, 6, 0, struct.pack(">iqi", 0, 0, 3)),
        "consume_batch": resp(6, 7, 0, struct.pack(">qq", 0, 3) + b32(batch)),
        "metadata": resp(7, 8, 0, meta),
        "ping": resp(8, 9, 0, b32("hi")),
        "info": resp(9, 10, 0, s16("0.1.0") + struct.pack(">iiii", 104857600, 1048588, 1, 2)),
        "error_consume": resp(2, 11, 2, s16("offset 3 is the end of logs-0") + struct.pack(">qq", 0, 3)),
        "error_produce": resp(1, 12, 3, s16("topic 'nope' does not exist")),
        "sasl_handshake": resp(10, 13, 0, struct.pack(">i", 3) + s16("PLAIN")
                               + s16("SCRAM-SHA-256") + s16("SCRAM-SHA-512")),
        "sasl_unsupported": resp(10, 14, 33, s16("SASL mechanism 'GSSAPI' is not enabled")
                                 + struct.pack(">i", 1) + s16("PLAIN")),
        "sasl_authenticate": resp(11, 15, 0, b32("r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,"
                                                 "s=QSXCR+Q6sek8bf92,i=4096")),
        "sasl_failed": resp(11, 16, 58, s16("Authentication failed: Invalid username or password")),
    }


# ---- segments ---------------------------------------------------------------------------

def rebase(batch, base):
    """A batch with another base offset (outside the CRC: still valid)."""
    return struct.pack(">q", base) + batch[8:]


def log_of(batches):
    out, off = b"", 0
    for b in batches:
        out += rebase(b, off)
        last_delta = struct.unpack(">i", b[23:27])[0]
        off += last_delta + 1
    return out, off


def segment_input(flags, log1, index=b"", timeindex=b"", ckpt=b"", base2=0, log2=b""):
    head = struct.pack(">BHHBII", flags, len(index), len(timeindex), len(ckpt), base2, len(log1))
    return head + index + timeindex + ckpt + log1 + log2


def segment_seeds(batches):
    plain, keyed, gz = batches[0], batches[1], batches[2]
    log, end = log_of([plain, keyed, gz, plain])
    first, mid = log_of([plain, keyed])
    log2 = rebase(gz, mid) + rebase(plain, mid + struct.unpack(">i", gz[23:27])[0] + 1)
    index = struct.pack(">II", 1, len(plain)) + b"\0" * 56
    timeindex = struct.pack(">qI", 1700000000000, 1) + b"\xff" * 20
    return {
        "clean_log": segment_input(0, log),
        "torn_tail": segment_input(0, log[:-7]),
        "zero_tail": segment_input(0, log + b"\0" * 300),
        "garbage_indexes": segment_input(6, log, index, timeindex),
        "clean_shutdown": segment_input(7, log, index, timeindex),
        "recovery_point": segment_input(8, log, ckpt=b"0\n1\nfz 0 %d\n" % end),
        "two_segments": segment_input(16, first, base2=mid, log2=log2),
        "log_start": segment_input(32, log, ckpt=b"0\n1\nfz 0 1\n"),
    }


# ---- Kafka ------------------------------------------------------------------------------

FIXTURES = "broker/kafka/tests/fixtures/*/*.req"


def kafka_seeds():
    out = {}
    for path in sorted(glob.glob(os.path.join(ROOT, FIXTURES))):
        with open(path, "rb") as f:
            data = f.read()
        name = os.path.basename(os.path.dirname(path)) + "_" + os.path.basename(path)[:-4]
        out[name] = b"\x00" + data
    # key and value of equal length: the target splits the input in half
    key = struct.pack(">h", 1) + s16("crash-group") + s16("grp") + struct.pack(">i", 1)
    value = struct.pack(">hqi", 3, 42, -1) + s16("") + struct.pack(">q", 1700000000000)
    assert len(key) == len(value)
    out["offsets_record"] = b"\xc0" + key + value
    gkey = struct.pack(">h", 2) + s16("crash-group")  # a group's key: the group alone
    out["group_record_key"] = b"\xc0" + gkey + gkey
    # group-metadata values (broker/kafka/group/include/kg_record.h): Stable with a static
    # and a dynamic member (v3), the same group as Kafka 2.1 wrote it (v2), an Empty group
    def member(mid, instance, v):
        out = s16(mid)
        if v >= 3:
            out += s16(instance)
        out += s16("client") + s16("/127.0.0.1")
        if v >= 1:
            out += struct.pack(">i", 300000)
        return out + struct.pack(">i", 10000) + b32(b"\x00\x01sub") + b32(b"\x00\x01asg")
    for v in (3, 2):
        value = struct.pack(">h", v) + s16("consumer") + struct.pack(">i", 7) + s16("range") + \
            s16("app-1-x")
        if v >= 2:
            value += struct.pack(">q", 1700000000000)
        value += struct.pack(">i", 2) + member("app-1-x", "app-1", v) + member("c-2", None, v)
        out["group_record_v%d" % v] = b"\xe0" + value
    out["group_record_empty"] = b"\xe0" + struct.pack(">h", 3) + s16("consumer") + \
        struct.pack(">ihhqi", 8, -1, -1, -1, 0)
    return out


def scram_exchange(gs2, user, cnonce, extensions=""):
    """client-first and client-final of an RFC 7677 exchange (password "pencil", the RFC's
    salt and server nonce: what fuzz_sasl_scram's server holds), computed with hashlib so
    that a seed can reach the proof check and succeed."""
    import base64
    import hashlib
    import hmac
    snonce, salt_b64 = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0", "W22ZaJ0SNY7soEsUEjb6gQ=="
    mac = lambda k, m: hmac.new(k, m, hashlib.sha256).digest()
    salted = hashlib.pbkdf2_hmac("sha256", b"pencil", base64.b64decode(salt_b64), 4096)
    client_key = mac(salted, b"Client Key")
    stored_key = hashlib.sha256(client_key).digest()
    bare = "n=%s,r=%s%s" % (user, cnonce, extensions)
    server_first = "r=%s%s,s=%s,i=4096" % (cnonce, snonce, salt_b64)
    without_proof = "c=%s,r=%s%s" % (base64.b64encode(gs2.encode()).decode(), cnonce, snonce)
    auth = ("%s,%s,%s" % (bare, server_first, without_proof)).encode()
    proof = bytes(a ^ b for a, b in zip(client_key, mac(stored_key, auth)))
    return (gs2 + bare).encode(), ("%s,p=%s" % (without_proof, base64.b64encode(proof).decode())).encode()


def sasl_seeds():
    """SCRAM: RFC 7677's own messages, and the shapes real clients send (Kafka's Java client
    and kafka-python: "n,,n=<user>,r=<nonce>", c=biws; a delegation-token login with the
    tokenauth extension; an authzid; escaped names). PLAIN: what Kafka's PlainSaslClient and
    librdkafka send ("\\0user\\0password"), with and without an authzid."""
    scram = {}
    first, final = scram_exchange("n,,", "user", "rOprNGfwEbeRWgbNEkqO")
    scram["rfc7677"] = first + b"\n" + final
    scram["rfc7677_wrong_proof"] = first + b"\n" + final[:-10] + b"AAAAAAAAA="
    first, final = scram_exchange("n,a=user,", "user", "fyko+d2lbbFgONRv9qkxdawL")
    scram["authzid"] = first + b"\n" + final
    first, final = scram_exchange("n,,", "user", "3rfcNHYJY1ZVvWVs7j", ",ext=value")
    scram["extension"] = first + b"\n" + final
    scram["tokenauth"] = b"n,,n=7LdKf3GNRxuDpmR1QyxFlw,r=1jpq0mddzlxyhnxuzgfzojcf6,tokenauth=true"
    scram["escaped_names"] = b"n,a=a=2Cb=3Dc,n=a=2Cb=3Dc,r=abc\nc=bixhPWE9MkNiPTNEYyw=,r=abc%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=AAAA"
    plain = {
        "java_client": b"\0alice\0alice-secret",
        "authzid": b"alice\0alice\0alice-secret",
        "vector_user": b"\0user\0pencil",
        "utf8": "\0j\u00f3zef\0p\u00e4ss".encode(),
    }
    return scram, plain
def codec_api_keys():
    """The codec's API table order (kp_api_table: ascending keys, kp_versions.h's X lines)."""
    path = os.path.join(ROOT, "broker/kafka/codec/include/kp_versions.h")
    with open(path) as f:
        keys = [int(m) for m in re.findall(r"^\s*X\((\d+),", f.read(), re.M)]
    assert keys == sorted(keys)
    return keys


def codec_seeds():
    """fuzz_kp_codec: byte 0 < 128 and a request body; or 0x80, the API's index in the
    codec's table, its version (every API's versions start at 0) and a response body."""
    keys = codec_api_keys()
    out = {}
    for path in sorted(glob.glob(os.path.join(ROOT, FIXTURES))):
        with open(path, "rb") as f:
            req = f.read()
        name = os.path.basename(os.path.dirname(path)) + "_" + os.path.basename(path)[:-4]
        out["req_" + name] = b"\x00" + req[4:]
        key, version = struct.unpack(">hh", req[4:8])
        resp_path = path[:-4] + ".resp"
        if os.path.exists(resp_path) and key in keys:
            with open(resp_path, "rb") as f:
                resp = f.read()
            out["resp_" + name] = bytes([0x80, keys.index(key), version]) + resp[4:]
    return out


def znode_seeds():
    """broker/cluster's znode bodies, in the formats Kafka's ZkData.scala writes. Byte 0 is
    the decoder fuzz_zk_znode runs (0 JSON, 1 broker, 2 assignment, 3 state, 4 config,
    5 request, 6 controller/epoch/cluster id/paths, 7 producer id block; 255 all of them)."""
    bodies = {
        "broker_v1": (1, '{"version":1,"host":"localhost","port":9092,"jmx_port":9999,'
                         '"timestamp":"2233345666"}'),
        "broker_v4": (1, '{"version":4,"host":"localhost","port":9092,"jmx_port":9999,'
                         '"timestamp":"2233345666","endpoints":["CLIENT://host1:9092",'
                         '"REPLICATION://host1:9093"],"rack":"dc1","listener_security_protocol_map":'
                         '{"CLIENT":"SSL","REPLICATION":"PLAINTEXT"}}'),
        "broker_v5": (1, '{"listener_security_protocol_map":{"PLAINTEXT":"PLAINTEXT"},"endpoints":'
                         '["PLAINTEXT://127.0.0.1:9092"],"jmx_port":-1,"features":{},"host":'
                         '"127.0.0.1","timestamp":"1700000000000","port":9092,"version":5}'),
        "assignment_v3": (2, '{"version":3,"topic_id":"K7ZcM-bRSsOxBmyo8n1Gfg","partitions":'
                             '{"0":[3,1,2],"1":[1,2,3]},"adding_replicas":{},"removing_replicas":{}}'),
        "assignment_v1": (2, '{"version":1,"partitions":{"1":[2,1],"0":[1,2]}}'),
        "state": (3, '{"controller_epoch":3,"leader":2,"version":1,"leader_epoch":7,"isr":[2,1]}'),
        "state_recovery": (3, '{"controller_epoch":3,"leader":-1,"version":1,"leader_epoch":7,'
                              '"isr":[2],"leader_recovery_state":0}'),
        "config": (4, '{"version":1,"config":{"min.insync.replicas":"2","x":"\\u00e9"}}'),
        "alter_partition": (5, '{"version":1,"type":"alter_partition","broker":2,"broker_epoch":'
                               '4294967301,"topic":"payments","partition":0,"leader_epoch":7,'
                               '"partition_epoch":12,"isr":[2,1,3],"answer":{"error":0,'
                               '"remaining":0,"state":{"controller_epoch":3,"leader":2,'
                               '"leader_epoch":7,"partition_epoch":13,"replicas":[2,1,3],'
                               '"isr":[2,1,3]}}}'),
        "create_topic": (5, '{"version":1,"type":"create_topic","broker":1,"broker_epoch":5,'
                            '"topic":"t","partitions":6,"replication_factor":3,"config":'
                            '{"min.insync.replicas":"2"}}'),
        "controlled_shutdown": (5, '{"version":1,"type":"controlled_shutdown","broker":3,'
                                   '"broker_epoch":99,"answer":{"error":0,"remaining":1}}'),
        "controller": (6, '{"version":1,"brokerid":2,"timestamp":"1597426560436"}'),
        "cluster_id": (6, '{"version":"1","id":"mHeM3lyfSI6rMIDmNsdqfQ"}'),
        "path": (6, "/brokers/topics/payments/partitions/12/state"),
        "pids_block": (7, '{"version":1,"broker":2,"block_start":"3000","block_end":"3999"}'),
        "all": (255, '{"a":[1,-2.5e3,true,false,null,"\\ud83d\\ude00"],"b":{}}'),
    }
    return {name: bytes([mode]) + body.encode() for name, (mode, body) in bodies.items()}


def main():
    for name, data in znode_seeds().items():
        write("fuzz_zk_znode", name, data)
    batches = kcat_batches()
    for name, data in native_requests(batches[0]).items():
        write("fuzz_np_request", name, data)
    write("fuzz_np_request", "pipeline", b"".join(native_requests(batches[1]).values()))
    for name, data in native_responses(batches[0]).items():
        write("fuzz_np_response", name, data)
    for name, data in segment_seeds(batches).items():
        write("fuzz_segment_recovery", name, data)
    for name, data in kafka_seeds().items():
        write("fuzz_kafka_request", name, data)
    scram, plain = sasl_seeds()
    for name, data in scram.items():
        write("fuzz_sasl_scram", name, data)
    for name, data in plain.items():
        write("fuzz_sasl_plain", name, data)
    for name, data in codec_seeds().items():
        write("fuzz_kp_codec", name, data)


if __name__ == "__main__":
    main()
