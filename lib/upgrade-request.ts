/**
 * What the server's upgrade hook and `connection` listeners see about a request, and what the
 * hook answers. The request was already checked against RFC 6455 §4.2.1 by the native core
 * (method, version, key, Upgrade/Connection); invalid ones never reach JavaScript.
 */
import type { IncomingMessage } from 'node:http';

import type { OutgoingHeaders } from './options.js';

/** Accepts the upgrade. */
export interface AcceptDecision<Data> {
  accept: true;
  /** Extra response header fields (handshake fields such as Upgrade or Sec-WebSocket-* are refused). */
  headers?: OutgoingHeaders;
  /** Per-socket user data, available as `ws.data`. */
  data?: Data;
  /** The subprotocol to select (one the client offered), `false` for none; omitted: `handleProtocols` / the first offered. */
  protocol?: string | false;
}

/** Refuses the upgrade with an HTTP response. */
export interface RejectDecision {
  accept: false;
  /** HTTP status, 200..599 (401, 403, 404, 429, ... are typical). */
  status: number;
  headers?: OutgoingHeaders;
  body?: string | Uint8Array;
}

/** The upgrade hook's answer. */
export type UpgradeDecision<Data> = AcceptDecision<Data> | RejectDecision;

/**
 * An upgrade request as the server hook and `connection` listeners see it. It is the same for
 * every transport: an HTTP/1.1 `GET` with `Upgrade: websocket` (RFC 6455 §4.1) or an extended
 * CONNECT on an HTTP/2 stream (RFC 8441; `method` is then `CONNECT`): `httpVersion` says which,
 * and `authority`, `path`, `headers`, `protocols` and `extensions` read the same either way
 * (`rawHeaders` never holds HTTP/2 pseudo-header fields).
 */
export class UpgradeRequest {
  /** Request method: GET for HTTP/1.1 upgrades, CONNECT on HTTP/2. */
  readonly method: string;
  /** The request target as sent: path and query, e.g. `/chat?room=1`. */
  readonly url: string;
  /** Header fields as received: `[name, value, name, value, ...]`, original case and order. */
  readonly rawHeaders: readonly string[];
  /** Subprotocols the client offered, in its order of preference. */
  readonly protocols: readonly string[];
  /** Peer address (for adopted TLS / Duplex connections: the Duplex's `remoteAddress`). */
  readonly remoteAddress: string | undefined;
  /** Peer port. */
  readonly remotePort: number | undefined;
  /** Whether the request arrived over TLS (`handleUpgrade()` with a TLS socket). */
  readonly secure: boolean;
  /** The Node request object when the upgrade came through `handleUpgrade()` / the `server` option. */
  readonly incoming: IncomingMessage | undefined;
  /**
   * The HTTP version the request came over: `'1.1'` (an Upgrade request), `'2'` (an extended
   * CONNECT stream on an HTTP/2 connection, RFC 8441) or `'3'` (RFC 9220).
   */
  readonly httpVersion: '1.1' | '2' | '3';
  #authority: string | undefined;
  #headers: Record<string, string> | undefined;
  #query: URLSearchParams | undefined;

  /** @internal Built by the server. */
  constructor(method: string, url: string, rawHeaders: readonly string[], protocols: readonly string[], remoteAddress: string | undefined,
    remotePort: number | undefined, secure: boolean, incoming: IncomingMessage | undefined, httpVersion: '1.1' | '2' | '3' = '1.1',
    authority?: string) {
    this.httpVersion = httpVersion;
    this.#authority = authority === '' ? undefined : authority;
    this.method = method;
    this.url = url;
    this.rawHeaders = rawHeaders;
    this.protocols = protocols;
    this.remoteAddress = remoteAddress;
    this.remotePort = remotePort;
    this.secure = secure;
    this.incoming = incoming;
  }

  /** Header fields by lower-cased name; repeated fields joined with ", " (Node's `IncomingMessage.headers` style). */
  get headers(): Readonly<Record<string, string>> {
    return (this.#headers ??= headerRecord(this.rawHeaders));
  }

  /** The authority the client asked for: the Host header (HTTP/1.1) or `:authority` (HTTP/2, HTTP/3). */
  get authority(): string | undefined {
    return this.#authority ?? this.headers.host;
  }

  /** The permessage extensions the client offered (Sec-WebSocket-Extensions), one entry per offer with its parameters. */
  get extensions(): readonly string[] {
    const v = this.headers['sec-websocket-extensions'];
    return v === undefined ? [] : v.split(',').map((e) => e.trim()).filter((e) => e !== '');
  }

  /** The path part of `url` (before `?`). */
  get path(): string {
    const q = this.url.indexOf('?');
    return q < 0 ? this.url : this.url.slice(0, q);
  }

  /** The query part of `url`, parsed. */
  get query(): URLSearchParams {
    if (this.#query === undefined) {
      const q = this.url.indexOf('?');
      this.#query = new URLSearchParams(q < 0 ? '' : this.url.slice(q + 1));
    }
    return this.#query;
  }
}

/** `[name, value, ...]` → `{ lowercasename: value }`, repeated fields joined with ", ". */
export function headerRecord(flat: readonly string[]): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const name = flat[i]!.toLowerCase();
    const value = flat[i + 1]!;
    const prev = out[name];
    out[name] = prev === undefined ? value : `${prev}, ${value}`;
  }
  return out;
}

/** Parses `Name: value\r\n` lines (a response head without its status line) into a header record. */
export function parseHeaderLines(raw: string): Record<string, string> {
  const flat: string[] = [];
  for (const line of raw.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    flat.push(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  return headerRecord(flat);
}
