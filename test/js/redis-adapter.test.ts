// The Redis pub/sub adapter with a real redis-server (redis-helpers.ts) and three nodes, each a
// WebSocketServer in its own process (fixtures/adapter-node.cjs; native topics are per thread).
// Covered: cross-node fan-out of server.publish and ws.publish (text, binary, compressed), one
// bus message per publish, own echoes ignored, per-publisher order, Redis channels only for
// topics with local subscribers, cluster-wide subscriber counts, garbage on the bus, Redis
// killed and restarted mid-traffic (local delivery continues, error events, capped drop-oldest
// buffer held until the other nodes are back, resubscription), and a node killed with SIGKILL
// leaving the cluster view.
import { type ChildProcess, fork, spawn } from 'node:child_process';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

import { Cleanup, loadPackage, root, waitUntil, within } from './helpers';
import { freePort, RedisProcess, redisSkip } from './redis-helpers';

const lib = loadPackage();
const cleanup = new Cleanup();
afterEach(() => cleanup.run(), 30_000);

if (redisSkip) console.warn(`Redis adapter tests skipped: ${redisSkip}`);

interface NodeProcess {
  child: ChildProcess;
  port: number;
  nodeId: string;
  events: { event: string; code?: string; node?: string }[];
  request(body: Record<string, unknown>): Promise<any>;
}

let prefixCount = 0;

