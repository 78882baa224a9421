#!/usr/bin/env node
// Scenarios for kafkajs (pure JavaScript client with its own protocol code).
// Driver protocol (see conformance/run): `list` | `run SCENARIO HOST:PORT`;
// exit 0 pass, 1 fail (last line = reason), 2 not supported.
'use strict';
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
const crypto = require('crypto');
const { Kafka, logLevel, CompressionTypes, CompressionCodecs, ConfigResourceTypes } = require('kafkajs');
const SnappyCodec = require('kafkajs-snappy');
const lz4 = require('lz4js');
const { ZstdCodec } = require('zstd-codec');

class Fail extends Error {}
const check = (cond, msg) => { if (!cond) throw new Fail(msg); };
const show = (v) => { const s = JSON.stringify(v, (k, x) => (Buffer.isBuffer(x) ? x.toString('hex') : x)); return s && s.length > 200 ? s.slice(0, 200) + '...' : s; };
const eq = (actual, expected, what) => {
  if (show(actual) !== show(expected)) throw new Fail(`${what}: expected ${show(expected)}, got ${show(actual)}`);
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const uid = () => crypto.randomBytes(4).toString('hex');
const topicName = (tag) => `cf-kafkajs-${tag}-${uid()}`;
const groupName = (tag) => `g-kafkajs-${tag}-${uid()}`;
let currentStep = 'start';
const step = (s) => { currentStep = s; if (process.env.STEP_DEBUG) console.log(new Date().toISOString(), s); };
async function waitUntil(fn, ms, what) {
  step(`waiting for ${what}`);
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    last = await fn();
    if (last) return last;
    await sleep(200);
  }
  throw new Fail(`timed out after ${ms / 1000}s waiting for ${what} (last: ${show(last)})`);
}

// Pure-JS codecs (no native builds): lz4 frame format via lz4js, zstd via zstd-codec (wasm/asm.js).
CompressionCodecs[CompressionTypes.Snappy] = SnappyCodec;
CompressionCodecs[CompressionTypes.LZ4] = () => ({
  async compress(encoder) { return Buffer.from(lz4.compress(encoder.buffer)); },
  async decompress(buffer) { return Buffer.from(lz4.decompress(buffer)); },
});
let zstdSimple = null;
const zstdReady = new Promise((resolve) => ZstdCodec.run((z) => { zstdSimple = new z.Simple(); resolve(); }));
CompressionCodecs[CompressionTypes.ZSTD] = () => ({
  async compress(encoder) { await zstdReady; return Buffer.from(zstdSimple.compress(encoder.buffer, 3)); },
  async decompress(buffer) { await zstdReady; return Buffer.from(zstdSimple.decompress(buffer)); },
});

let kafka;
const toClose = [];
const client = (bs) => new Kafka({
  clientId: 'weir-conformance', brokers: [bs], logLevel: logLevel.NOTHING,
  connectionTimeout: 5000, requestTimeout: 15000, retry: { retries: 3, initialRetryTime: 200 },
});
async function producer(opts = {}) {
  step('connecting a producer');
  const p = kafka.producer({ allowAutoTopicCreation: true, ...opts });
  await p.connect();
  toClose.push(p);
  return p;
}
async function admin() {
  step('connecting an admin client');
  const a = kafka.admin();
  await a.connect();
  toClose.push(a);
  return a;
}
async function consumer(groupId, opts = {}) {
  const c = kafka.consumer({ groupId, sessionTimeout: 10000, heartbeatInterval: 500, rebalanceTimeout: 10000, ...opts });
  await c.connect();
  toClose.push(c);
  return c;
}
// Read n records of `topic` from the beginning with a fresh group; returns the messages.
async function consumeN(topic, n, opts = {}, ms = 30000) {
  const c = await consumer(groupName('read'), opts);
  await c.subscribe({ topics: [topic], fromBeginning: true });
  const out = [];
  await c.run({ autoCommit: false, eachMessage: async ({ partition, message }) => { out.push({ partition, ...message }); } });
  await waitUntil(() => out.length >= n, ms, `${n} records from ${topic} (got ${out.length})`);
  await sleep(300);
  await c.disconnect();
  return out;
}
const codeOf = async (fn) => {
  try { await fn(); return 'none'; } catch (e) {
    const inner = (e.groups && e.groups[0] && e.groups[0].error) || e.cause; // KafkaJSDeleteGroupsError wraps per-group errors
    return e.type || (inner && inner.type) || e.name + ': ' + e.message;
  }
};

