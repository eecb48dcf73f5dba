#!/usr/bin/env python3
"""Capture the Kafka requests real clients send, and the answers they get, as fixtures.

    broker/kafka/tools/kp-capture.py [--out DIR] [--kafkajs NODE_MODULES_DIR] [--keep]

What it does
  1. Builds tools/kp_mock.c (librdkafka's mock cluster as a stand-alone broker that
     advertises the API/version table the broker had when these fixtures were captured:
     see kp_mock.c) and starts it with topics
     fx (1 partition), grp (2) and js (2).
  2. Runs each scenario below under
         strace -f -xx -s 1000000 -e trace=connect,close,sendmsg,recvmsg,sendto,recvfrom,
                                          read,write,readv,writev
     so every byte the client wrote to, and read from, a socket connected to the mock's
     port is in the trace, in hex.
  3. Reassembles each TCP connection's two byte streams (a connect() starts one, close()
     ends it; strace's "<unfinished ...>"/"resumed" halves are joined first), cuts them into
     size-prefixed frames and pairs each request with its response by correlation id.
  4. Writes, per scenario directory, <Api>_v<version>_<k>.req (the whole request frame,
     size prefix included) and .resp (the whole response frame), k = 1, 2, ... in the order
     the client sent them. Requests identical to one already kept (apart from the
     correlation id, and with the same answer) are skipped and at most MAX_PER_API are kept per API, so the fixtures
     stay small. INDEX lists what was kept, with the connection each frame travelled on.

Scenarios (kcat is Debian 12's kcat 1.7.1 on librdkafka 2.0.2; kafkajs is 2.2.4)
  kcat_meta      kcat -L
  kcat_produce   kcat -P -t fx -K: -H hk=hv       (three lines: keyed, keyed, no key)
  kcat_consume   kcat -C -t fx -o beginning -e
  kcat_group_a   kcat -G cg grp, started first, interrupted (SIGINT) at ~31 s
  kcat_group_b   kcat -G cg grp, started at ~5 s, interrupted at ~19 s: member a sees the
                 rebalance twice (b joining, b leaving)
  kafkajs        tools/kp-kafkajs.js: producer + consumer group "jsg" on topic js

kafkajs must be installed outside the repository, e.g.
    mkdir -p /tmp/kp-kafkajs && (cd /tmp/kp-kafkajs && npm install kafkajs@2.2.4)
    broker/kafka/tools/kp-capture.py --kafkajs /tmp/kp-kafkajs/node_modules
Without --kafkajs the kafkajs scenario is skipped.
"""
import argparse, os, re, shutil, signal, struct, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
MAX_PER_API = 4
API_NAMES = {0: 'Produce', 1: 'Fetch', 2: 'ListOffsets', 3: 'Metadata', 8: 'OffsetCommit',
             9: 'OffsetFetch', 10: 'FindCoordinator', 11: 'JoinGroup', 12: 'Heartbeat',
             13: 'LeaveGroup', 14: 'SyncGroup', 18: 'ApiVersions'}
OUT_CALLS = {'sendmsg', 'sendto', 'write', 'writev'}
IN_CALLS = {'recvmsg', 'recvfrom', 'read', 'readv'}
STRACE = ['strace', '-f', '-xx', '-s', '1000000', '-e',
          'trace=connect,close,sendmsg,recvmsg,sendto,recvfrom,read,write,readv,writev']


def joined_lines(path):
    """Yield strace lines with -f's "<unfinished ...>" and "<... resumed>" halves joined."""
    pending = {}
    resumed = re.compile(r'^(\d+)\s+<\.\.\. \w+ resumed>(.*)$')
    for line in open(path, encoding='latin-1'):
        line = line.rstrip('\n')
        m = resumed.match(line)
        if m:
            head = pending.pop(m.group(1), None)
            if head is not None:
                yield head + m.group(2)
            continue
        if line.endswith('<unfinished ...>'):
            pid = line.split(None, 1)[0]
            pending[pid] = line[:-len('<unfinished ...>')]
            continue
        yield line


def streams(path, port):
    """Return the connections to port, in order: dicts with out/in byte arrays."""
    call = re.compile(r'^(\d+)\s+(\w+)\((\d+),(.*)\)\s+=\s+(-?\d+)')
    hexstr = re.compile(r'"((?:\\x[0-9a-f]{2})*)"')
    conns, live = [], {}
    for line in joined_lines(path):
        m = call.match(line)
        if not m:
            continue
        name, fd, rest, ret = m.group(2), int(m.group(3)), m.group(4), int(m.group(5))
        if name == 'connect':
            if 'htons(%d)' % port in rest:
                live[fd] = {'id': len(conns), 'out': bytearray(), 'in': bytearray(), 'seq': []}
                conns.append(live[fd])
            else:
                live.pop(fd, None)
            continue
        if name == 'close':
            live.pop(fd, None)
            continue
        conn = live.get(fd)
        if conn is None or ret <= 0:
            continue
        data = b''.join(bytes.fromhex(s.replace('\\x', '')) for s in hexstr.findall(rest))
        data = data[:ret]
        if name in OUT_CALLS:
            conn['out'].extend(data)
        elif name in IN_CALLS:
            conn['in'].extend(data)
    return conns


def frames(buf):
    """Cut a byte stream into whole size-prefixed frames (a torn tail is dropped)."""
    off, out = 0, []
    while off + 4 <= len(buf):
        size = struct.unpack_from('>i', buf, off)[0]
        if size < 0 or off + 4 + size > len(buf):
            break
        out.append(bytes(buf[off:off + 4 + size]))
        off += 4 + size
    return out


