/**
 * The `ws` drop-in's client opening handshake. Node's http/https client sends the upgrade request,
 * as in `ws` (ws/lib/websocket.js initAsClient is the reference for what is observable), so every
 * option `ws` passes on to `http.request` works (agent, lookup, family, localAddress,
 * createConnection, the TLS options of wss:) and the events carry Node's own objects: 'redirect'
 * (url, http.ClientRequest), 'upgrade' (http.IncomingMessage), 'unexpected-response' (req, res).
 * `ws+unix:` URLs connect to a unix socket.
 *
 * The 101 and the socket then go to the native core, which validates the response as for its own
 * requests (RFC 6455 §4.1; binding adoptClient) and runs the connection: a TCP or unix socket by
 * its file descriptor (our transport from then on), a TLS socket or any other stream through a
 * DuplexLink (Node keeps the TLS).
 */
import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import { unescape } from 'node:querystring';
import type { Duplex } from 'node:stream';
import * as tls from 'node:tls';

import { adoptableFd, rawResponseHead, releaseToNative, takeBuffered } from '../adopt.js';
import { watchOpening } from '../client.js';
import { DuplexLink } from '../duplex-link.js';
import { native, type NativeSocket } from '../native.js';
import { clientConfig, type ClientConfig, type ClientOptions as NativeClientOptions } from '../options.js';
import { internals, type WebSocket as Native } from '../websocket.js';

/** What the opening needs from the drop-in's WebSocket. */
export interface OpeningHost {
  /** The drop-in's WebSocket itself (what finishRequest receives). */
  readonly websocket: unknown;
  emit(event: string, ...args: unknown[]): boolean;
  listenerCount(event: string): number;
  readonly readyState: number;
  /** `ws.url` (it follows redirects). */
  setUrl(url: string): void;
  /** ws's emitErrorAndClose: 'error', then 'close' 1006. */
  failOpening(error: Error): void;
  /** readyState CLOSING at once (ws's abortHandshake), before the error that follows on a later tick. */
  markClosing(): void;
  /** The server accepted: the open native socket. */
  opened(socket: Native): void;
}

/** The drop-in's client options: ws 8's, plus whatever http.request / https.request take. */
export type OpeningOptions = Record<string, unknown> & {
  followRedirects?: boolean;
  maxRedirects?: number;
  handshakeTimeout?: number;
  headers?: Record<string, string | string[] | number>;
  origin?: string;
  finishRequest?: (req: http.ClientRequest, ws: unknown) => void;
};

const SUBPROTOCOL = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const CONNECTING = 0;

function netConnect(options: Record<string, unknown>): net.Socket {
  return net.connect({ ...options, path: options.socketPath } as net.NetConnectOpts);
}

function tlsConnect(options: Record<string, unknown>): tls.TLSSocket {
  const host = String(options.host ?? '');
  const servername = options.servername ?? (net.isIP(host) !== 0 ? '' : host);
  return tls.connect({ ...options, path: undefined, servername } as tls.ConnectionOptions);
}

/**
 * One client's way to an open connection, across redirects: `start()` sends a request; close() or
 * terminate() while it runs calls `abort()`.
 */
export class ClientOpening {
  readonly #host: OpeningHost;
  readonly #protocols: string[];
  #options: OpeningOptions;
  readonly #config: ClientConfig;
  readonly #offer: string;
  #redirects = 0;
  #req: http.ClientRequest | null = null;
  #aborted = false;
  #original: { ipc: boolean; secure: boolean; hostOrSocketPath: string } | null = null;

  /** `nativeOptions`: the connection settings the native core runs the connection with. */
  constructor(host: OpeningHost, protocols: string[], options: OpeningOptions, nativeOptions: NativeClientOptions) {
    this.#host = host;
    this.#protocols = protocols;
    this.#options = options;
    this.#config = clientConfig(nativeOptions);
    this.#offer = native.deflateOffer(this.#config.connection);
  }

  get redirects(): number {
    return this.#redirects;
  }

  /** The request in flight (null once answered or aborted). */
  get request(): http.ClientRequest | null {
    return this.#req;
  }