function sampleRecords(n = 40) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const key = i % 7 === 3 && i % 9 !== 4 ? null : Buffer.from(`key-${i % 5}`);
    let value;
    if (i % 9 === 4) value = null;
    else if (i % 11 === 5) value = Buffer.alloc(0);
    else if (i % 2) value = Buffer.from(Array.from({ length: 100 + i }, (_, j) => (i * j) % 256));
    else value = Buffer.from(`value-${i}-ünïcødé-`.repeat(1 + (i % 4)));
    const headers = i % 3 === 0 ? { h1: Buffer.from(`v${i}`), empty: Buffer.alloc(0) } : i % 3 === 1 ? { only: Buffer.from(`${i}`) } : {};
    out.push({ key, value, headers, partition: 0 });
  }
  return out;
}

const S = {};
const UNSUPPORTED = {};

S.metadata_autocreate = async (bs) => {
  const t = topicName('meta');
  const a = await admin();
  const cl = await a.describeCluster();
  const [host, port] = [bs.slice(0, bs.lastIndexOf(':')), Number(bs.slice(bs.lastIndexOf(':') + 1))];
  check(cl.brokers.some((b) => b.host === host && b.port === port), `brokers ${show(cl.brokers)} lack ${bs}`);
  check(!(await a.listTopics()).includes(t), 'fresh topic already exists');
  const p = await producer();
  const r = await p.send({ topic: t, messages: [{ key: 'k', value: 'v', partition: 0 }] });
  eq([r[0].errorCode, r[0].baseOffset], [0, '0'], 'produce result on an auto-created topic');
  check((await a.listTopics()).includes(t), 'auto-created topic not listed');
  const md = await a.fetchTopicMetadata({ topics: [t] });
  check(md.topics[0].partitions.length >= 1, 'auto-created topic has no partitions');
  for (const pm of md.topics[0].partitions) eq(pm.partitionErrorCode, 0, `partition ${pm.partitionId} error`);
};

for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd']) {
  S[`roundtrip_${codec}`] = async () => {
    const t = topicName(`rt-${codec}`);
    const recs = sampleRecords();
    const p = await producer();
    const types = { none: CompressionTypes.None, gzip: CompressionTypes.GZIP, snappy: CompressionTypes.Snappy, lz4: CompressionTypes.LZ4, zstd: CompressionTypes.ZSTD };
    const r = await p.send({ topic: t, compression: types[codec], messages: recs });
    eq([r[0].errorCode, r[0].baseOffset], [0, '0'], 'produce result');
    const got = await consumeN(t, recs.length);
    eq(got.length, recs.length, 'record count');
    got.forEach((m, i) => {
      eq(m.offset, String(i), `offset of record ${i}`);
      eq(m.key, recs[i].key, `key of record ${i}`);
      eq(m.value, recs[i].value, `value of record ${i}`);
      eq(m.headers, recs[i].headers, `headers of record ${i}`);
      check(Math.abs(Number(m.timestamp) - Date.now()) < 300000, `timestamp of record ${i} not near now`);
    });
    const a = await admin();
    const offs = (await a.fetchTopicOffsets(t)).filter((x) => x.partition === 0);
    eq([offs[0].low, offs[0].high], ['0', String(recs.length)], 'low/high watermarks');
  };
}

