// The io_uring transport (transport: 'io_uring'): the server reports which transport it runs and
// why; a ring exists in the process and carries the sockets' I/O (its submission and completion
// counters move with the traffic, and strace sees no recv/send system calls on the sockets); the
// echo is exact at every size; a ring that cannot be created (EMFILE here, as a seccomp profile or
// kernel.io_uring_disabled would refuse it elsewhere) falls back to epoll with the reason; 10,000
// connections reset at once leave no operation in flight and no socket. The API, conformance,
// backpressure, pub/sub, bad-input, TLS and HTTP/2 suites also run with SOCKUDO_WS_TRANSPORT=io_uring
// (scripts/test.js, suite "uring").
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';

import { afterEach, describe, expect, it } from 'vitest';

import { Cleanup, loadPackage, nativeBinding, next, runNode, waitUntil, within } from './helpers';

const lib = loadPackage();
type Ws = import('sockudo-ws').WebSocket;
const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/** Whether this kernel lets us make a ring (Linux 6.0+, io_uring not disabled); else the server must fall back. */
function ringExpected(): boolean {
  const [major, minor] = os.release().split('.').map(Number) as [number, number];
  if (major < 6 || (major === 6 && minor < 0)) return false;
  try {
    return fs.readFileSync('/proc/sys/kernel/io_uring_disabled', 'utf8').trim() === '0';
  } catch {
    return true;  // kernels before 6.6 have no such switch
  }
}
const hasRing = ringExpected();
const STRACE = '/usr/bin/strace';

async function uringServer(options: Record<string, unknown> = {}) {
  const wss = cleanup.add(new lib.WebSocketServer({ port: 0, host: '127.0.0.1', transport: 'io_uring', ...options }), (s) => s.close());
  await next(wss, 'listening');
  return { wss, port: (wss.address() as net.AddressInfo).port };
}

/** fds of this process that are io_uring instances, with their fdinfo counters. */
function rings(): { fd: string; sqHead: number; cqHead: number }[] {
  const out: { fd: string; sqHead: number; cqHead: number }[] = [];
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    let target = '';
    try {
      target = fs.readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue;
    }
    if (target !== 'anon_inode:[io_uring]') continue;
    const info = fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
    const num = (key: string) => Number(new RegExp(`^${key}:\\s*(\\d+)`, 'm').exec(info)?.[1] ?? NaN);
    out.push({ fd, sqHead: num('SqHead'), cqHead: num('CqHead') });
  }
  return out;
}

/**
 * N raw WebSocket clients in a child process (10,000 connections take 20,000 descriptors in one
 * process). They never answer pings. stdin: "reset" resets them all; "count" prints how many got
 * a frame after the upgrade ("got K").
 */
function rawClients(port: number, N: number) {
  const child = spawn(process.execPath, ['-e', `const net = require('node:net');
    const up = 'GET / HTTP/1.1\\r\\nHost: x\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\\r\\nSec-WebSocket-Version: 13\\r\\n\\r\\n';
    const sockets = [];
    let got = 0;
    (async () => {
      for (let i = 0; i < ${N}; i += 500) {
        sockets.push(...await Promise.all(Array.from({ length: Math.min(500, ${N} - i) }, () => new Promise((resolve, reject) => {
          const s = net.connect(${port}, '127.0.0.1', () => { s.write(up); resolve(s); });
          let upgraded = false, counted = false;
          s.on('data', (d) => {
            if (!upgraded) upgraded = d.includes('\\r\\n\\r\\n') && d.length === d.indexOf('\\r\\n\\r\\n') + 4;
            else if (!counted) { counted = true; got++; }
          });
          s.on('error', reject);
        }))));
      }
      console.log('connected');
    })().catch((e) => { console.error(e); process.exit(1); });
    process.stdin.on('data', (d) => {
      if (String(d).startsWith('count')) { console.log('got ' + got); return; }
      for (const s of sockets) s.resetAndDestroy(); console.log('reset'); setTimeout(() => process.exit(0), 200);
    });`], { stdio: ['pipe', 'pipe', 'inherit'] });
  cleanup.add(child, (c) => c.kill('SIGKILL'));
  return { child, connected: next(child.stdout!, 'data', 60_000) };
}

