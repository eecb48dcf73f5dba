#!/usr/bin/python3
"""sec_e2e.py - confluent-kafka (librdkafka 2.0.2) and kafka-python 2.0.2 against a broker
behind TLS and SASL, for broker/tests/test_0114_kafka_sasl.c.

    sec_e2e.py CLIENT roundtrip ADDR TOPIC COUNT   produce COUNT records (acks=all), read
                                                   them back from partition 0, print
                                                   "produced N" and "consumed N"
    sec_e2e.py CLIENT refused ADDR                 connect and ask for metadata, which
                                                   must fail: print "refused: <what the
                                                   client said>"
    sec_e2e.py kafka-python acls ADDR              kafka-python's admin client: create,
                                                   describe and delete ACLs

CLIENT is confluent or kafka-python. The security settings come from the environment, never
argv (a password on a command line is readable by every user of the machine):
KT_PROTOCOL (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL), KT_MECHANISM, KT_USERNAME,
KT_PASSWORD, KT_CA, KT_CERT, KT_KEY. Exits 1 with the reason on stderr when what the
client saw is wrong.
"""
import os
import sys
import time


def fail(why):
    print(why, file=sys.stderr)
    sys.exit(1)


def env(name):
    v = os.environ.get(name)
    return v if v else None


# ---- confluent-kafka ------------------------------------------------------------------------


def confluent_config(addr):
    c = {'bootstrap.servers': addr, 'security.protocol': env('KT_PROTOCOL') or 'PLAINTEXT'}
    for key, var in (('sasl.mechanisms', 'KT_MECHANISM'), ('sasl.username', 'KT_USERNAME'),
                     ('sasl.password', 'KT_PASSWORD'), ('ssl.ca.location', 'KT_CA'),
                     ('ssl.certificate.location', 'KT_CERT'), ('ssl.key.location', 'KT_KEY')):
        if env(var):
            c[key] = env(var)
    return c


def confluent_roundtrip(addr, topic, count):
    from confluent_kafka import Consumer, Producer, TopicPartition
    errors, acked = [], []

    def report(err, msg):
        (errors if err else acked).append(str(err) if err else msg.offset())

    p = Producer(dict(confluent_config(addr), acks='all', **{'enable.idempotence': False}))
    for i in range(count):
        p.produce(topic, value=('secure %d' % i).encode(), partition=0, on_delivery=report)
        p.poll(0)
    if p.flush(30) != 0 or errors:
        fail('produce: %s' % (errors[0] if errors else 'not all delivered'))
    print('produced %d' % len(acked))
    c = Consumer(dict(confluent_config(addr), **{'group.id': 'sec-' + topic,
                                                 'enable.auto.commit': False}))
    c.assign([TopicPartition(topic, 0, 0)])
    seen, deadline = [], time.time() + 30
    while len(seen) < count and time.time() < deadline:
        m = c.poll(1.0)
        if m is not None and m.error() is None:
            seen.append(m.value().decode())
    c.close()
    if seen != ['secure %d' % i for i in range(count)]:
        fail('consumed %d records, not the %d produced, in order' % (len(seen), count))
    print('consumed %d' % len(seen))


def confluent_refused(addr):
    from confluent_kafka import KafkaException, Producer
    seen = []
    p = Producer(dict(confluent_config(addr), error_cb=lambda e: seen.append(str(e)),
                      **{'socket.timeout.ms': 3000}))
    try:
        p.list_topics(timeout=6)
    except KafkaException as e:
        seen.append(str(e))
    else:
        fail('metadata was served: the client was let in')
    p.poll(0.5)
    print('refused: ' + ' | '.join(seen))


# ---- kafka-python ----------------------------------------------------------------------------