S.large_messages = async () => {
  const t = topicName('large');
  const p = await producer({ retry: { retries: 0 } });
  const near = Buffer.alloc(1000000, 7);
  await p.send({ topic: t, messages: [{ key: 'near', value: near, partition: 0 }] });
  const code = await codeOf(() => p.send({ topic: t, messages: [{ key: 'over', value: Buffer.alloc(1100000, 8), partition: 0 }] }));
  eq(code, 'MESSAGE_TOO_LARGE', 'error for a 1.1 MB record (broker message.max.bytes=1048588)');
  const r = await p.send({ topic: t, messages: [{ value: 'small', partition: 0 }] });
  eq(r[0].baseOffset, '1', 'offset after the rejected record');
  const got = await consumeN(t, 2, { maxBytesPerPartition: 2000000 });
  eq(got.map((m) => [m.offset, m.value.length]), [['0', 1000000], ['1', 5]], 'records read back');
  check(got[0].value.equals(near), 'near-limit value differs');
};

S.group_rebalance = async () => {
  const t = topicName('grp');
  const a = await admin();
  eq(await a.createTopics({ topics: [{ topic: t, numPartitions: 4 }], waitForLeaders: true }), true, 'createTopics');
  const g = groupName('reb');
  const owned = { a: [], b: [] };
  const got = [];
  const mk = async (name) => {
    const c = await consumer(g);
    c.on(c.events.GROUP_JOIN, (e) => { owned[name] = (e.payload.memberAssignment[t] || []).slice().sort(); });
    await c.subscribe({ topics: [t], fromBeginning: true });
    await c.run({ eachMessage: async ({ partition, message }) => { got.push([name, partition, message.value.toString()]); } });
    return c;
  };
  const ca = await mk('a');
  await waitUntil(() => owned.a.length === 4, 30000, 'member a to own all 4 partitions');
  const cb = await mk('b');
  await waitUntil(() => owned.a.length === 2 && owned.b.length === 2 && new Set([...owned.a, ...owned.b]).size === 4, 40000,
    `a 2/2 split (a=${owned.a} b=${owned.b})`);
  const p = await producer();
  for (let i = 0; i < 4; i++) await p.send({ topic: t, messages: [{ value: `p${i}`, partition: i }] });
  await waitUntil(() => got.length >= 4, 20000, '4 records consumed by the group');
  for (const [name, part, v] of got) {
    check(owned[name].includes(part), `member ${name} got partition ${part} it does not own`);
    eq(v, `p${part}`, 'value');
  }
  eq(got.map((x) => x[1]).sort(), [0, 1, 2, 3], 'partitions consumed');
  await cb.disconnect();
  await waitUntil(() => owned.a.length === 4, 30000, 'member a to get all partitions back after b left');
  await ca.disconnect();
};

S.commit_resume = async () => {
  const t = topicName('commit');
  const p = await producer();
  await p.send({ topic: t, messages: Array.from({ length: 10 }, (_, i) => ({ value: `v${i}`, partition: 0 })) });
  const g = groupName('commit');
  const c = await consumer(g);
  await c.subscribe({ topics: [t], fromBeginning: true });
  const first = [];
  await c.run({ autoCommit: false, eachMessage: async ({ message }) => { first.push(message.offset); } });
  await waitUntil(() => first.length >= 10, 30000, 'first read');
  await c.commitOffsets([{ topic: t, partition: 0, offset: '5' }]);
  await c.disconnect();
  const a = await admin();
  const offs = await a.fetchOffsets({ groupId: g, topics: [t] });
  eq(offs[0].partitions.filter((x) => x.partition === 0).map((x) => [x.partition, x.offset]), [[0, '5']], 'committed offset');
  const c2 = await consumer(g);
  await c2.subscribe({ topics: [t], fromBeginning: true });
  const second = [];
  await c2.run({ autoCommit: false, eachMessage: async ({ message }) => { second.push([message.offset, message.value.toString()]); } });
  await waitUntil(() => second.length >= 5, 30000, 'resume read');
  await sleep(500);
  eq(second, Array.from({ length: 5 }, (_, i) => [String(i + 5), `v${i + 5}`]), 'records after resuming');
  await c2.disconnect();
};

