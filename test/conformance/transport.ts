// Which link the conformance suite runs over: plain TCP (default), native TLS when
// SOCKUDO_WS_TEST_TLS=1, or HTTP/2 streams when SOCKUDO_WS_TEST_H2=1 (`npm test` runs the suite
// again each way). Over TLS the raw peers speak TLS through Node's tls module (an independent TLS
// stack), our server gets a `tls` option and our client a wss:// URL trusting the test CA. Over
// HTTP/2 the raw client opens each WebSocket as an extended CONNECT stream (RFC 8441) of its own
// Node http2 session (h2c) and drives the stream as it drives a TCP socket; only the cases against
// our server run (our client speaks HTTP/1.1). Every case body stays the same.
import { once } from 'node:events';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import * as tls from 'node:tls';

import { within } from '../js/helpers';
import { tlsFixtures } from '../js/tls-fixtures';

export const OVER_TLS = process.env.SOCKUDO_WS_TEST_TLS === '1';
export const OVER_H2 = process.env.SOCKUDO_WS_TEST_H2 === '1';

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
