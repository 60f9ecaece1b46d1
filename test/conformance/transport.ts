// Which link the conformance suite runs over: plain TCP (default), native TLS when
// SOCKUDO_WS_TEST_TLS=1, HTTP/2 streams when SOCKUDO_WS_TEST_H2=1, or HTTP/3 streams when
// SOCKUDO_WS_TEST_H3=1 (`npm test` runs the suite again each way). Over TLS the raw peers speak TLS
// through Node's tls module (an independent TLS stack), our server gets a `tls` option and our
// client a wss:// URL trusting the test CA. Over HTTP/2 the raw client opens each WebSocket as an
// extended CONNECT stream (RFC 8441) of its own Node http2 session (h2c) and drives the stream as
// it drives a TCP socket. Over HTTP/3 it talks TCP to aioquic (test/interop/peers/h3_bridge.py),
// which opens each WebSocket as an extended CONNECT stream (RFC 9220) of its own QUIC connection
// to our server and passes the raw client's bytes, FINs and resets through unchanged. Over HTTP/2
// and HTTP/3 only the cases against our server run (our client's own HTTP/2 and HTTP/3 tests are
// elsewhere). Every case body stays the same.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import * as path from 'node:path';
import * as readline from 'node:readline';
import * as tls from 'node:tls';

import { within } from '../js/helpers';
import { tlsFixtures } from '../js/tls-fixtures';
import { killPid, PEERS_DIR, PYTHON } from '../interop/peer-process';

export const OVER_TLS = process.env.SOCKUDO_WS_TEST_TLS === '1';
export const OVER_H2 = process.env.SOCKUDO_WS_TEST_H2 === '1';
export const OVER_H3 = process.env.SOCKUDO_WS_TEST_H3 === '1';

/**
 * A WebSocket opened as an extended CONNECT stream on a new h2c session to 127.0.0.1:port, shaped
 * like a TCP socket for the raw peers: its END_STREAM ends our side too (as a socket without
 * half-open would), destroy() resets the stream, 'close' is the stream's close. Throws unless the
 * answer is 200.
 */
export async function h2Stream(port: number, path: string, register: (s: net.Socket) => net.Socket): Promise<net.Socket> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on('error', () => { /* the streams report what matters */ });
  await within(once(session, 'remoteSettings'), 5000, 'HTTP/2 SETTINGS');
  const stream = session.request({ ':method': 'CONNECT', ':protocol': 'websocket', ':scheme': 'http', ':path': path,
    ':authority': `127.0.0.1:${port}`, 'sec-websocket-version': '13' }, { endStream: false });
  stream.on('close', () => session.close());
  // resetAndDestroy: the stream's RST (CANCEL), as a TCP socket's is an RST segment.
  const sock = Object.assign(stream, { setNoDelay: () => stream, resetAndDestroy: () => stream.close(http2.constants.NGHTTP2_CANCEL) }) as unknown as net.Socket;
  register(Object.assign(Object.create(null) as net.Socket, { destroy: () => { stream.destroy(); session.destroy(); } }));
  const [headers] = await within(once(stream, 'response') as Promise<[http2.IncomingHttpHeaders]>, 5000, 'extended CONNECT response');
  if (headers[':status'] !== 200) throw new Error(`extended CONNECT answered ${String(headers[':status'])}`);
  stream.on('end', () => stream.end());
  return sock;
}

let bridge: Promise<number> | undefined;

/** The TCP port of this test process's aioquic bridge (started once; it ends with our stdin, or is killed at exit). */
function h3Bridge(): Promise<number> {
  bridge ??= within((async () => {
    const child = spawn(PYTHON, [path.join(PEERS_DIR, 'h3_bridge.py')], { stdio: ['pipe', 'pipe', 'inherit'] });
    process.once('exit', () => killPid(child.pid));
    const lines = readline.createInterface({ input: child.stdout! });
    const [line] = await Promise.race([once(lines, 'line') as Promise<[string]>,
      once(child, 'exit').then(([code]) => { throw new Error(`h3_bridge.py exited (${String(code)}) before listening`); })]);
    lines.close();
    child.unref();
    for (const pipe of [child.stdin, child.stdout]) (pipe as unknown as net.Socket).unref();
    return (JSON.parse(line) as { port: number }).port;
  })(), 20_000, 'the aioquic bridge to listen');
  return bridge;
}