S.idempotent_producer = async () => {
  const t = topicName('idem');
  const p = await producer({ idempotent: true, maxInFlightRequests: 1 });
  for (let b = 0; b < 4; b++) {
    const r = await p.send({ topic: t, acks: -1, messages: Array.from({ length: 50 }, (_, i) => ({ value: `v${b * 50 + i}`, partition: 0 })) });
    eq([r[0].errorCode, r[0].baseOffset], [0, String(b * 50)], `batch ${b} result`);
  }
  const got = await consumeN(t, 200);
  eq(got.map((m) => m.value.toString()), Array.from({ length: 200 }, (_, i) => `v${i}`), 'values in order, no duplicates');
};

S.admin_topics = async () => {
  const a = await admin();
  const t = topicName('adm');
  eq(await a.createTopics({ topics: [{ topic: t, numPartitions: 3, configEntries: [{ name: 'retention.ms', value: '3600000' }] }], waitForLeaders: true }), true, 'first create');
  eq(await a.createTopics({ topics: [{ topic: t, numPartitions: 3 }] }), false, 'second create (already exists)');
  const md = await a.fetchTopicMetadata({ topics: [t] });
  eq(md.topics[0].partitions.length, 3, 'partition count');
  await a.deleteTopics({ topics: [t], timeout: 10000 });
  await waitUntil(async () => !(await a.listTopics()).includes(t), 10000, 'deleted topic to disappear');
  eq(await codeOf(() => a.deleteTopics({ topics: [t], timeout: 5000 })), 'UNKNOWN_TOPIC_OR_PARTITION', 'deleting a missing topic');
};

S.admin_configs = async () => {
  const a = await admin();
  const t = topicName('cfg');
  await a.createTopics({ topics: [{ topic: t, numPartitions: 1, configEntries: [{ name: 'retention.ms', value: '3600000' }] }], waitForLeaders: true });
  const describe = async () => {
    const r = await a.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: t }], includeSynonyms: false });
    eq(r.resources[0].errorCode, 0, 'describeConfigs error');
    return Object.fromEntries(r.resources[0].configEntries.map((e) => [e.configName, e.configValue]));
  };
  let cfg = await describe();
  eq(cfg['retention.ms'], '3600000', 'retention.ms set at creation');
  eq(cfg['cleanup.policy'], 'delete', 'default cleanup.policy');
  await a.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: t, configEntries: [{ name: 'retention.ms', value: '123456' }] }] });
  cfg = await describe();
  eq(cfg['retention.ms'], '123456', 'retention.ms after alterConfigs');
  eq(await codeOf(() => a.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: t, configEntries: [{ name: 'retention.ms', value: 'nope' }] }] })),
    'INVALID_CONFIG', 'bad config value');
};

S.admin_create_partitions = async () => {
  const a = await admin();
  const t = topicName('parts');
  await a.createTopics({ topics: [{ topic: t, numPartitions: 1 }], waitForLeaders: true });
  await a.createPartitions({ topicPartitions: [{ topic: t, count: 3 }] });
  await waitUntil(async () => (await a.fetchTopicMetadata({ topics: [t] })).topics[0].partitions.length === 3, 10000, '3 partitions');
  const p = await producer();
  const r = await p.send({ topic: t, messages: [{ value: 'on-p2', partition: 2 }] });
  eq([r[0].partition, r[0].errorCode, r[0].baseOffset], [2, 0, '0'], 'produce to a new partition');
  eq(await codeOf(() => a.createPartitions({ topicPartitions: [{ topic: t, count: 2 }] })), 'INVALID_PARTITIONS', 'shrinking partitions');
};