async function startNode(redisUrl: string, prefix: string, extra: Record<string, unknown> = {}): Promise<NodeProcess> {
  const child = fork(path.join(__dirname, 'fixtures', 'adapter-node.cjs'),
    [JSON.stringify({ url: redisUrl, prefix, heartbeatInterval: 100, nodeTimeout: 600, requestTimeout: 2000, maxReconnectDelay: 100, ...extra })],
    { env: { ...process.env, SOCKUDO_WS_ROOT: root }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  cleanup.add(child, (c) => { if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL'); });
  const events: NodeProcess['events'] = [];
  const waiting = new Map<number, (m: any) => void>();
  let nextId = 1;
  const listening = new Promise<{ port: number; nodeId: string }>((resolve, reject) => {
    child.on('message', (m: any) => {
      if (m.id !== undefined) waiting.get(m.id)?.(m);
      else if (m.event === 'listening') resolve(m);
      else events.push(m);
    });
    child.once('exit', (code) => reject(new Error(`node exited (${code})`)));
  });
  const { port, nodeId } = await within(listening, 10_000, 'node listening');
  await within((async () => { while (!events.some((e) => e.event === 'ready')) await new Promise((r) => setTimeout(r, 10)); })(), 10_000, 'adapter ready');
  return {
    child, port, nodeId, events,
    request: (body) => within(new Promise((resolve) => {
      const id = nextId++;
      waiting.set(id, resolve);
      child.send({ id, ...body });
    }), 10_000, `node request ${Object.keys(body)[0]}`),
  };
}

interface Client {
  ws: import('sockudo-ws').WebSocket;
  got: { text?: string; bin?: string }[];
  cmd(line: string): Promise<void>;
}

async function client(node: NodeProcess, options: Record<string, unknown> = {}): Promise<Client> {
  const ws = cleanup.add(await lib.connect(`ws://127.0.0.1:${node.port}/`, options), (w) => w.terminate());
  const got: Client['got'] = [];
  const acks: string[] = [];
  ws.on('message', (m, isBinary) => {
    if (isBinary) got.push({ bin: Buffer.from(m as Buffer).toString('hex') });
    else if (String(m).startsWith('ok ')) acks.push(String(m).slice(3));
    else got.push({ text: String(m) });
  });
  return {
    ws, got,
    cmd: async (line) => {
      ws.send(line);
      await waitUntil(() => acks.includes(line), `ack of ${line}`);
    },
  };
}

async function cluster(n = 3, extra: Record<string, unknown> = {}) {
  const redis = await RedisProcess.start(cleanup);
  const prefix = `t${process.pid}-${++prefixCount}`;
  const nodes: NodeProcess[] = [];
  for (let i = 0; i < n; i++) nodes.push(await startNode(redis.url, prefix, extra));
  // Everyone has heard everyone's heartbeat.
  for (const node of nodes) await within((async () => { for (;;) { const s = await node.request({ stats: true }); if (s.nodes.length === n - 1) return; await new Promise((r) => setTimeout(r, 50)); } })(), 5000, 'cluster view');
  return { redis, prefix, nodes };
}

const settle = (ms = 150) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(redisSkip !== null)('redisAdapter (real redis-server, three node processes)', () => {
  it('server.publish on one node reaches subscribers on every node once: text, binary, compressed', async () => {
    const { nodes } = await cluster(3, { compression: true });
    const clients = await Promise.all(nodes.map((n) => client(n, { compression: 'shared' })));
    const extra = await client(nodes[1]!);
    for (const c of [...clients, extra]) await c.cmd('sub room');
    const other = await client(nodes[2]!);
    await other.cmd('sub elsewhere');
    await nodes[0]!.request({ publish: { topic: 'room', data: 'héllo 🎉 '.repeat(100) } });
    await nodes[0]!.request({ publish: { topic: 'room', data: '00ff10', binary: true } });
    for (const c of [...clients, extra]) await waitUntil(() => c.got.length === 2, 'two messages');
    await settle();
    for (const c of [...clients, extra]) expect(c.got).toEqual([{ text: 'héllo 🎉 '.repeat(100) }, { bin: '00ff10' }]);
    expect(clients[0]!.ws.extensions).toContain('permessage-deflate');
    expect(other.got).toEqual([]);
    const stats = await nodes[0]!.request({ stats: true });
    expect(stats.stats.published).toBe(2);
    expect(stats.stats.echoes).toBe(2);
  });

  it('ws.publish reaches everyone but the sender, across nodes; one bus message per publish', async () => {
    const { nodes, redis, prefix } = await cluster(3);
    const sender = await client(nodes[0]!);
    const local = await client(nodes[0]!);
    const remote = await Promise.all([client(nodes[1]!), client(nodes[2]!)]);
    for (const c of [sender, local, ...remote]) await c.cmd('sub chat');
    await sender.cmd('pub chat hi all');
    await sender.cmd('pubbin chat cafe');
    for (const c of [local, ...remote]) await waitUntil(() => c.got.length === 2, 'two messages');
    await settle();
    for (const c of [local, ...remote]) expect(c.got).toEqual([{ text: 'hi all' }, { bin: 'cafe' }]);
    expect(sender.got).toEqual([]);
    // Redis counted: exactly two PUBLISHes on the topic's channel (one per publish, not per node or subscriber).
    const before = await nodes[0]!.request({ stats: true });
    expect(before.stats.published).toBe(2);
    const received = await Promise.all(nodes.slice(1).map((n) => n.request({ stats: true })));
    expect(received.map((s) => s.stats.received)).toEqual([2, 2]);
    // Each node's subscription to the topic is one Redis subscriber of its channel.
    expect(await redis.command('PUBSUB', 'NUMSUB', `${prefix}#chat`)).toContain(':3');
  });

  it('a node listens only to topics it has subscribers for, and leaves them when the last one goes', async () => {
    const { nodes, redis, prefix } = await cluster(2);
    const a = await client(nodes[0]!);
    await a.cmd('sub only-a');
    expect(await redis.command('PUBSUB', 'NUMSUB', `${prefix}#only-a`)).toContain(':1');
    const b = await client(nodes[1]!);
    await b.cmd('sub only-a');
    expect(await redis.command('PUBSUB', 'NUMSUB', `${prefix}#only-a`)).toContain(':2');
    await b.cmd('unsub only-a');
    await settle(100);
    expect(await redis.command('PUBSUB', 'NUMSUB', `${prefix}#only-a`)).toContain(':1');
    a.ws.terminate();
    await settle(200);
    expect(await redis.command('PUBSUB', 'NUMSUB', `${prefix}#only-a`)).toContain(':0');
  });

  it('keeps per-publisher order: 2,000 publishes arrive in order on another node', async () => {
    const { nodes } = await cluster(2);
    const c = await client(nodes[1]!);
    await c.cmd('sub seq');
    await nodes[0]!.request({ publishMany: { topic: 'seq', count: 2000, prefix: 'm' } });
    await waitUntil(() => c.got.length === 2000, '2000 messages', 10_000);
    expect(c.got.map((g) => g.text)).toEqual(Array.from({ length: 2000 }, (_, i) => `m${i}`));
  });

  it('clusterSubscribers() sums every node; a node killed with SIGKILL drops out after nodeTimeout', async () => {
    const { nodes } = await cluster(3);
    const counts = [2, 1, 3];
    for (let i = 0; i < 3; i++) for (let k = 0; k < counts[i]!; k++) await (await client(nodes[i]!)).cmd('sub counted');
    for (const n of nodes) expect((await n.request({ count: 'counted' })).count).toBe(6);
    nodes[2]!.child.kill('SIGKILL');
    // Until the heartbeat lapses a request may wait for it; afterwards it answers without it.
    await waitUntil(() => nodes[0]!.events.some((e) => e.event === 'nodeDown' && e.node === nodes[2]!.nodeId), 'nodeDown', 5000);
    expect((await nodes[0]!.request({ count: 'counted' })).count).toBe(3);
    expect((await nodes[0]!.request({ stats: true })).nodes).toEqual([nodes[1]!.nodeId]);
  });

  it('garbage on a topic channel is dropped and counted; the node keeps delivering', async () => {
    const { nodes, redis, prefix } = await cluster(1);
    const c = await client(nodes[0]!);
    await c.cmd('sub g');
    await redis.command('PUBLISH', `${prefix}#g`, 'not a frame');
    await redis.command('PUBLISH', `${prefix}!ctl`, '{not json');
    // A well-formed header (another node's id) carrying invalid UTF-8 as text.
    await redis.command('PUBLISH', `${prefix}#g`, Buffer.concat([Buffer.from([0x53, 1, 0]), Buffer.alloc(16, 9), Buffer.from([0xff, 0xfe])]));
    await settle();
    expect(c.got).toEqual([]);
    expect((await nodes[0]!.request({ stats: true })).stats.malformed).toBe(3);
    await nodes[0]!.request({ publish: { topic: 'g', data: 'still fine' } });
    await waitUntil(() => c.got.length === 1, 'local delivery');
  });

  it('Redis killed mid-traffic: local delivery continues, an error event, a capped buffer, then reconnection and resubscription', async () => {
    const { nodes, redis } = await cluster(2, { maxBuffered: 50 });
    const a = await client(nodes[0]!);
    const b = await client(nodes[1]!);
    await a.cmd('sub live');
    await b.cmd('sub live');
    await nodes[0]!.request({ publish: { topic: 'live', data: 'before' } });
    await waitUntil(() => b.got.length === 1, 'before');
    await redis.kill();
    await waitUntil(() => nodes[0]!.events.some((e) => e.event === 'error'), 'error event', 5000);
    expect(nodes[0]!.events.find((e) => e.event === 'error')!.code).toBe('ERR_SOCKUDO_WS_ADAPTER_CONNECTION');
    await nodes[0]!.request({ publishMany: { topic: 'live', count: 120, prefix: 'down' } });
    // Local subscribers got every message at once.
    await waitUntil(() => a.got.length === 121, 'local delivery while Redis is down');
    const during = await nodes[0]!.request({ stats: true });
    expect(during.connected).toBe(false);
    expect(during.stats.buffered).toBe(50);
    expect(during.stats.dropped).toBe(70);
    // A subscription made during the outage is taken up after it.
    const late = await client(nodes[1]!);
    await late.cmd('sub late');
    // Node 1 comes back after node 0 (stopped meanwhile): node 0 must hold its buffer until node 1
    // has resubscribed, or Redis drops it (regression: CI under ASan lost the 50 this way).
    nodes[1]!.child.kill('SIGSTOP');
    await redis.restart();
    await waitUntil(() => nodes[0]!.events.filter((e) => e.event === 'ready').length >= 2, 'node 0 reconnected', 10_000);
    await settle(400);
    expect(b.got.length).toBe(1);
    nodes[1]!.child.kill('SIGCONT');
    await waitUntil(() => b.got.length === 51, 'the buffered 50 after reconnection', 10_000);
    // The newest 50 survived, in order.
    expect(b.got.slice(1).map((g) => g.text)).toEqual(Array.from({ length: 50 }, (_, i) => `down${70 + i}`));
    await waitUntil(() => nodes[1]!.events.filter((e) => e.event === 'ready').length >= 2, 'node 1 ready again', 10_000);
    await nodes[0]!.request({ publish: { topic: 'late', data: 'after' } });
    await waitUntil(() => late.got.length === 1, 'a topic subscribed during the outage', 5000);
    expect((await nodes[1]!.request({ stats: true })).stats.resubscribed).toBeGreaterThanOrEqual(1);
  });

  it('examples/cluster-redis.mjs: two worker threads on one port (reusePort) form one chat room through Redis', async () => {
    const redis = await RedisProcess.start(cleanup);
    const port = await freePort();
    const child = cleanup.add(spawn(process.execPath, [path.join(root, 'examples', 'cluster-redis.mjs'), String(port), '2'],
      { cwd: root, env: { ...process.env, REDIS_URL: redis.url }, stdio: ['ignore', 'pipe', 'inherit'] }), (c) => { if (c.exitCode === null) c.kill('SIGKILL'); });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => { out += String(d); });
    await waitUntil(() => out.includes('chat cluster: 2 workers listening'), 'the example listening', 15_000);
    // Connect until both workers serve someone (the kernel picks the worker).
    const byWorker = new Map<string, { ws: import('sockudo-ws').WebSocket; got: string[] }>();
    for (let i = 0; i < 60 && byWorker.size < 2; i++) {
      const ws = cleanup.add(await lib.connect(`ws://127.0.0.1:${port}/`), (w) => w.terminate());
      const got: string[] = [];
      ws.on('message', (m) => got.push(String(m)));
      await waitUntil(() => got.length === 1, 'worker greeting');
      if (!byWorker.has(got[0]!)) byWorker.set(got[0]!, { ws, got });
      else ws.terminate();
    }
    expect(byWorker.size).toBe(2);
    const [a, b] = [...byWorker.values()];
    for (const c of [a!, b!]) {
      c.ws.send('join lobby');
      await waitUntil(() => c.got.includes('joined lobby'), 'joined');
    }
    await settle(200); // the workers' Redis subscriptions
    a!.ws.send('lobby hello from one worker');
    await waitUntil(() => b!.got.includes('hello from one worker') && a!.got.includes('hello from one worker'), 'delivered on both workers', 5000);
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await within(exited, 10_000, 'example exit');
  });

  it('options are validated; an adapter serves one server', async () => {
    expect(() => lib.redisAdapter({ url: 'http://x' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => lib.redisAdapter({ prefix: 'a#b' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => lib.redisAdapter({ maxBuffered: -1 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => new lib.WebSocketServer({ noServer: true, adapter: {} as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    const redis = await RedisProcess.start(cleanup);
    const adapter = lib.redisAdapter({ url: redis.url, prefix: `v${process.pid}` });
    const one = cleanup.add(new lib.WebSocketServer({ noServer: true, adapter }), (s) => s.close());
    expect(one.adapter).toBe(adapter);
    expect(() => new lib.WebSocketServer({ noServer: true, adapter })).toThrow(expect.objectContaining({ code: 'ERR_SOCKUDO_WS_ADAPTER_IN_USE' }));
    expect(await one.clusterSubscribers('nobody')).toBe(0);
  });
});
