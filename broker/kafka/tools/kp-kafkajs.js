// kp-kafkajs.js BROKER - a kafkajs 2.2.4 producer and consumer group, for capturing fixtures.
//
// Produces three records to topic "js" (a keyed record with a header, a record with a null
// key, a keyed tombstone), then runs a consumer in group "jsg" from the beginning until it
// has seen the three, lets it heartbeat and auto-commit for a few seconds, and disconnects
// (LeaveGroup). kp-capture.py runs it under strace with NODE_PATH pointing at a kafkajs
// installed outside the repository (npm install kafkajs@2.2.4).
'use strict';
const { Kafka, logLevel } = require('kafkajs');

const broker = process.argv[2];
const kafka = new Kafka({ clientId: 'kp-capture', brokers: [broker], logLevel: logLevel.ERROR });

async function produce() {
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
        topic: 'js',
        messages: [
            { key: 'k1', value: 'v1', headers: { hk: 'hv' } },
            { key: null, value: 'v2' },
            { key: 'k3', value: null },
        ],
    });
    await producer.disconnect();
}

async function consume() {
    const consumer = kafka.consumer({ groupId: 'jsg', heartbeatInterval: 1000,
                                      sessionTimeout: 10000 });
    await consumer.connect();
    await consumer.subscribe({ topic: 'js', fromBeginning: true });
    let seen = 0;
    await new Promise((resolve) => {
        consumer.run({
            autoCommitInterval: 1000,
            eachMessage: async () => {
                if (++seen === 3)
                    resolve();
            },
        });
    });
    await new Promise((r) => setTimeout(r, 3500)); // heartbeats and an auto-commit
    await consumer.disconnect();
    return seen;
}

produce()
    .then(consume)
    .then((n) => {
        console.log(`kafkajs: produced 3, consumed ${n}`);
        process.exit(0);
    })
    .catch((e) => {
        console.error(e);
        process.exit(1);
    });
