// A WebSocket client over HTTP/2 (RFC 8441) built on Node's own http2 module (nghttp2 inside Node,
// an independent peer of ours) and the test helpers' frame codec: extended CONNECT on a session,
// masked frames written to the stream, frames read back from it.
import { once } from 'node:events';
import * as http2 from 'node:http2';

import { Cleanup, clientFrame, closePayload, parseFrame, type RawFrame, within } from './helpers';

export interface H2Session {
  session: http2.ClientHttp2Session;
  settings: http2.Settings;
}

/** Connects (h2c for http:, TLS with ALPN h2 for https:) and waits for the server's SETTINGS. */
export async function h2Connect(url: string, cleanup: Cleanup, options: http2.SecureClientSessionOptions = {}): Promise<H2Session> {
  const session = cleanup.add(http2.connect(url, options), (s) => s.destroy());
  session.on('error', () => { /* reported through the streams and the tests' expectations */ });
  const [settings] = await within(once(session, 'remoteSettings') as Promise<[http2.Settings]>, 5000, 'HTTP/2 SETTINGS');
  return { session, settings };
}

/** One extended CONNECT stream: its response and a frame reader. */
export class H2WebSocket {
  readonly stream: http2.ClientHttp2Stream;
  response: http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader = {};
  body = Buffer.alloc(0);
  ended = false;
  closed = false;
  #buf = Buffer.alloc(0);
  #wake: (() => void) | null = null;

  constructor(stream: http2.ClientHttp2Stream) {
    this.stream = stream;
    stream.on('response', (h) => { this.response = h; });
    stream.on('data', (d: Buffer) => {
      this.#buf = Buffer.concat([this.#buf, d]);
      this.body = this.#buf;
      this.#notify();
    });
    stream.on('end', () => {
      this.ended = true;
      this.#notify();
    });
    stream.on('close', () => {
      this.closed = true;
      this.#notify();
    });
    stream.on('error', () => { /* an RST_STREAM from the server is an outcome some tests expect */ });
  }

  /** Opens `path` with `:protocol websocket` (RFC 8441 §4) and waits for the response HEADERS. */
  static async open(h: H2Session, authority: string, path = '/', headers: http2.OutgoingHttpHeaders = {}, scheme = 'http'): Promise<H2WebSocket> {
    const stream = h.session.request({
      ':method': 'CONNECT', ':protocol': 'websocket', ':scheme': scheme, ':path': path, ':authority': authority,
      'sec-websocket-version': '13', ...headers,
    }, { endStream: false });
    const ws = new H2WebSocket(stream);
    await within(once(stream, 'response'), 5000, 'extended CONNECT response');
    return ws;
  }

  get status(): number {
    return Number(this.response[':status']);
  }

  #notify(): void {
    const w = this.#wake;
    this.#wake = null;
    w?.();
  }

  send(opcode: number, payload: Buffer | string, options: { fin?: boolean; rsv1?: boolean } = {}): void {
    const f = clientFrame(opcode, payload, { fin: options.fin ?? true });
    if (options.rsv1) f[0] = f[0]! | 0x40;
    this.stream.write(f);
  }

  text(s: string): void { this.send(1, s); }

  /** The next frame from the server. */
  frame(ms = 5000): Promise<RawFrame> {
    return within((async () => {
      for (;;) {
        const r = parseFrame(this.#buf);
        if (r !== null) {
          this.#buf = this.#buf.subarray(r.size);
          return r.frame;
        }
        if (this.ended || this.closed) throw new Error(`stream ended while waiting for a frame (${this.#buf.length} bytes buffered)`);
        await new Promise<void>((resolve) => { this.#wake = resolve; });
      }
    })(), ms, 'a frame on the HTTP/2 stream');
  }

  /** Sends a close frame, reads the server's, ends our side; returns the server's close code. */
  async close(code = 1000): Promise<number> {
    const p = Buffer.alloc(2);
    p.writeUInt16BE(code);
    this.send(8, p);
    for (;;) {
      const f = await this.frame();
      if (f.opcode === 8) {
        this.stream.end();
        return closePayload(f.payload).code;
      }
    }
  }

  /** Waits for the stream's end (END_STREAM) or close. */
  async finished(ms = 5000): Promise<void> {
    await within((async () => {
      while (!this.ended && !this.closed) await new Promise<void>((resolve) => { this.#wake = resolve; });
    })(), ms, 'the stream to end');
  }
}