/**
 * A WebSocket opened as an extended CONNECT stream of a new QUIC connection to our server's UDP
 * port (through aioquic: see h3_bridge.py), as a TCP socket: its end is the stream's FIN, a reset
 * of it the stream's reset, and the stream's FIN or reset reaches it the same way. Throws unless
 * the answer is 200.
 */
export async function h3Stream(port: number, path: string, register: (s: net.Socket) => net.Socket): Promise<net.Socket> {
  const sock = register(net.connect(await h3Bridge(), '127.0.0.1'));
  await within(once(sock, 'connect'), 5000, 'connect to the aioquic bridge');
  sock.write(`${port} ${path}\n`);
  // The status line, read in paused mode; what follows it is put back for the raw client.
  const status = await within(new Promise<string>((resolve, reject) => {
    let got = Buffer.alloc(0);
    const done = (error?: Error) => {
      sock.off('readable', onReadable);
      sock.off('close', onClose);
      if (error) reject(error);
    };
    const onClose = () => done(new Error(`the aioquic bridge closed before the status: ${got.toString()}`));
    const onReadable = () => {
      for (let chunk = sock.read() as Buffer | null; chunk !== null; chunk = sock.read() as Buffer | null) {
        got = Buffer.concat([got, chunk]);
        const nl = got.indexOf(10);
        if (nl < 0) continue;
        done();
        if (nl + 1 < got.length) sock.unshift(got.subarray(nl + 1));
        resolve(got.subarray(0, nl).toString());
        return;
      }
    };
    sock.on('readable', onReadable);
    sock.on('close', onClose);
  }), 10_000, 'extended CONNECT over HTTP/3');
  if (status !== '200') throw new Error(`extended CONNECT over HTTP/3 answered ${status}`);
  return sock;
}

/** A raw client connection to 127.0.0.1:port, connected (and through its TLS handshake). */
export async function rawConnect(port: number, register: (s: net.Socket) => net.Socket = (s) => s): Promise<net.Socket> {
  if (!OVER_TLS) {
    const sock = register(net.connect(port, '127.0.0.1'));
    await within(once(sock, 'connect'), 5000, 'tcp connect');
    return sock;
  }
  const f = tlsFixtures();
  const sock = register(tls.connect({ port, host: '127.0.0.1', ca: f.ca.cert, servername: 'localhost' }));
  await within(once(sock, 'secureConnect'), 5000, 'tls connect');
  return sock;
}

/** A raw server whose `onSocket` gets each connection once it can carry bytes. */
export function rawServer(onSocket: (s: net.Socket) => void): net.Server {
  if (!OVER_TLS) return net.createServer(onSocket);
  const f = tlsFixtures();
  return tls.createServer({ key: f.server.key, cert: f.server.cert }, onSocket);
}

/** Options for our WebSocketServer on this link. */
export function serverOptions(): Record<string, unknown> {
  if (OVER_H2) return { http2: true, http2Cleartext: true };
  if (OVER_H3) {
    const f = tlsFixtures();
    return { tls: { key: f.server.key, cert: f.server.cert }, http3: true };
  }
  if (!OVER_TLS) return {};
  const f = tlsFixtures();
  return { tls: { key: f.server.key, cert: f.server.cert } };
}

/** Options for our client on this link. */
export function clientOptions(): Record<string, unknown> {
  return OVER_TLS ? { ca: tlsFixtures().ca.cert } : {};
}

/** The URL scheme our client uses on this link. */
export const SCHEME = OVER_TLS ? 'wss' : 'ws';
