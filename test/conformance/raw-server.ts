// A scripted raw WebSocket server for driving our client: a `net` server on 127.0.0.1 that reads
// the client's upgrade request, checks it (RFC 6455 §4.1), answers 101 with the accept key
// computed here with node:crypto, and then hands the test a `ServerConn` that sends hand-built
// frames (unmasked unless a case says otherwise) and reads the client's frames.
import { once } from 'node:events';
import * as net from 'node:net';

import { type Cleanup, within } from '../js/helpers';
import { acceptFor, headerFields } from './raw-client';
import { rawServer, SCHEME } from './transport';
import { FramePeer } from './wire';

export class ServerConn extends FramePeer {
  /** The client's request head. */
  request = '';

  /** Closes our side of TCP (as a server does after the closing handshake, RFC 6455 §7.1.1). */
  endTcp(): void {
    this.sock.end();
  }
}

export class ScriptedServer {
  readonly server: net.Server;
  #pending: ServerConn[] = [];
  #waiters: ((c: ServerConn) => void)[] = [];
  /** Problems found in a client's request (a valid request leaves this empty). */
  readonly requestProblems: string[] = [];

  /** Bytes written in the same TCP write as the 101 response (frames that arrive with the handshake). */
  readonly withResponse: Buffer;

  private constructor(server: net.Server, withResponse: Buffer) {
    this.server = server;
    this.withResponse = withResponse;
  }

  static async start(cleanup: Cleanup, withResponse: Buffer = Buffer.alloc(0)): Promise<ScriptedServer> {
    const sockets = new Set<net.Socket>();
    const server = rawServer((sock) => {
      sockets.add(sock);
      sock.on('close', () => sockets.delete(sock));
      void s.#handshake(sock);
    });
    const s = new ScriptedServer(server, withResponse);
    cleanup.add(server, (srv) => new Promise<void>((resolve) => {
      for (const sock of sockets) sock.destroy();
      srv.close(() => resolve());
    }));
    server.listen(0, '127.0.0.1');
    await within(once(server, 'listening'), 5000, 'scripted server listening');
    return s;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  get url(): string {
    return `${SCHEME}://127.0.0.1:${this.port}/conformance`;
  }

  async #handshake(sock: net.Socket): Promise<void> {
    const conn = new ServerConn(sock);
    let request: string;
    try {
      request = await conn.head();
    } catch {
      sock.destroy();
      return;
    }
    const fields = headerFields(request);
    const key = fields.get('sec-websocket-key') ?? '';
    if (!/^GET \/conformance HTTP\/1\.1$/.test(request.split('\r\n')[0]!)) this.requestProblems.push(`request line: ${request.split('\r\n')[0]}`);
    if (fields.get('upgrade')?.toLowerCase() !== 'websocket') this.requestProblems.push('Upgrade is not websocket');
    if (!(fields.get('connection') ?? '').toLowerCase().split(/\s*,\s*/).includes('upgrade')) this.requestProblems.push('Connection lacks upgrade');
    if (fields.get('sec-websocket-version') !== '13') this.requestProblems.push('Sec-WebSocket-Version is not 13');
    if (Buffer.from(key, 'base64').length !== 16) this.requestProblems.push(`Sec-WebSocket-Key is not 16 bytes: ${key}`);
    if (!fields.has('host')) this.requestProblems.push('no Host');
    conn.request = request;
    const response = `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(key)}\r\n\r\n`;
    sock.write(Buffer.concat([Buffer.from(response, 'latin1'), this.withResponse]));
    const w = this.#waiters.shift();
    if (w) w(conn);
    else this.#pending.push(conn);
  }

  /** The next upgraded connection. */
  accept(ms = 5000): Promise<ServerConn> {
    const c = this.#pending.shift();
    if (c) return Promise.resolve(c);
    return within(new Promise<ServerConn>((resolve) => this.#waiters.push(resolve)), ms, 'a client connection');
  }
}