S.admin_groups = async () => {
  const t = topicName('admgrp');
  const p = await producer();
  await p.send({ topic: t, messages: [{ value: 'x', partition: 0 }, { value: 'y', partition: 0 }, { value: 'z', partition: 0 }] });
  const g = groupName('adm');
  const c = await consumer(g);
  await c.subscribe({ topics: [t], fromBeginning: true });
  let n = 0;
  await c.run({ autoCommit: false, eachMessage: async () => { n++; } });
  await waitUntil(() => n >= 3, 30000, '3 records');
  await c.commitOffsets([{ topic: t, partition: 0, offset: '3' }]);
  const a = await admin();
  await waitUntil(async () => (await a.listGroups()).groups.some((x) => x.groupId === g), 10000, 'group listed');
  let d = (await a.describeGroups([g])).groups[0];
  eq([d.errorCode, d.state, d.members.length, d.protocolType], [0, 'Stable', 1, 'consumer'], 'describe (error, state, members, protocol type)');
  const offs = await a.fetchOffsets({ groupId: g, topics: [t] });
  eq(offs[0].partitions.filter((x) => x.partition === 0).map((x) => x.offset), ['3'], 'committed offsets');
  eq(await codeOf(() => a.deleteGroups([g])), 'NON_EMPTY_GROUP', 'deleting a group with an active member');
  await c.disconnect();
  await waitUntil(async () => (await a.describeGroups([g])).groups[0].state === 'Empty', 10000, 'state Empty');
  const res = await a.deleteGroups([g]);
  eq(res.map((x) => [x.groupId, x.errorCode]), [[g, 0]], 'deleteGroups result');
  check(!(await a.listGroups()).groups.some((x) => x.groupId === g), 'deleted group still listed');
  eq(await codeOf(() => a.deleteGroups([g])), 'GROUP_ID_NOT_FOUND', 'deleting a missing group');
};

S.offsets_for_times = async () => {
  const t = topicName('times');
  const base = (Math.floor(Date.now() / 1000) - 3600) * 1000;
  const p = await producer();
  await p.send({ topic: t, messages: Array.from({ length: 5 }, (_, i) => ({ value: `v${i}`, partition: 0, timestamp: String(base + i * 1000) })) });
  const a = await admin();
  const p0 = (xs) => xs.filter((x) => x.partition === 0);
  eq(p0(await a.fetchTopicOffsetsByTimestamp(t, base + 1500)).map((x) => x.offset), ['2'], 'offset for a time between records 1 and 2');
  eq(p0(await a.fetchTopicOffsetsByTimestamp(t, base)).map((x) => x.offset), ['0'], 'offset for the first record time');
  // A time after every record: Kafka answers -1, which kafkajs maps to the high watermark.
  eq(p0(await a.fetchTopicOffsetsByTimestamp(t, base + 10000)).map((x) => x.offset), ['5'], 'offset for a time after the last record');
  const got = await consumeN(t, 5);
  eq(got.map((m) => Number(m.timestamp)), [0, 1, 2, 3, 4].map((i) => base + i * 1000), 'record timestamps');
};

S.delete_records = async () => {
  const t = topicName('delrec');
  const p = await producer();
  await p.send({ topic: t, messages: Array.from({ length: 10 }, (_, i) => ({ value: `v${i}`, partition: 0 })) });
  const a = await admin();
  await a.fetchTopicMetadata({ topics: [t] }); // deleteTopicRecords does not load metadata itself
  await a.deleteTopicRecords({ topic: t, partitions: [{ partition: 0, offset: '4' }] });
  const offs = (await a.fetchTopicOffsets(t)).filter((x) => x.partition === 0);
  eq([offs[0].low, offs[0].high], ['4', '10'], 'watermarks after delete');
  const got = await consumeN(t, 6);
  eq(got.map((m) => m.offset), ['4', '5', '6', '7', '8', '9'], 'offsets readable after delete');
  const code = await codeOf(() => a.deleteTopicRecords({ topic: t, partitions: [{ partition: 0, offset: '50' }] }));
  check(code !== 'none', 'deleting beyond the high watermark succeeded');
};

