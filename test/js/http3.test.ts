// The HTTP/3 server's options and its QUIC endpoint's stateless answers, driven from Node's dgram
// (no QUIC library needed): RFC 9000 §6 Version Negotiation, §10.3 Stateless Reset, and garbage
// that must leave the server and its other connections untouched. The full protocol is exercised
// against aioquic in test/interop/http3.test.ts.
import * as dgram from 'node:dgram';
import type * as net from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket as WsClient } from 'ws';

import { Cleanup, loadPackage, next, waitUntil, within } from './helpers';
import { opensslMissing, tlsFixtures } from './tls-fixtures';

const lib = loadPackage();
const cleanup = new Cleanup();
afterEach(() => cleanup.run());

async function h3Server(options: Record<string, unknown> = {}) {
  const f = tlsFixtures();
  const wss = cleanup.add(new lib.WebSocketServer({ port: 0, host: '127.0.0.1', http3: true, tls: { key: f.server.key, cert: f.server.cert }, ...options }),
    (s) => s.close());
  await next(wss, 'listening');
  return { wss, port: (wss.address() as net.AddressInfo).port };
}

/** A UDP socket on 127.0.0.1 that collects what comes back. */
async function udpPeer() {
  const sock = cleanup.add(dgram.createSocket('udp4'), (s) => s.close());
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
  const received: Buffer[] = [];
  sock.on('message', (m) => received.push(m));
  return { sock, received, send: (port: number, b: Buffer) => new Promise<void>((r) => sock.send(b, port, '127.0.0.1', () => r())) };
}

describe('http3 options', () => {
  it('are validated with typed errors', () => {
    expect(() => new lib.WebSocketServer({ port: 0, http3: true })).toThrow(/needs "tls"/);
    expect(() => new lib.WebSocketServer({ port: 0, http3MaxStreams: 5 })).toThrow(/only applies together with "http3: true"/);
    expect(() => new lib.WebSocketServer({ noServer: true, http3: true })).toThrow(/only applies together with "port"/);
    const f = tlsFixtures();
    const tls = { key: f.server.key, cert: f.server.cert };
    for (const bad of [{ http3IdleTimeout: 999 }, { http3WindowSize: 10 }, { http3MaxStreams: 0 }, { http3ConnectionWindowSize: 1.5 }]) {
      let error: unknown;
      try {
        new lib.WebSocketServer({ port: 0, tls, http3: true, ...bad });
      } catch (e) {
        error = e;
      }
      expect((error as { code?: string }).code, JSON.stringify(bad)).toMatch(/^ERR_(OUT_OF_RANGE|INVALID_ARG_VALUE)$/);
    }
  });
});

describe.skipIf(opensslMissing() !== null)('port 0 with http3', () => {
  it('picks another port when the number the kernel chose over TCP is taken over UDP (it once failed with EADDRINUSE)', async () => {
    // A third of the ephemeral range held over UDP on 127.0.0.1: a listen(0) lands on one of them
    // one time in three, and twelve servers in a row all missed with the old code 0.8 % of the time.
    const [low, high] = (await import('node:fs')).readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    const held: dgram.Socket[] = [];
    cleanup.add(held, (list) => Promise.all(list.map((s) => new Promise<void>((r) => s.close(() => r())))));
    await Promise.all(Array.from({ length: Math.floor((high! - low!) / 3) }, (_, i) => new Promise<void>((resolve) => {
      const s = dgram.createSocket('udp4');
      s.once('error', () => { s.close(); resolve(); });  // in use already: someone else holds it
      s.bind(low! + 3 * i, '127.0.0.1', () => { held.push(s); resolve(); });
    })));
    expect(held.length).toBeGreaterThan((high! - low!) / 4);
    const ports: number[] = [];
    for (let i = 0; i < 12; i++) {
      const { wss, port } = await h3Server();
      ports.push(port);
      wss.close();
    }
    expect(ports).toHaveLength(12);
  }, 60_000);
});

