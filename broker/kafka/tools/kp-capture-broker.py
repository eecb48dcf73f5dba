#!/usr/bin/env python3
"""Capture what real admin clients send to THIS broker, and what it answered them.

    broker/kafka/tools/kp-capture-broker.py [--out DIR] [--kafkajs NODE_MODULES_DIR]
                                            [--only SCENARIO]

kp-capture-admin.py's answers come from a capture server that encodes whatever the client
asks for; these come from build/bin/kafka_broker itself, serving the admin APIs. A small
recording proxy sits between the client and the broker (the broker advertises the proxy's
address, so every connection, bootstrap or not, goes through it) and keeps each request
frame with the response frame of the same correlation id.

Scenarios (each runs the end-to-end test's own client script, broker/tests/kafka/):
  broker_admin_confluent     admin_e2e.py confluent: confluent-kafka 1.7.0's AdminClient,
                             every call and its refusals
  broker_admin_kafka_python  admin_e2e.py kafkapython: kafka-python 2.0.2's KafkaAdminClient
  broker_admin_kafkajs       kafkajs_admin_e2e.js: kafkajs 2.2.4's admin client
                             (needs --kafkajs, as kp-capture-admin.py does)

The frames go to broker/kafka/tests/fixtures/<scenario>/ named and deduplicated as the other
capture tools name them, with an INDEX. The codec's tests then hold every frame to a byte
for byte round trip and refuse every truncation.
"""
import argparse, importlib.util, os, socket, struct, subprocess, sys, tempfile, threading

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, '..', '..', '..'))
spec = importlib.util.spec_from_file_location('kpca', os.path.join(HERE, 'kp-capture-admin.py'))
kpca = importlib.util.module_from_spec(spec)
spec.loader.exec_module(kpca)


def read_frame(sock):
    head = b''
    while len(head) < 4:
        chunk = sock.recv(4 - len(head))
        if not chunk:
            return None
        head += chunk
    (n,) = struct.unpack('>i', head)
    body = b''
    while len(body) < n:
        chunk = sock.recv(n - len(body))
        if not chunk:
            return None
        body += chunk
    return head + body


class Proxy:
    """Accepts clients, forwards frames both ways, records (conn, request, response)."""

    def __init__(self, upstream):
        self.upstream = upstream
        self.lsock = socket.socket()
        self.lsock.bind(('127.0.0.1', 0))
        self.lsock.listen(64)
        self.port = self.lsock.getsockname()[1]
        self.lock = threading.Lock()
        self.records = []  # [conn, req, resp or None], in send order
        self.nconn = 0
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            with self.lock:
                conn = self.nconn
                self.nconn += 1
            u = socket.create_connection(self.upstream)
            pending = {}
            threading.Thread(target=self.pump_requests, args=(conn, c, u, pending),
                             daemon=True).start()
            threading.Thread(target=self.pump_responses, args=(c, u, pending),
                             daemon=True).start()

    def pump_requests(self, conn, c, u, pending):
        while True:
            f = read_frame(c)
            if f is None:
                u.close()
                return
            rec = [conn, f, None]
            with self.lock:
                self.records.append(rec)
                pending[struct.unpack_from('>i', f, 8)[0]] = rec
            u.sendall(f)

    def pump_responses(self, c, u, pending):
        while True:
            f = read_frame(u)
            if f is None:
                c.close()
                return
            with self.lock:
                rec = pending.pop(struct.unpack_from('>i', f, 4)[0], None)
                if rec:
                    rec[2] = f
            c.sendall(f)


def start_broker(tmp, proxy_port):
    data = os.path.join(tmp, 'data')
    b = subprocess.Popen([os.path.join(REPO, 'build', 'bin', 'kafka_broker'), '--port', '0',
                          '--data-dir', data, '--override', 'metrics.port=-1',
                          '--override', 'advertised.listeners=PLAINTEXT://127.0.0.1:%d' % proxy_port],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in b.stdout:
        if line.startswith('listening on '):
            host, port = line.split()[-1].rsplit(':', 1)
            return b, (host, int(port))
    sys.exit('the broker did not start')


def run(scenario, argv, outdir, env):
    with tempfile.TemporaryDirectory(prefix='kp-capbroker-') as tmp:
        # The proxy needs the broker's port, the broker the proxy's: bind the proxy first.
        proxy = Proxy(None)
        broker, addr = start_broker(tmp, proxy.port)
        proxy.upstream = addr
        try:
            r = subprocess.run(argv + ['127.0.0.1:%d' % proxy.port, 'cap-'], env=env,
                               timeout=180, capture_output=True, text=True)
            if r.returncode != 0:
                sys.exit('%s: client exited %d:\n%s%s' % (scenario, r.returncode, r.stdout,
                                                         r.stderr[-2000:]))
        finally:
            broker.terminate()
            broker.wait(timeout=30)
        with proxy.lock:
            records = [tuple(r) for r in proxy.records]
    kpca.keep(records, outdir, scenario)
    index = os.path.join(outdir, scenario, 'INDEX')
    lines = open(index).read().split('\n')[2:]
    with open(index, 'w') as f:
        f.write('# %s: kept requests in send order (tools/kp-capture-broker.py; answers\n'
                '# by build/bin/kafka_broker itself, through a recording proxy)\n' % scenario)
        f.write('\n'.join(lines))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', default=os.path.join(HERE, '..', 'tests', 'fixtures'))
    ap.add_argument('--kafkajs', help='node_modules directory holding kafkajs 2.2.4')
    ap.add_argument('--only', help='run one scenario')
    args = ap.parse_args()
    e2e = os.path.join(REPO, 'broker', 'tests', 'kafka')
    py = ['/usr/bin/python3', os.path.join(e2e, 'admin_e2e.py')]
    scenarios = [('broker_admin_confluent', py + ['confluent'], None),
                 ('broker_admin_kafka_python', py + ['kafkapython'], None)]
    if args.kafkajs:
        scenarios.append(('broker_admin_kafkajs',
                          ['node', os.path.join(e2e, 'kafkajs_admin_e2e.js')],
                          dict(os.environ, NODE_PATH=args.kafkajs)))
    for name, argv, env in scenarios:
        if not args.only or args.only == name:
            run(name, argv, os.path.abspath(args.out), env)


if __name__ == '__main__':
    main()