S.transactions = async () => {
  const t = topicName('txn');
  const p = await producer({ transactionalId: topicName('tid'), idempotent: true, maxInFlightRequests: 1 });
  let tx = await p.transaction();
  await tx.send({ topic: t, messages: Array.from({ length: 5 }, (_, i) => ({ value: `commit-${i}`, partition: 0 })) });
  await tx.commit();
  tx = await p.transaction();
  await tx.send({ topic: t, messages: Array.from({ length: 5 }, (_, i) => ({ value: `abort-${i}`, partition: 0 })) });
  await tx.abort();
  tx = await p.transaction();
  await tx.send({ topic: t, messages: [{ value: 'commit-last', partition: 0 }] });
  await tx.commit();
  const got = await consumeN(t, 6, { readUncommitted: false });
  await sleep(500);
  eq(got.map((m) => m.value.toString()), ['commit-0', 'commit-1', 'commit-2', 'commit-3', 'commit-4', 'commit-last'], 'read_committed sees only committed records');
};

// ---- sec_*: the representative subset over the secured listeners conformance/run starts weir
// with (WEIR_SEC_* in the environment), and a wrong password refused with
// SASL_AUTHENTICATION_FAILED.
const fs = require('fs');
function unsecuredJws(sub) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return `${b64({ alg: 'none' })}.${b64({ sub, iat: now, exp: now + 3600 })}.`;
}
function secClient(kind, wrongPassword = false) {
  const env = { scram: 'WEIR_SEC_SASL_SSL', mtls: 'WEIR_SEC_SSL' }[kind] || 'WEIR_SEC_SASL_PLAINTEXT';
  const dir = process.env.WEIR_SEC_DIR;
  const bs = process.env[env];
  if (!dir || !bs) throw new Fail(`${env}/WEIR_SEC_DIR not set: the sec_* scenarios need the secured listeners conformance/run starts weir with (not available with --bootstrap)`);
  const bad = wrongPassword ? 'not-' : '';
  const cfg = {
    clientId: 'weir-conformance', brokers: [bs], logLevel: logLevel.NOTHING,
    connectionTimeout: 5000, requestTimeout: 15000, retry: { retries: wrongPassword ? 0 : 3, initialRetryTime: 200 },
  };
  const ca = [fs.readFileSync(`${dir}/ca.pem`)];
  if (kind === 'scram') {
    cfg.ssl = { ca };
    cfg.sasl = { mechanism: 'scram-sha-512', username: 'bob', password: `${bad}bob-secret` };
  } else if (kind === 'plain') {
    cfg.sasl = { mechanism: 'plain', username: 'alice', password: `${bad}alice-secret` };
  } else if (kind === 'oauth') {
    cfg.sasl = { mechanism: 'oauthbearer', oauthBearerProvider: async () => ({ value: unsecuredJws('carol') }) };
  } else {
    cfg.ssl = { ca, cert: fs.readFileSync(`${dir}/client.crt`), key: fs.readFileSync(`${dir}/client.key`) };
  }
  return [bs, new Kafka(cfg)];
}