def kp_config(addr):
    c = {'bootstrap_servers': addr, 'security_protocol': env('KT_PROTOCOL') or 'PLAINTEXT',
         'api_version_auto_timeout_ms': 5000, 'request_timeout_ms': 10000}
    for key, var in (('sasl_mechanism', 'KT_MECHANISM'), ('sasl_plain_username', 'KT_USERNAME'),
                     ('sasl_plain_password', 'KT_PASSWORD'), ('ssl_cafile', 'KT_CA'),
                     ('ssl_certfile', 'KT_CERT'), ('ssl_keyfile', 'KT_KEY')):
        if env(var):
            c[key] = env(var)
    if env('KT_CA'):
        c['ssl_check_hostname'] = True
    return c


def kp_roundtrip(addr, topic, count):
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
    p = KafkaProducer(acks='all', **kp_config(addr))
    futures = [p.send(topic, value=('secure %d' % i).encode(), partition=0)
               for i in range(count)]
    p.flush(30)
    offsets = [f.get(timeout=30).offset for f in futures]
    p.close()
    if offsets != list(range(offsets[0], offsets[0] + count)):
        fail('offsets with a gap')
    print('produced %d' % len(offsets))
    c = KafkaConsumer(enable_auto_commit=False, consumer_timeout_ms=10000, **kp_config(addr))
    tp = TopicPartition(topic, 0)
    c.assign([tp])
    c.seek(tp, offsets[0])
    seen = []
    for m in c:
        seen.append(m.value.decode())
        if len(seen) == count:
            break
    c.close()
    if seen != ['secure %d' % i for i in range(count)]:
        fail('consumed %d records, not the %d produced, in order' % (len(seen), count))
    print('consumed %d' % len(seen))


def kp_refused(addr):
    from kafka import KafkaConsumer
    try:
        c = KafkaConsumer(**kp_config(addr))
        c.topics()
        c.close()
    except Exception as e:  # kafka-python's errors have no common base worth naming
        print('refused: %s: %s' % (type(e).__name__, e))
        return
    fail('metadata was served: the client was let in')


def kp_acls(addr):
    from kafka.admin import (ACL, ACLFilter, ACLOperation, ACLPermissionType,
                             ACLResourcePatternType, KafkaAdminClient, ResourcePattern,
                             ResourcePatternFilter, ResourceType)
    a = KafkaAdminClient(**kp_config(addr))
    acl = ACL(principal='User:bob', host='*', operation=ACLOperation.READ,
              permission_type=ACLPermissionType.ALLOW,
              resource_pattern=ResourcePattern(ResourceType.TOPIC, 'py-',
                                               ACLResourcePatternType.PREFIXED))
    r = a.create_acls([acl])
    if r['failed']:
        fail('create_acls failed: %s' % r['failed'])
    print('created %d' % len(r['succeeded']))
    flt = ACLFilter(principal='User:bob', host=None, operation=ACLOperation.ANY,
                    permission_type=ACLPermissionType.ANY,
                    resource_pattern=ResourcePatternFilter(ResourceType.TOPIC, None,
                                                           ACLResourcePatternType.ANY))
    found, err = a.describe_acls(flt)
    if err.errno != 0:
        fail('describe_acls: %s' % err)
    for f in found:
        print('described %s %s %s %s' % (f.principal, f.operation.name,
                                         f.resource_pattern.pattern_type.name,
                                         f.resource_pattern.resource_name))
    deleted = a.delete_acls([flt])
    for _, matches, err in deleted:
        if err.errno != 0:
            fail('delete_acls: %s' % err)
        print('deleted %d' % len(matches))
    a.close()


def main():
    if len(sys.argv) < 4:
        fail(__doc__)
    client, mode, addr = sys.argv[1], sys.argv[2], sys.argv[3]
    fns = {('confluent', 'roundtrip'): confluent_roundtrip,
           ('confluent', 'refused'): confluent_refused,
           ('kafka-python', 'roundtrip'): kp_roundtrip,
           ('kafka-python', 'refused'): kp_refused,
           ('kafka-python', 'acls'): kp_acls}
    fn = fns.get((client, mode))
    if fn is None:
        fail(__doc__)
    if mode == 'roundtrip':
        fn(addr, sys.argv[4], int(sys.argv[5]))
    else:
        fn(addr)
    print('ok')


if __name__ == '__main__':
    main()