describe('transport option', () => {
  it('reports io_uring (requested) when the kernel has it, else epoll with the reason; epoll and auto say so', async () => {
    const { wss } = await uringServer();
    if (hasRing) expect(wss.transport).toEqual({ name: 'io_uring', reason: 'requested' });
    else expect(wss.transport.name).toBe('epoll');
    const epoll = cleanup.add(new lib.WebSocketServer({ port: 0, host: '127.0.0.1', transport: 'epoll' }), (s) => s.close());
    expect(epoll.transport).toEqual({ name: 'epoll', reason: 'requested' });
    const auto = cleanup.add(new lib.WebSocketServer({ port: 0, host: '127.0.0.1' }), (s) => s.close());
    expect(auto.transport.name).toBe('epoll');
    expect(auto.transport.reason).toMatch(/^auto/);
  });

  it('a server with httpHandler stays on epoll and says why (its connections go to Node by descriptor)', () => {
    const wss = cleanup.add(new lib.WebSocketServer({ port: 0, host: '127.0.0.1', transport: 'io_uring', httpHandler: (_req, res) => res.end() }), (s) => s.close());
    expect(wss.transport.name).toBe('epoll');
    expect(wss.transport.reason).toMatch(/httpHandler/);
  });

  it('rejects an unknown transport (server or client) and an unknown SOCKUDO_WS_TRANSPORT with typed errors', async () => {
    expect(() => new lib.WebSocketServer({ port: 0, transport: 'kqueue' as 'epoll' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => new lib.WebSocketServer({ port: 0, transport: 1 as unknown as 'epoll' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    const r = runNode(`const { WebSocketServer } = require('.'); try { new WebSocketServer({ port: 0 }); } catch (e) { console.log(e.code, e.message); }`,
      { SOCKUDO_WS_TRANSPORT: 'uring' });
    expect(r.stdout).toMatch(/^ERR_INVALID_ARG_VALUE .*SOCKUDO_WS_TRANSPORT/);
    // A client's option: the same values and errors, before any connection is attempted.
    await expect(lib.connect('ws://127.0.0.1:1', { transport: 'kqueue' as 'epoll' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(lib.connect('ws://127.0.0.1:1', { transport: 2 as unknown as 'epoll' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
  });

  it('SOCKUDO_WS_TRANSPORT overrides the option for every server of the process', () => {
    const r = runNode(`const { WebSocketServer } = require('.');
      const s = new WebSocketServer({ port: 0, host: '127.0.0.1', transport: 'io_uring' });
      console.log(JSON.stringify(s.transport)); s.close();`, { SOCKUDO_WS_TRANSPORT: 'epoll' });
    expect(JSON.parse(r.stdout)).toEqual({ name: 'epoll', reason: 'requested' });
  });

  it('falls back to epoll, with the reason, when the ring cannot be created (no descriptor left: EMFILE), and serves', () => {
    // The loop's ring is made (once) with the first io_uring server: with every descriptor in use
    // it fails as a seccomp profile or kernel.io_uring_disabled would make it fail, and every
    // io_uring server of that loop falls back, with the reason.
    const r = runNode(`const fs = require('node:fs'); const { WebSocketServer, connect } = require('.');
      const held = []; try { for (;;) held.push(fs.openSync('/dev/null', 'r')); } catch {}
      const first = new WebSocketServer({ noServer: true, transport: 'io_uring' });
      for (const fd of held.splice(0, 64)) fs.closeSync(fd);
      const s = new WebSocketServer({ port: 0, host: '127.0.0.1', transport: 'io_uring' });
      if (JSON.stringify(first.transport) !== JSON.stringify(s.transport)) throw new Error('the two servers disagree');
      s.on('connection', (ws) => ws.on('message', (d) => ws.send(d)));
      s.on('listening', async () => {
        const ws = await connect('ws://127.0.0.1:' + s.address().port);
        ws.once('message', (d) => { console.log(JSON.stringify({ transport: s.transport, echo: d })); ws.close(); s.close(); for (const fd of held) fs.closeSync(fd); });
        ws.send('after the fallback');
      });`, {});
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { transport: { name: string; reason: string }; echo: string };
    expect(out.transport.name).toBe('epoll');
    if (hasRing) expect(out.transport.reason).toMatch(/^io_uring unavailable: io_uring_setup failed: EMFILE/);
    expect(out.echo).toBe('after the fallback');
  });
});

describe.skipIf(!hasRing)('over io_uring', () => {
  it('a ring exists and carries the traffic: its submission and completion counters move with 2,000 echoes of every size', async () => {
    const { wss, port } = await uringServer();
    wss.on('connection', (ws: Ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
    const before = rings();
    expect(before.length).toBeGreaterThanOrEqual(1);
    const stats0 = nativeBinding().uringStats();
    const clients = await Promise.all([0, 1, 2, 3].map(() => lib.connect(`ws://127.0.0.1:${port}`)));
    const sizes = [0, 1, 125, 126, 65_535, 65_536, 200_000];
    for (let round = 0; round < 500; round++) {
      await Promise.all(clients.map(async (c, i) => {
        const n = sizes[(round + i) % sizes.length]!;
        const data = i % 2 ? Buffer.alloc(n, (round + i) & 255) : 'é'.repeat(n >> 1);
        const reply = next<[string | Buffer, boolean]>(c, 'message', 10_000);
        c.send(data);
        const [got] = await reply;
        expect(Buffer.compare(Buffer.from(got as Buffer), Buffer.from(data as Buffer))).toBe(0);
      }));
    }
    const stats = nativeBinding().uringStats();
    expect(stats.ring).toBe(true);
    // Each echo is at least one receive completion and one send.
    expect(stats.prepared - stats0.prepared).toBeGreaterThanOrEqual(2000);
    const after = rings();
    const moved = after.some((r) => { const b = before.find((x) => x.fd === r.fd); return b !== undefined && r.cqHead - b.cqHead >= 4000; });
    expect(moved).toBe(true);
    for (const c of clients) c.close();
  });

  it('keeps the process alive as epoll does: a listening server, and a client reading, hold the event loop; closing them lets it exit', async () => {
    // Nothing else holds this child's loop: over io_uring only the ring's operations in flight
    // (the multishot accept, the receive) can. It must stay up, serve, and exit once both close.
    const child = spawn(process.execPath, ['-e', `const { WebSocketServer, connect } = require('.');
      const s = new WebSocketServer({ port: 0, host: '127.0.0.1', transport: 'io_uring' });
      s.on('connection', (ws) => ws.on('message', (d) => ws.send(d)));
      s.on('listening', () => console.log('port ' + s.address().port));
      process.stdin.once('data', async () => {
        const c = await connect('ws://127.0.0.1:' + s.address().port, { transport: 'io_uring' });
        process.stdin.pause();
        c.on('message', (d) => { console.log('echo ' + d); setTimeout(() => { c.close(); s.close(); }, 300); });
        setTimeout(() => c.send('still here'), 300);
      });`], { cwd: path.join(__dirname, '..', '..'), stdio: ['pipe', 'pipe', 'inherit'] });
    cleanup.add(child, (c) => c.kill('SIGKILL'));
    let out = '';
    child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    await waitUntil(() => /port (\d+)/.test(out), 'the server to listen', 20_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(child.exitCode).toBe(null);
    const c = cleanup.add(await lib.connect(`ws://127.0.0.1:${/port (\d+)/.exec(out)![1]}`), (w) => w.terminate());
    c.send('x');
    expect(String((await next<[Buffer]>(c, 'message'))[0])).toBe('x');
    c.close();
    child.stdin!.write('go\n');
    const [code] = await next<[number]>(child, 'exit', 20_000);
    expect(out).toContain('echo still here');
    expect(code).toBe(0);
  });

  it('clients on io_uring: ws.transport says so on both ends; connect, echo up to 4 MiB, refusal and close codes work as over epoll', async () => {
    const { wss, port } = await uringServer();
    const serverSide: Ws[] = [];
    wss.on('connection', (ws: Ws) => {
      serverSide.push(ws);
      ws.on('message', (d, binary) => ws.send(d, { binary }));
    });
    const c = cleanup.add(await lib.connect(`ws://127.0.0.1:${port}`, { transport: 'io_uring' }), (w) => w.terminate());
    expect(c.transport).toEqual({ name: 'io_uring', reason: 'requested' });
    expect(serverSide[0]!.transport).toEqual({ name: 'io_uring', reason: "the server's: requested" });
    for (const size of [0, 1, 125, 126, 65_535, 65_536, 4 * 1024 * 1024]) {
      const payload = Buffer.alloc(size, size & 0xff);
      const reply = next<[Buffer]>(c, 'message', 10_000);
      c.send(payload);
      expect(Buffer.compare((await reply)[0], payload), `${size} bytes`).toBe(0);
    }
    const e = await lib.connect('ws://127.0.0.1:1', { transport: 'io_uring' }).catch((x: unknown) => x) as { code: string };
    expect(e.code).toBe('ECONNREFUSED');
    const epollClient = cleanup.add(await lib.connect(`ws://127.0.0.1:${port}`, { transport: 'epoll' }), (w) => w.terminate());
    expect(epollClient.transport).toEqual({ name: 'epoll', reason: 'requested' });
    const closed = next<[number, string]>(c, 'close', 10_000);
    serverSide[0]!.close(4002, 'server says bye');
    expect(await closed).toEqual([4002, 'server says bye']);
    expect(c.transport.name).toBe('io_uring');  // kept after the close
  });

  it('HTTP/2 over io_uring on both ends: the streams report the TCP connection under them', async () => {
    const { wss, port } = await uringServer({ http2: true, http2Cleartext: true });
    const serverSide: Ws[] = [];
    wss.on('connection', (ws: Ws) => { serverSide.push(ws); ws.on('message', (d) => ws.send(d)); });
    const session = cleanup.add(await lib.connectHttp2(`http://127.0.0.1:${port}`, { transport: 'io_uring' }), (x) => x.close());
    const sockets = await Promise.all([0, 1, 2].map((i) => session.websocket(`/s${i}`)));
    sockets.forEach((ws) => cleanup.add(ws, (w) => w.terminate()));
    for (const ws of sockets) {
      expect(ws.httpVersion).toBe('2');
      expect(ws.transport).toEqual({ name: 'io_uring', reason: 'requested' });
      const reply = next<[Buffer]>(ws, 'message', 5000);
      ws.send(Buffer.alloc(100_000, 3));
      expect((await reply)[0].length).toBe(100_000);
    }
    expect(serverSide.map((ws) => ws.transport.name)).toEqual(['io_uring', 'io_uring', 'io_uring']);
  });

  it('echo order and close codes: 5,000 messages burst on one connection arrive in order; close 4001 with a reason both ways', async () => {
    const { wss, port } = await uringServer();
    let serverClose: Promise<[number, string]> | undefined;
    wss.on('connection', (ws: Ws) => {
      serverClose = next<[number, string]>(ws, 'close', 10_000);
      ws.on('message', (data) => ws.send(data));
    });
    const c = await lib.connect(`ws://127.0.0.1:${port}`);
    const got: string[] = [];
    const all = new Promise<void>((resolve) => c.on('message', (d) => { got.push(String(d)); if (got.length === 5000) resolve(); }));
    for (let i = 0; i < 5000; i++) c.send(`m${i}`);
    await within(all, 20_000, '5000 echoes');
    expect(got).toEqual(Array.from({ length: 5000 }, (_, i) => `m${i}`));
    const closed = next<[number, string]>(c, 'close', 10_000);
    c.close(4001, 'bye ✓');
    expect((await closed)[0]).toBe(4001);  // the server's reply echoes the code (RFC 6455 §5.5.1)
    expect(await serverClose!).toEqual([4001, 'bye ✓']);
  });

  it('10,000 connections reset at once: every close reported, no operation left in flight, no native socket left', async () => {
    // No pings: these raw clients never answer them, and opening 10,000 takes a while.
    const { wss, port } = await uringServer({ autoPing: false, backlog: 65_535 });
    const baseline = nativeBinding().socketCount();
    let open = 0;
    let closed = 0;
    wss.on('connection', (ws: Ws) => {
      open++;
      ws.on('close', () => closed++);
    });
    const N = 10_000;
    const clients = rawClients(port, N);
    await clients.connected;
    await waitUntil(() => open === N, `${N} connections open (${open})`, 60_000);
    clients.child.stdin!.write('reset\n');
    await waitUntil(() => closed === N, `${N} closes (${closed})`, 60_000);
    await waitUntil(() => nativeBinding().socketCount() <= baseline, `native sockets back to the baseline (${nativeBinding().socketCount()} > ${baseline})`, 20_000);
    // What stays in flight is the listener's multishot accept; closing the server cancels it.
    await waitUntil(() => nativeBinding().uringStats().inFlight === 1, `only the accept in flight (${nativeBinding().uringStats().inFlight})`, 20_000);
    await new Promise((resolve) => wss.close(resolve));
    await waitUntil(() => nativeBinding().uringStats().inFlight === 0, `no io_uring operation in flight (${nativeBinding().uringStats().inFlight})`, 20_000);
  }, 120_000);
  it('a publish to 10,000 subscribers leaves in one io_uring_enter: 10,000 sends prepared in the turn, submitted together', async () => {
    const { wss, port } = await uringServer({ autoPing: false, backlog: 65_535 });
    let open = 0;
    wss.on('connection', (ws: Ws) => {
      open++;
      ws.subscribe('all');
    });
    const N = 10_000;
    const clients = rawClients(port, N);
    await clients.connected;
    await waitUntil(() => open === N, `${N} connections open (${open})`, 60_000);
    await new Promise((r) => setTimeout(r, 200));  // the handshakes' sends have completed
    const before = nativeBinding().uringStats();
    // One publish in a turn of its own; the loop's flush at the end of the turn submits.
    const after = await new Promise<typeof before>((resolve) => setTimeout(() => {
      expect(wss.publish('all', 'to every subscriber')).toBe(N);
      setImmediate(() => resolve(nativeBinding().uringStats()));
    }, 0));
    expect(after.prepared - before.prepared).toBe(N);  // one send each
    expect(after.submits - before.submits).toBe(1);
    let got = 0;
    clients.child.stdout!.on('data', (d: Buffer) => { const m = /got (\d+)/.exec(String(d)); if (m) got = Number(m[1]); });
    await waitUntil(() => { clients.child.stdin!.write('count\n'); return got === N; }, `every subscriber got the message (${got})`, 20_000);
  }, 120_000);
});

describe.skipIf(!hasRing)('worker_threads exit with io_uring operations in flight', () => {
  // A worker's environment has its own loop and ring. Ending the worker while its sockets have
  // receives armed, sends in flight (4 MiB messages to clients that stopped reading) and a close
  // lingering cancels every operation and waits for it before anything is freed (the sanitizer
  // run, scripts/sanitize.js, runs this file against the ASan addon). Both ways out: terminate()
  // from outside, process.exit() from a callback inside the worker.
  const root = path.join(__dirname, '..', '..');
  it.each(['terminate', 'exit'])('%s: the worker ends, this process and its own ring carry on', async (how) => {
    const code = `
      const { parentPort } = require('node:worker_threads');
      const lib = require(${JSON.stringify(root)});
      (async () => {
        const wss = new lib.WebSocketServer({ port: 0, host: '127.0.0.1', transport: 'io_uring', maxBackpressure: 64 * 1024 * 1024 });
        await new Promise((r) => wss.on('listening', r));
        if (wss.transport.name !== 'io_uring') throw new Error('not on io_uring');
        const big = Buffer.alloc(4 * 1024 * 1024, 7);
        let n = 0;
        wss.on('connection', (ws) => {
          ws.on('message', () => {
            for (let i = 0; i < 4; i++) ws.send(big);  // the client reads nothing: sends stay in flight
            if (++n === 8) {
              ws.close(1000);  // a close lingering on its unsent bytes
              if (${JSON.stringify(how)} === 'exit') setImmediate(() => process.exit(0));
              else parentPort.postMessage('busy');
            }
          });
        });
        const clients = [];
        for (let i = 0; i < 8; i++) clients.push(await lib.connect('ws://127.0.0.1:' + wss.address().port, { transport: 'io_uring' }));
        for (const c of clients) { c.pause(); c.send('go'); }
      })().catch((e) => { parentPort.postMessage('error ' + e.message); });`;
    const w = new Worker(code, { eval: true });
    const exited = new Promise<number>((resolve) => w.once('exit', resolve));
    if (how === 'terminate') {
      const [msg] = await next<[string]>(w, 'message', 20_000);
      expect(msg).toBe('busy');
      await new Promise((r) => setTimeout(r, 50));  // sends in flight
      await w.terminate();
    }
    await within(exited, 20_000, 'the worker to exit');
    // This environment's ring (if any) is untouched and still serves.
    const { wss, port } = await uringServer();
    wss.on('connection', (ws: Ws) => ws.on('message', (d) => ws.send(d)));
    const c = cleanup.add(await lib.connect(`ws://127.0.0.1:${port}`), (x) => x.terminate());
    c.send('after the worker');
    expect(String((await next<[Buffer]>(c, 'message'))[0])).toBe('after the worker');
  }, 60_000);
});

describe('out of descriptors at accept', () => {
  // The server's process has (almost) no descriptor left: accepting fails with EMFILE. The listener
  // pauses (kBackoffMs) instead of spinning, keeps the waiting connections in the backlog, and
  // takes them once descriptors are free. Over io_uring this ends the multishot accept, which is
  // armed again after the pause.
  it.each(hasRing ? ['io_uring', 'epoll'] : ['epoll'])('over %s: the listener pauses and later accepts every waiting connection', async (transport) => {
    const child = spawn(process.execPath, ['-e', `const fs = require('node:fs'); const { WebSocketServer } = require('.');
      const s = new WebSocketServer({ port: 0, host: '127.0.0.1', transport: '${transport}' });
      if (s.transport.name !== '${transport}') throw new Error('transport ' + JSON.stringify(s.transport));
      let open = 0;
      s.on('connection', (ws) => { open++; ws.on('message', (d) => ws.send(d)); });
      s.on('listening', () => {
        const held = []; try { for (;;) held.push(fs.openSync('/dev/null', 'r')); } catch {}
        for (const fd of held.splice(0, 8)) fs.closeSync(fd);  // room for 8 connections
        console.log('port ' + s.address().port);
        setInterval(() => console.log('open ' + open), 50);
        process.stdin.on('data', () => { for (const fd of held.splice(0, 256)) fs.closeSync(fd); });
      });`], { cwd: path.join(__dirname, '..', '..'), stdio: ['pipe', 'pipe', 'inherit'] });
    cleanup.add(child, (c) => c.kill('SIGKILL'));
    let out = '';
    child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    await waitUntil(() => /port (\d+)/.test(out), 'the server to listen', 20_000);
    const port = Number(/port (\d+)/.exec(out)![1]);
    const reported = () => Number([...out.matchAll(/open (\d+)/g)].pop()?.[1] ?? 0);
    const N = 40;
    let opened = 0;
    const clients: Ws[] = [];
    const connecting = Array.from({ length: N }, (_, i) => lib.connect(`ws://127.0.0.1:${port}`, { handshakeTimeout: 30_000 }).then((c) => {
      cleanup.add(c, (w) => w.terminate());
      clients[i] = c;
      opened++;
    }));
    for (const p of connecting) p.catch(() => {});  // reported by the Promise.all below, not as unhandled
    await waitUntil(() => reported() >= 4, `some connections accepted (${reported()})`, 20_000);
    await new Promise((r) => setTimeout(r, 300));  // several backoff periods: the rest wait in the backlog
    const stalled = reported();
    expect(stalled).toBeLessThan(N);
    expect(child.exitCode).toBe(null);
    child.stdin!.write('free\n');
    await within(Promise.all(connecting), 20_000, `all ${N} clients open (${opened})`);
    await waitUntil(() => reported() === N, `the server reports ${N} connections (${reported()})`, 20_000);
    const last = clients[N - 1]!;
    const echo = next<[Buffer]>(last, 'message', 5000);
    last.send('after the pause');
    expect(String((await echo)[0])).toBe('after the pause');
  }, 60_000);
});

describe.skipIf(!hasRing || !fs.existsSync(STRACE))('system calls (strace)', () => {
  it('an echo run makes no accept/recv/send/writev calls on the sockets: the ring does the I/O, with fewer io_uring_enter calls than messages', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockudo-ws-strace-'));
    cleanup.add(dir, (d) => fs.rmSync(d, { recursive: true, force: true }));
    const out = path.join(dir, 'counts');
    const server = `const { WebSocketServer } = require('.');
      const s = new WebSocketServer({ port: 0, host: '127.0.0.1', transport: 'io_uring' });
      s.on('connection', (ws) => ws.on('message', (d, b) => ws.send(d, { binary: b })));
      s.on('listening', () => console.log(s.address().port));
      process.stdin.on('end', () => process.exit(0)); process.stdin.resume();`;
    const child = spawn(STRACE, ['-f', '-c', '-o', out, '-e', 'trace=accept,accept4,recvfrom,recvmsg,sendto,sendmsg,writev,readv,io_uring_enter',
      process.execPath, '-e', server], { cwd: path.join(__dirname, '..', '..'), stdio: ['pipe', 'pipe', 'inherit'] });
    cleanup.add(child, (c) => c.kill('SIGKILL'));
    const port = Number((await next<[Buffer]>(child.stdout!, 'data', 20_000))[0].toString().trim());
    const clients = await Promise.all([0, 1, 2, 3].map(() => lib.connect(`ws://127.0.0.1:${port}`)));
    const MESSAGES = 4000;
    for (let round = 0; round < MESSAGES / clients.length; round++) {
      await Promise.all(clients.map(async (c) => {
        const reply = next(c, 'message', 10_000);
        c.send('x'.repeat(512));
        await reply;
      }));
    }
    for (const c of clients) c.terminate();
    child.stdin!.end();
    await within(new Promise((r) => child.once('exit', r)), 20_000, 'the traced server to exit');
    const table = fs.readFileSync(out, 'utf8');
    const calls = (name: string) => Number(new RegExp(`\\s(\\d+)(?:\\s+\\d+)?\\s+${name}\\n`).exec(table)?.[1] ?? 0);
    const socketCalls = ['recvfrom', 'recvmsg', 'sendto', 'sendmsg', 'writev', 'readv'].reduce((n, s) => n + calls(s), 0);
    expect(socketCalls, table).toBeLessThan(40);  // none per message (a handful at start-up: Node's own)
    expect(calls('accept4') + calls('accept'), table).toBe(0);  // the multishot accept took the 4 connections
    expect(calls('io_uring_enter'), table).toBeGreaterThan(0);
    expect(calls('io_uring_enter'), table).toBeLessThan(MESSAGES);
    expect(spawnSync(STRACE, ['-V']).status).toBe(0);
  }, 120_000);
});
