// Which link the conformance suite runs over: plain TCP (default), or native TLS when
// SOCKUDO_WS_TEST_TLS=1 (`npm test` runs the whole suite a second time that way). The raw peers
// then speak TLS through Node's tls module (an independent TLS stack), our server gets a `tls`
// option and our client a wss:// URL trusting the test CA; every case body stays the same.
import { once } from 'node:events';
import * as net from 'node:net';
import * as tls from 'node:tls';

import { within } from '../js/helpers';
import { tlsFixtures } from '../js/tls-fixtures';

export const OVER_TLS = process.env.SOCKUDO_WS_TEST_TLS === '1';

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
