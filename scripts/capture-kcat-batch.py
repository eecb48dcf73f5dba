#!/usr/bin/env python3
"""Capture the RecordBatch that a real kcat/librdkafka puts in a Produce request.

Runs kcat against librdkafka's in-process mock cluster (test.mock.num.brokers=1)
under strace, reassembles what the client sent on each socket, finds the first
Produce request (api key 0) and writes the `records` field (one RecordBatch v2,
exactly the bytes that crossed loopback) to the output file.

These files are test fixtures for common/: the decoder must read them and the
encoder must rebuild them byte for byte. Regenerate with:

    scripts/capture-kcat-batch.py OUT.bin [kcat producer args...]
    e.g. scripts/capture-kcat-batch.py keyed.bin -K: -H hk=hv < input
"""
import os, re, struct, subprocess, sys, tempfile

def parse_strace(path):
    """Yield (fd, bytes) for every sendmsg/sendto/write the client made."""
    streams = {}
    pat = re.compile(r'^(\d+)\s+(sendmsg|sendto|write)\((\d+),')
    for line in open(path, encoding='latin-1'):
        m = pat.match(line)
        if not m:
            continue
        key = (m.group(1), m.group(3))
        data = b''.join(bytes.fromhex(h.replace('\\x', ''))
                        for h in re.findall(r'"((?:\\x[0-9a-f]{2})+)"', line))
        streams.setdefault(key, bytearray()).extend(data)
    return streams

def produce_records(stream):
    """Walk Kafka request frames; return the records of the first Produce v3+."""
    off = 0
    while off + 4 <= len(stream):
        size = struct.unpack_from('>i', stream, off)[0]
        frame = stream[off + 4: off + 4 + size]
        off += 4 + size
        if len(frame) < 8:
            break
        key, ver = struct.unpack_from('>hh', frame, 0)
        if key != 0 or ver < 3:
            continue
        p = 8
        cid_len = struct.unpack_from('>h', frame, p)[0]; p += 2 + max(cid_len, 0)
        tid_len = struct.unpack_from('>h', frame, p)[0]; p += 2 + max(tid_len, 0)
        p += 2 + 4                      # acks, timeout
        p += 4                          # topic count (we send one topic)
        tlen = struct.unpack_from('>h', frame, p)[0]; p += 2 + tlen
        p += 4 + 4                      # partition count, partition index
        rlen = struct.unpack_from('>i', frame, p)[0]; p += 4
        return bytes(frame[p:p + rlen])
    return None

def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out, args = sys.argv[1], sys.argv[2:]
    with tempfile.TemporaryDirectory() as tmp:
        trace = os.path.join(tmp, 'trace')
        cmd = ['strace', '-f', '-xx', '-s', '1000000', '-o', trace,
               '-e', 'trace=sendmsg,sendto,write',
               'kcat', '-X', 'test.mock.num.brokers=1', '-b', '127.0.0.1:1',
               '-P', '-t', 'fixture', '-p', '0'] + args
        subprocess.run(cmd, stdin=sys.stdin, stderr=subprocess.DEVNULL, check=True, timeout=60)
        for data in parse_strace(trace).values():
            rec = produce_records(data)
            if rec:
                open(out, 'wb').write(rec)
                print(f'{out}: {len(rec)} bytes')
                return
    sys.exit('no Produce request found in the trace')

if __name__ == '__main__':
    main()