async function secSubset(kind) {
  let bs;
  [bs, kafka] = secClient(kind);
  const t = topicName(`sec-${kind}`);
  const g = groupName(`sec-${kind}`);
  const a = await admin();
  step('CreateTopics');
  eq(await a.createTopics({ topics: [{ topic: t, numPartitions: 1 }], waitForLeaders: true }), true, 'topic created');
  const cl = await a.describeCluster();
  eq(cl.brokers.map((b) => `${b.host}:${b.port}`), [bs], "DescribeCluster's brokers (the listener we came in on)");
  const p = await producer();
  step('produce');
  const r = await p.send({ topic: t, messages: Array.from({ length: 10 }, (_, i) => ({ value: `sec-${i}`, partition: 0 })) });
  eq([r[0].errorCode, r[0].baseOffset], [0, '0'], 'produce result');
  step('first group member: consume, commit offset 5');
  // Short fetch waits: disconnect waits for the fetch in flight.
  let c = await consumer(g, { maxWaitTimeInMs: 200 });
  await c.subscribe({ topics: [t], fromBeginning: true });
  const first = [];
  await c.run({ autoCommit: false, eachMessage: async ({ message }) => { first.push(message); } });
  await waitUntil(() => first.length >= 10, 30000, `10 records (got ${first.length})`);
  eq(first.map((m) => m.value.toString()), Array.from({ length: 10 }, (_, i) => `sec-${i}`), 'records read back');
  await c.commitOffsets([{ topic: t, partition: 0, offset: '5' }]);
  await c.disconnect();
  const committed = await a.fetchOffsets({ groupId: g, topics: [t] });
  eq(committed[0].partitions.map((x) => x.offset), ['5'], 'committed offset');
  step('second group member: resume at the committed offset');
  c = await consumer(g, { maxWaitTimeInMs: 200 });
  await c.subscribe({ topics: [t] });
  const second = [];
  await c.run({ autoCommit: false, eachMessage: async ({ message }) => { second.push(message); } });
  await waitUntil(() => second.length >= 5, 30000, `5 records after resuming (got ${second.length})`);
  eq(second.map((m) => [m.offset, m.value.toString()]), [5, 6, 7, 8, 9].map((i) => [String(i), `sec-${i}`]), 'records after resuming');
}

async function secWrongPassword(kind, want) {
  [, kafka] = secClient(kind, true);
  const a = kafka.admin();
  let err = null;
  try { await a.connect(); } catch (e) { err = e; }
  check(err, 'connecting with a wrong password succeeded');
  eq(err.name, 'KafkaJSSASLAuthenticationError', `error (${err.message})`);
  check(err.message.includes(want), `error message '${err.message}' lacks Kafka's '${want}'`);
}

S.sec_sasl_ssl_scram512 = () => secSubset('scram');
S.sec_sasl_plaintext_plain = () => secSubset('plain');
S.sec_ssl_mtls = () => secSubset('mtls');
S.sec_sasl_oauthbearer = () => secSubset('oauth');
// kafkajs turns SaslAuthenticate's SASL_AUTHENTICATION_FAILED (58) into this error with the
// broker's message.
S.sec_scram512_wrong_password = () => secWrongPassword('scram', 'SASL SCRAM SHA512 authentication failed: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512');
S.sec_plain_wrong_password = () => secWrongPassword('plain', 'SASL PLAIN authentication failed: Authentication failed: Invalid username or password');

async function main() {
  const [cmd, name, bs] = process.argv.slice(2);
  if (cmd === 'list') {
    for (const k of Object.keys(S)) console.log(`${k}\tok`);
    for (const [k, why] of Object.entries(UNSUPPORTED)) console.log(`${k}\tunsupported\t${why}`);
    return 0;
  }
  if (cmd !== 'run' || !bs) { console.log('usage: scenarios.js list | run SCENARIO HOST:PORT'); return 1; }
  if (!S[name]) { console.log(`not supported: ${UNSUPPORTED[name] || 'no scenario ' + name}`); return 2; }
  kafka = client(bs);
  const budget = Number(process.env.CONFORMANCE_BUDGET || 0);
  if (budget > 3) {
    setTimeout(() => { console.log(`FAIL: ${name} did not finish within ${budget - 2}s; stuck at: ${currentStep}`); process.exit(1); }, (budget - 2) * 1000).unref();
  }
  let rc = 0;
  try {
    await S[name](bs);
    console.log('PASS');
  } catch (e) {
    if (!(e instanceof Fail)) console.log(e.stack);
    console.log(`FAIL: ${e instanceof Fail ? '' : (e.type || e.name) + ': '}${e.message}`.replace(/\n/g, ' | '));
    rc = 1;
  }
  await Promise.race([Promise.allSettled(toClose.map((x) => x.disconnect())), sleep(3000)]);
  return rc;
}
main().then((rc) => process.exit(rc), (e) => { console.log(`FAIL: ${e}`); process.exit(1); });