describe.skipIf(opensslMissing() !== null)('the QUIC endpoint without a QUIC peer', () => {
  it('a long-header packet of an unknown version gets Version Negotiation listing QUIC v1 and v2 (RFC 9000 §6, RFC 9369)', async () => {
    const { port } = await h3Server();
    const peer = await udpPeer();
    const dcid = Buffer.from('0123456789abcdef', 'hex');
    const scid = Buffer.from('a1a2a3a4', 'hex');
    const pkt = Buffer.concat([Buffer.from([0xc0]), Buffer.from('1a2a3a4a', 'hex'), Buffer.from([dcid.length]), dcid, Buffer.from([scid.length]), scid,
      Buffer.alloc(1200 - 1 - 4 - 1 - dcid.length - 1 - scid.length)]);
    await peer.send(port, pkt);
    await waitUntil(() => peer.received.length > 0, 'a Version Negotiation packet');
    const vn = peer.received[0]!;
    expect(vn[0]! & 0x80).toBe(0x80);
    expect(vn.readUInt32BE(1)).toBe(0);  // §17.2.1: version 0
    // Its destination is our source ID and vice versa.
    expect(vn.subarray(6, 6 + vn[5]!)).toEqual(scid);
    const sOff = 6 + vn[5]!;
    expect(vn.subarray(sOff + 1, sOff + 1 + vn[sOff]!)).toEqual(dcid);
    const versions: number[] = [];
    for (let o = sOff + 1 + vn[sOff]!; o + 4 <= vn.length; o += 4) versions.push(vn.readUInt32BE(o));
    expect(versions).toEqual(expect.arrayContaining([0x00000001, 0x6b3343cf]));
  });

  it('a short-header packet for no connection gets a Stateless Reset smaller than itself; tiny packets get nothing (RFC 9000 §10.3)', async () => {
    const { port } = await h3Server();
    const peer = await udpPeer();
    const dcid = Buffer.alloc(18, 0x42);
    await peer.send(port, Buffer.concat([Buffer.from([0x40]), dcid, Buffer.alloc(60, 7)]));
    await waitUntil(() => peer.received.length > 0, 'a Stateless Reset');
    const reset = peer.received[0]!;
    expect(reset[0]! & 0xc0).toBe(0x40);  // looks like a short-header packet
    expect(reset.length).toBeLessThan(1 + 18 + 60);
    expect(reset.length).toBeGreaterThanOrEqual(21);
    // The same ID gets the same token (derived from the server's secret), in the last 16 bytes.
    await peer.send(port, Buffer.concat([Buffer.from([0x40]), dcid, Buffer.alloc(40, 9)]));
    await waitUntil(() => peer.received.length > 1, 'a second Stateless Reset');
    expect(peer.received[1]!.subarray(-16)).toEqual(reset.subarray(-16));
    // Too small to be answered with something smaller (§10.3.3).
    const before = peer.received.length;
    await peer.send(port, Buffer.concat([Buffer.from([0x40]), dcid.subarray(0, 4)]));
    await new Promise((r) => setTimeout(r, 200));
    expect(peer.received.length).toBe(before);
  });

  it('garbage datagrams (random bytes, truncated Initials, oversized) are dropped: a wss:// WebSocket on the same port keeps echoing', async () => {
    const { wss, port } = await h3Server();
    wss.on('connection', (ws) => ws.on('message', (d, b) => ws.send(d, { binary: b })));
    const f = tlsFixtures();
    const client = cleanup.add(new WsClient(`wss://127.0.0.1:${port}/`, { ca: f.ca.cert }), (c) => c.terminate());
    await next(client, 'open', 10_000);
    const peer = await udpPeer();
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 255;
    for (let i = 0; i < 300; i++) {
      const len = [1, 5, 20, 100, 1199, 1200, 1500][i % 7]!;
      const b = Buffer.alloc(len, 0).map(() => rand());
      if (i % 3 === 0) b[0] = 0xc0 | (b[0]! & 0x0f);  // a long header with junk after it
      if (i % 3 === 0 && len >= 5) b.writeUInt32BE(1, 1);  // ...claiming QUIC v1
      await peer.send(port, Buffer.from(b));
    }
    await peer.send(port, Buffer.alloc(4000, 0xc3)).catch(() => undefined);  // larger than any datagram we read
    const reply = next<[Buffer]>(client, 'message', 5000);
    client.send('still here');
    expect(String((await reply)[0])).toBe('still here');
    expect(wss.clients.size).toBe(1);
  });

  it('close() releases the UDP port (a new server binds it)', async () => {
    const { wss, port } = await h3Server();
    await within(wss.close(), 5000, 'close');
    await new Promise((r) => setTimeout(r, 50));
    const peer = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      peer.once('error', reject);
      peer.bind(port, '127.0.0.1', resolve);
    });
    peer.close();
  });
});