  /** Sends the request for `address`. Throws ws's SyntaxError for a bad first URL; a bad redirect target fails the opening. */
  start(address: string | URL): void {
    let url: URL;
    try {
      url = new URL(address);  // a copy: the caller's URL object is left as it was
    } catch {
      this.#invalid(new SyntaxError(`Invalid URL: ${String(address)}`));
      return;
    }
    if (url.protocol === 'http:') url.protocol = 'ws:';
    else if (url.protocol === 'https:') url.protocol = 'wss:';
    this.#host.setUrl(url.href);
    const secure = url.protocol === 'wss:';
    const ipc = url.protocol === 'ws+unix:';
    let invalid: string | undefined;
    if (url.protocol !== 'ws:' && !secure && !ipc) invalid = 'The URL\'s protocol must be one of "ws:", "wss:", "http:", "https:", or "ws+unix:"';
    else if (ipc && !url.pathname) invalid = "The URL's pathname is empty";
    else if (url.hash) invalid = 'The URL contains a fragment identifier';
    if (invalid !== undefined) {
      this.#invalid(new SyntaxError(invalid));
      return;
    }
    for (let i = 0; i < this.#protocols.length; i++) {
      const p = this.#protocols[i];
      if (typeof p !== 'string' || !SUBPROTOCOL.test(p) || this.#protocols.indexOf(p) !== i) {
        throw new SyntaxError('An invalid or duplicated subprotocol was specified');
      }
    }
    const key = randomBytes(16).toString('base64');
    const defaultPort = secure ? 443 : 80;
    const user = this.#options;
    const opts: Record<string, unknown> & { headers: Record<string, unknown> } = {
      ...user,
      createConnection: user.createConnection ?? (secure ? tlsConnect : netConnect),
      defaultPort: user.defaultPort ?? defaultPort,
      socketPath: undefined,
      hostname: undefined,
      protocol: undefined,
      protocols: undefined,
      timeout: user.handshakeTimeout,
      method: 'GET',
      host: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
      port: url.port || defaultPort,
      path: url.pathname + url.search,
      headers: { ...user.headers, 'Sec-WebSocket-Version': 13, 'Sec-WebSocket-Key': key, Connection: 'Upgrade', Upgrade: 'websocket' },
    };
    if (this.#offer !== '') opts.headers['Sec-WebSocket-Extensions'] = this.#offer;
    if (this.#protocols.length > 0) opts.headers['Sec-WebSocket-Protocol'] = this.#protocols.join(',');
    if (typeof user.origin === 'string' && user.origin !== '') opts.headers.Origin = user.origin;
    if (url.username || url.password) opts.auth = `${unescape(url.username)}:${unescape(url.password)}`;
    if (ipc) {
      // ws+unix:/path/to/socket:/request/path — the socket path ends at the first colon.
      const path = String(opts.path);
      const colon = path.indexOf(':');
      opts.socketPath = colon === -1 ? path : path.slice(0, colon);
      opts.path = colon === -1 ? '' : path.slice(colon + 1);
    }
    const req = this.#send(opts, url, ipc, secure);
    this.#listen(req, url, key, secure);
  }

  /** The request, with ws's rules for the headers a redirect keeps (curl's: credentials stay on the same host and scheme). */
  #send(opts: Record<string, unknown> & { headers: Record<string, unknown> }, url: URL, ipc: boolean, secure: boolean): http.ClientRequest {
    const request = secure ? https.request : http.request;
    if (this.#options.followRedirects !== true) return this.#req = request(opts as https.RequestOptions);
    if (this.#redirects === 0) {
      this.#original = { ipc, secure, hostOrSocketPath: ipc ? String(opts.socketPath) : url.host };
      // Lower-cased copies, so that a redirect can drop them without touching the caller's object.
      const headers: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(this.#options.headers ?? {})) headers[k.toLowerCase()] = v;
      this.#options = { ...this.#options, headers: headers as NonNullable<OpeningOptions['headers']> };
    } else if (this.#host.listenerCount('redirect') === 0) {
      const o = this.#original!;
      const sameHost = ipc ? o.ipc && opts.socketPath === o.hostOrSocketPath : !o.ipc && url.host === o.hostOrSocketPath;
      if (!sameHost || (o.secure && !secure)) {
        delete opts.headers.authorization;
        delete opts.headers.cookie;
        if (!sameHost) delete opts.headers.host;
        opts.auth = undefined;
      }
    }
    const own = this.#options.headers as Record<string, unknown>;
    // The first Authorization wins (curl's rule): the URL's credentials go on as a header.
    if (opts.auth && !own.authorization) own.authorization = `Basic ${Buffer.from(String(opts.auth)).toString('base64')}`;
    const req = this.#req = request(opts as https.RequestOptions);
    // A listener may close the WebSocket or change the request's headers; the request goes on (as in ws).
    if (this.#redirects > 0) this.#host.emit('redirect', url.href, req);
    return req;
  }

  #listen(req: http.ClientRequest, url: URL, key: string, secure: boolean): void {
    const host = this.#host;
    if (this.#options.handshakeTimeout) {
      req.on('timeout', () => {
        if (this.#req === req) this.#abortRequest(req, 'Opening handshake has timed out');
      });
    }
    req.on('error', (error) => {
      if (this.#req !== req || this.#aborted) return;
      this.#req = null;
      host.failOpening(error);
    });
    req.on('response', (res) => {
      const location = res.headers.location;
      const status = res.statusCode ?? 0;
      if (location && this.#options.followRedirects === true && status >= 300 && status < 400) {
        if (++this.#redirects > (this.#options.maxRedirects ?? 10)) {
          this.#abortRequest(req, 'Maximum redirects exceeded');
          return;
        }
        req.destroy();
        let next: URL;
        try {
          next = new URL(location, url);
        } catch {
          host.failOpening(new SyntaxError(`Invalid URL: ${location}`));
          return;
        }
        this.start(next);
      } else if (!host.emit('unexpected-response', req, res)) {
        this.#abortRequest(req, `Unexpected server response: ${status}`);
      }
    });
    req.on('upgrade', (res: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      host.emit('upgrade', res);
      if (host.readyState !== CONNECTING) return;  // a listener closed it
      this.#req = null;
      this.#adopt(res, socket, head, url, key, secure);
    });
    if (typeof this.#options.finishRequest === 'function') this.#options.finishRequest(req, host.websocket);
    else req.end();
  }

  /** Hands the upgraded socket to the native core, which validates the 101 and runs the connection. */
  #adopt(res: http.IncomingMessage, socket: Duplex, head: Buffer, url: URL, key: string, secure: boolean): void {
    const config = this.#config;
    const s = socket as Duplex & { remoteAddress?: string; remotePort?: number };
    const fd = adoptableFd(socket);
    const link = fd === undefined ? new DuplexLink(socket) : null;
    (socket as Duplex & { setTimeout?: (ms: number) => unknown }).setTimeout?.(0);  // handshakeTimeout bounded the opening only (as in ws)
    const ws = internals.create<unknown>({
      socket: null, protocol: '', remoteAddress: s.remoteAddress, remotePort: s.remotePort, url: url.href, data: undefined, link,
      onClosed: null, onSubscription: null,
    });
    const bytes = [rawResponseHead(res), head, ...takeBuffered(socket)];
    let ns: NativeSocket;
    try {
      ns = native.adoptClient({
        ...config.connection, handshakeTimeout: 0, transport: config.transport, key,
        host: url.protocol === 'ws+unix:' ? 'localhost' : url.hostname, port: Number(url.port) || (secure ? 443 : 80), secure,
        path: '/', protocols: this.#protocols, origin: '', headers: [],
      }, ws, fd ?? -1);
    } catch (error) {
      this.#abortSocket(socket, (error as Error).message);
      return;
    }
    watchOpening(ws, ns, undefined, (open) => {
      // ws's rule, stricter than RFC 6455 §4.1 (which lets a server select none of the offers).
      if (this.#protocols.length > 0 && open.protocol === '') {
        open.terminate();
        this.#failLater(new Error('Server sent no subprotocol'));
        return;
      }
      this.#host.opened(open);
    }, (error) => {
      this.#failLater(new Error(this.#wsMessage((error as { code?: string }).code ?? '', error.message)));
    }, (_status, message) => message);
    if (link === null) {
      releaseToNative(socket);
      ns.feed(Buffer.concat(bytes));
    } else {
      link.attach(ns, bytes);
    }
  }

  /** close() / terminate() before the connection opened. */
  abort(message: string): void {
    const req = this.#req;
    if (req !== null) {
      this.#abortRequest(req, message);
      return;
    }
    this.#aborted = true;
    this.#failLater(new Error(message));
  }

  /** ws's abortHandshake: readyState CLOSING now, 'error' and 'close' on a later tick. */
  #failLater(error: Error): void {
    this.#host.markClosing();
    process.nextTick(() => this.#host.failOpening(error));
  }

  /** ws's abortHandshake for a request: destroy it (and its socket), then 'error' and 'close'. */
  #abortRequest(req: http.ClientRequest, message: string): void {
    this.#aborted = true;
    this.#req = null;
    req.destroy();
    if (req.socket && !req.socket.destroyed) req.socket.destroy();
    this.#failLater(new Error(message));
  }

  /** ws's abortHandshake for an upgraded socket. */
  #abortSocket(socket: Duplex, message: string): void {
    this.#aborted = true;
    socket.destroy();
    this.#failLater(new Error(message));
  }

  /** ws's message for a 101 the native validation refused (its code is a WS_ERR_HANDSHAKE_*). */
  #wsMessage(code: string, message: string): string {
    switch (code) {
      case 'WS_ERR_HANDSHAKE_BAD_UPGRADE': return 'Invalid Upgrade header';
      case 'WS_ERR_HANDSHAKE_BAD_ACCEPT': return 'Invalid Sec-WebSocket-Accept header';
      case 'WS_ERR_HANDSHAKE_BAD_CONNECTION': return 'Invalid Connection header';
      case 'WS_ERR_HANDSHAKE_BAD_PROTOCOL':
        return this.#protocols.length === 0 ? 'Server sent a subprotocol but none was requested' : 'Server sent an invalid subprotocol';
      case 'WS_ERR_HANDSHAKE_BAD_EXTENSION': {
        if (this.#offer === '') return 'Server sent a Sec-WebSocket-Extensions header but no extension was requested';
        // The core's reason tells a header that parses but names another extension from one that does not parse.
        if (message === 'server accepted an extension that was not offered') return 'Server indicated an extension that was not requested';
        return 'Invalid Sec-WebSocket-Extensions header';
      }
      default: return message;
    }
  }

  #invalid(error: SyntaxError): void {
    if (this.#redirects === 0) throw error;
    this.#host.failOpening(error);
  }
}