def keep_frames(conns, outdir, scenario):
    """Write the distinct requests (and their responses) of one scenario's connections."""
    d = os.path.join(outdir, scenario)
    os.makedirs(d, exist_ok=True)
    seen, count, index = set(), {}, []
    for conn in conns:
        responses = {struct.unpack_from('>i', f, 4)[0]: f for f in frames(conn['in'])}
        for req in frames(conn['out']):
            key, ver, corr = struct.unpack_from('>hhi', req, 4)
            resp = responses.get(corr)
            sig = (key, ver, req[:8] + req[12:], resp[8:] if resp else None)
            name = '%s_v%d' % (API_NAMES.get(key, 'Api%d' % key), ver)
            if sig in seen or count.get(name, 0) >= MAX_PER_API:
                continue
            seen.add(sig)
            count[name] = count.get(name, 0) + 1
            base = '%s_%d' % (name, count[name])
            open(os.path.join(d, base + '.req'), 'wb').write(req)
            if resp is not None:
                open(os.path.join(d, base + '.resp'), 'wb').write(resp)
            index.append('%-24s conn %d corr %-4d req %5d B  resp %s' % (
                base, conn['id'], corr, len(req),
                '%d B' % len(resp) if resp is not None else 'none (acks=0 or cut off)'))
    open(os.path.join(d, 'INDEX'), 'w').write(
        '# %s: kept requests in send order (tools/kp-capture.py)\n' % scenario +
        '\n'.join(index) + '\n')
    print('%-14s %2d connections, %2d requests kept' % (scenario, len(conns), len(index)))


def traced(tmp, name, argv, stdin=None, env=None):
    """Start argv under strace; return (Popen, trace path)."""
    trace = os.path.join(tmp, name + '.trace')
    p = subprocess.Popen(STRACE + ['-o', trace] + argv, stdin=subprocess.PIPE if stdin else
                         subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, env=env)
    if stdin:
        p.stdin.write(stdin)
        p.stdin.close()
    return p, trace


def interrupt(p, after):
    """SIGINT the traced client (strace forwards it) after `after` seconds; wait for it."""
    time.sleep(after)
    # strace -o FILE blocks fatal signals (-I3), so signal its child, the client itself.
    with open('/proc/%d/task/%d/children' % (p.pid, p.pid)) as f:
        for pid in f.read().split():
            os.kill(int(pid), signal.SIGINT)
    p.wait(timeout=30)


def run_scenarios(tmp, addr, port, outdir, kafkajs):
    kcat = ['kcat', '-b', addr, '-q']
    jobs = []
    p, t = traced(tmp, 'meta', kcat + ['-L'])
    p.wait(timeout=60)
    jobs.append(('kcat_meta', t))
    p, t = traced(tmp, 'produce', kcat + ['-P', '-t', 'fx', '-K:', '-H', 'hk=hv'],
                  stdin=b'key1:value1\nkey2:value2\nnokey\n')
    p.wait(timeout=60)
    jobs.append(('kcat_produce', t))
    # Data for the group scenario, not kept as fixtures.
    subprocess.run(kcat + ['-P', '-t', 'grp', '-K:'], input=b'a:1\nb:2\nc:3\nd:4\n',
                   check=True, timeout=60)
    p, t = traced(tmp, 'consume', kcat + ['-C', '-t', 'fx', '-o', 'beginning', '-e'])
    p.wait(timeout=60)
    jobs.append(('kcat_consume', t))

    # librdkafka's mock completes a rebalance only when the session timeout runs out, so a
    # short session timeout keeps the scenario under a minute.
    group = kcat + ['-G', 'cg', '-X', 'auto.offset.reset=earliest', '-X',
                    'session.timeout.ms=6000', '-X', 'heartbeat.interval.ms=1000', 'grp']
    pa, ta = traced(tmp, 'group_a', group)
    time.sleep(5)
    pb, tb = traced(tmp, 'group_b', group)
    interrupt(pb, 14)
    interrupt(pa, 12)
    jobs += [('kcat_group_a', ta), ('kcat_group_b', tb)]

    if kafkajs:
        env = dict(os.environ, NODE_PATH=kafkajs)
        p, t = traced(tmp, 'kafkajs', ['node', os.path.join(HERE, 'kp-kafkajs.js'), addr],
                      env=env)
        if p.wait(timeout=120) != 0:
            sys.exit('kafkajs scenario failed (run tools/kp-kafkajs.js by hand to see why)')
        jobs.append(('kafkajs', t))
    for scenario, trace in jobs:
        keep_frames(streams(trace, port), outdir, scenario)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', default=os.path.join(HERE, '..', 'tests', 'fixtures'))
    ap.add_argument('--kafkajs', help='node_modules directory holding kafkajs 2.2.4')
    ap.add_argument('--keep', action='store_true', help='keep the temp dir (traces)')
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix='kp-capture-')
    mock = None
    try:
        exe = os.path.join(tmp, 'kp_mock')
        subprocess.run(['cc', '-O1', '-o', exe, os.path.join(HERE, 'kp_mock.c'), '-lrdkafka'],
                       check=True)
        mock = subprocess.Popen([exe, 'fx:1', 'grp:2', 'js:2'], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True)
        addr = mock.stdout.readline().strip()
        port = int(addr.rsplit(':', 1)[1])
        print('mock cluster at', addr)
        run_scenarios(tmp, addr, port, os.path.abspath(args.out), args.kafkajs)
    finally:
        if mock:
            mock.stdin.close()          # kp_mock exits when its stdin closes
            mock.wait(timeout=30)
        if args.keep:
            print('traces kept in', tmp)
        else:
            shutil.rmtree(tmp)


if __name__ == '__main__':
    main()
