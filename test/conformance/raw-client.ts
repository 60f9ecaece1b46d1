// A raw-socket WebSocket client for driving our server byte by byte: the opening handshake is
// written and checked by hand (RFC 6455 §4.1/§4.2.2), frames are built by `encodeFrame` (masked
// unless a case says otherwise) and written in any split, and the server's frames are read with
// `FramePeer`'s strict decoder.
import { createHash, randomBytes } from 'node:crypto';
import { type Cleanup } from '../js/helpers';
import { h2Stream, h3Stream, OVER_H2, OVER_H3, rawConnect } from './transport';
import { FramePeer } from './wire';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export function acceptFor(key: string): string {
  return createHash('sha1').update(key + GUID).digest('base64');
}

/** Header fields of an HTTP head (names lower-cased; repeated fields joined with ", "). */
export function headerFields(head: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of head.split('\r\n').slice(1)) {
    if (line === '') continue;
    const i = line.indexOf(':');
    const name = line.slice(0, i).trim().toLowerCase();
    const value = line.slice(i + 1).trim();
    fields.set(name, fields.has(name) ? `${fields.get(name)}, ${value}` : value);
  }
  return fields;
}

export class RawClient extends FramePeer {
  /** The server's 101 response head. */
  response = '';

  /**
   * Connects to 127.0.0.1:port and completes the opening handshake by hand; throws unless the
   * answer is a valid 101 (status, Upgrade, Connection, Sec-WebSocket-Accept, no extension).
   */
  static async open(port: number, cleanup: Cleanup, path = '/'): Promise<RawClient> {
    if (OVER_H2) {
      const client = new RawClient(await h2Stream(port, path, (s) => cleanup.add(s, (x) => x.destroy())));
      client.response = 'HTTP/2 200 (extended CONNECT)';
      return client;
    }
    if (OVER_H3) {
      const client = new RawClient(await h3Stream(port, path, (s) => cleanup.add(s, (x) => x.destroy())));
      client.response = 'HTTP/3 200 (extended CONNECT)';
      return client;
    }
    const sock = await rawConnect(port, (s) => cleanup.add(s, (x) => x.destroy()));
    const client = new RawClient(sock);
    const key = randomBytes(16).toString('base64');
    sock.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    const head = await client.head();
    const fields = headerFields(head);
    const problems: string[] = [];
    if (!/^HTTP\/1\.1 101 /.test(head)) problems.push('status is not 101');
    if (fields.get('upgrade')?.toLowerCase() !== 'websocket') problems.push('Upgrade is not websocket');
    if (!(fields.get('connection') ?? '').toLowerCase().split(/\s*,\s*/).includes('upgrade')) problems.push('Connection lacks upgrade');
    if (fields.get('sec-websocket-accept') !== acceptFor(key)) problems.push('wrong Sec-WebSocket-Accept');
    if (fields.has('sec-websocket-extensions')) problems.push('an extension was negotiated that we did not offer');
    if (problems.length > 0) throw new Error(`invalid handshake response (${problems.join('; ')}):\n${head}`);
    client.response = head;
    return client;
  }

  /** Client frames are masked (RFC 6455 §5.3) unless a case says otherwise. */
  protected override readonly masks = true;
}
