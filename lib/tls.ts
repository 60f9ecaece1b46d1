/**
 * TLS options as Node names them (`tls.createSecureContext`, `https.createServer`, `tls.connect`),
 * validated here and turned into native TLS contexts (the addon's own OpenSSL 3.5, not Node's).
 *
 * - Server: `new WebSocketServer({ port, tls: { key, cert, ... , sni: { 'example.com': {...} } } })`
 *   and `server.setSecureContext(tlsOptions)` to rotate certificates without a restart.
 * - Client: `connect('wss://…', { ca, cert, key, rejectUnauthorized, servername, ... })`. The
 *   peer is verified by default against the roots Node trusts: `tls.rootCertificates` plus the
 *   file named by `NODE_EXTRA_CA_CERTS` (read once, as Node does).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';

import { InvalidArgumentTypeError, InvalidArgumentValueError, TlsContextError, type TlsContextErrorCode } from './errors.js';
import { boolOption, intOption } from './validate.js';
import { native, type NativeTlsContext, type NativeTlsOptions, type NativeTlsServer } from './native.js';

/** PEM text or its bytes. */
export type PemInput = string | Buffer;

/** What `tls.createSecureContext()` takes, for the parts a WebSocket server or client uses. */
export interface SecureContextOptions {
  /** Private key(s) in PEM (several for several certificate types, e.g. RSA and ECDSA). */
  key?: PemInput | readonly PemInput[];
  /** Certificate chain(s) in PEM: the leaf first, then intermediates. */
  cert?: PemInput | readonly PemInput[];
  /** Trusted CA certificates in PEM. Server: verifies client certificates (`requestCert`). Client: replaces the default roots. */
  ca?: PemInput | readonly PemInput[];
  /** PKCS#12 bundle(s) (key, certificate, chain), DER bytes. */
  pfx?: Buffer | readonly Buffer[];
  /** Passphrase for an encrypted `key` or `pfx`. */
  passphrase?: string;
  /** OpenSSL cipher list; TLS 1.3 suites (`TLS_*`) may be mixed in, as in Node. Default: OpenSSL's. */
  ciphers?: string;
  /** Lowest TLS version accepted. Default `'TLSv1.2'` (as Node). */
  minVersion?: TlsVersion;
  /** Highest TLS version accepted. Default `'TLSv1.3'`. */
  maxVersion?: TlsVersion;
}

export type TlsVersion = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';

/** A server's `tls` option. */
export interface TlsServerOptions extends SecureContextOptions {
  /** Ask clients for a certificate (mTLS). Default false. */
  requestCert?: boolean;
  /** With `requestCert`: refuse clients without a certificate that verifies against `ca`. Default true. */
  rejectUnauthorized?: boolean;
  /** ALPN protocols offered, in preference order. Default `['http/1.1']`. (Node's name `ALPNProtocols` is accepted too.) */
  alpnProtocols?: readonly string[];
  ALPNProtocols?: readonly string[];
  /**
   * Time the TLS handshake may take, in ms (Node's name on `tls.Server`). It also counts against
   * the server's `handshakeTimeout`, which bounds the whole opening (TLS, request, decision); set
   * this to cut slow or stalled TLS handshakes sooner. Default 0: only `handshakeTimeout`.
   */
  handshakeTimeout?: number;
  /** Certificates per server name (SNI, RFC 6066 §3): exact names or `*.example.com`; others get the default. */
  sni?: Readonly<Record<string, SecureContextOptions>>;
}

/** TLS options of `connect()` for `wss://` URLs (Node's `tls.connect` names). */
export interface TlsClientOptions extends SecureContextOptions {
  /** Refuse a server whose certificate does not verify or does not name the host. Default true. */
  rejectUnauthorized?: boolean;
  /** SNI and the name the certificate must carry. Default: the URL's host (no SNI for an IP address). */
  servername?: string;
}

const CONTEXT_KEYS = ['key', 'cert', 'ca', 'pfx', 'passphrase', 'ciphers', 'minVersion', 'maxVersion'] as const;
const SERVER_KEYS = new Set<string>([...CONTEXT_KEYS, 'requestCert', 'rejectUnauthorized', 'alpnProtocols', 'ALPNProtocols', 'sni', 'handshakeTimeout']);
const VERSIONS = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];
/** The client options `connect()` takes at the top level for wss:// (besides ConnectionOptions). */
export const CLIENT_TLS_KEYS = [...CONTEXT_KEYS, 'rejectUnauthorized', 'servername'] as const;

function list(o: Record<string, unknown>, key: string, name: string, bytesOnly = false): (string | Buffer)[] {
  const v = o[key];
  if (v === undefined) return [];
  const items = Array.isArray(v) ? v as unknown[] : [v];
  return items.map((item, i) => {
    if (Buffer.isBuffer(item) || (!bytesOnly && typeof item === 'string')) return item as string | Buffer;
    if (item instanceof Uint8Array) return Buffer.from(item.buffer, item.byteOffset, item.byteLength);
    throw new InvalidArgumentTypeError(`${name}.${key}${Array.isArray(v) ? `[${i}]` : ''}`, bytesOnly ? 'a Buffer' : 'a string or a Buffer', item);
  });
}

function str(o: Record<string, unknown>, key: string, name: string): string | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new InvalidArgumentTypeError(`${name}.${key}`, 'of type string', v);
  return v;
}

function object(v: unknown, name: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new InvalidArgumentTypeError(name, 'of type object', v);
  return v as Record<string, unknown>;
}

function version(o: Record<string, unknown>, key: string, name: string): string | undefined {
  const v = str(o, key, name);
  if (v !== undefined && !VERSIONS.includes(v)) throw new InvalidArgumentValueError(`${name}.${key}`, `must be one of ${VERSIONS.join(', ')}`, v);
  return v;
}

function contextOptions(o: Record<string, unknown>, name: string, server: boolean): NativeTlsOptions {
  return {
    server,
    key: list(o, 'key', name),
    cert: list(o, 'cert', name),
    ca: list(o, 'ca', name),
    pfx: list(o, 'pfx', name, true),
    passphrase: str(o, 'passphrase', name) ?? '',
    ciphers: str(o, 'ciphers', name) ?? '',
    minVersion: version(o, 'minVersion', name) ?? 'TLSv1.2',
    maxVersion: version(o, 'maxVersion', name) ?? 'TLSv1.3',
    requestCert: false,
    rejectUnauthorized: true,
    alpn: [],
  };
}

function create(options: NativeTlsOptions): NativeTlsContext {
  try {
    return native.createTlsContext(options);
  } catch (error) {
    const e = error as { code?: string; message?: string };
    throw new TlsContextError((e.code ?? 'ERR_TLS_INVALID_CONTEXT') as TlsContextErrorCode, e.message ?? String(error));
  }
}

/** Validates a server's `tls` option (or a `setSecureContext()` argument) and builds its contexts. */
export function serverTls(value: unknown, name: string, http2 = false, http3 = false): NativeTlsServer {
  const o = object(value, name);
  for (const key of Object.keys(o)) {
    if (!SERVER_KEYS.has(key) && o[key] !== undefined) throw new InvalidArgumentValueError(`${name}.${key}`, 'is not a known TLS option', o[key]);
  }
  const base = contextOptions(o, name, true);
  if (base.cert.length === 0 && base.pfx.length === 0) throw new InvalidArgumentValueError(name, 'needs cert and key (or pfx)', value);
  const alpnValue = o.alpnProtocols ?? o.ALPNProtocols;
  // RFC 9113 §3.2: "h2" by ALPN; RFC 7301 §3.2: the server picks by its own preference.
  let alpn = http2 ? ['h2', 'http/1.1'] : ['http/1.1'];
  if (alpnValue !== undefined) {
    if (!Array.isArray(alpnValue) || alpnValue.some((p) => typeof p !== 'string' || p.length === 0 || Buffer.byteLength(p) > 255)) {
      throw new InvalidArgumentValueError(`${name}.alpnProtocols`, 'must be an array of protocol names (1 to 255 bytes)', alpnValue);
    }
    alpn = alpnValue as string[];
  }
  const requestCert = boolOption(o, 'requestCert', false, name);
  const rejectUnauthorized = boolOption(o, 'rejectUnauthorized', true, name);
  const context = create({ ...base, requestCert, rejectUnauthorized, alpn });
  const sni: (string | NativeTlsContext)[] = [];
  if (o.sni !== undefined) {
    for (const [servername, options] of Object.entries(object(o.sni, `${name}.sni`))) {
      const n = `${name}.sni['${servername}']`;
      const so = object(options, n);
      for (const key of Object.keys(so)) {
        if (!(CONTEXT_KEYS as readonly string[]).includes(key)) throw new InvalidArgumentValueError(`${n}.${key}`, 'is not a known TLS option for an SNI context', so[key]);
      }
      sni.push(servername, create({ ...contextOptions(so, n, true), requestCert, rejectUnauthorized, alpn }));
    }
  }
  const handshakeTimeout = intOption(o, 'handshakeTimeout', 0, 2 ** 31 - 1, 0, name);
  if (!http3) return { context, sni, handshakeTimeout };
  // QUIC (RFC 9001): TLS 1.3 only, ALPN "h3" (RFC 9114 §3.1); the same certificates, SNI included.
  const quicOptions = { requestCert, rejectUnauthorized, alpn: ['h3'], quic: true, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' };
  const quicSni: (string | NativeTlsContext)[] = [];
  for (let i = 0; i < sni.length; i += 2) {
    const servername = sni[i] as string;
    quicSni.push(servername, create({ ...contextOptions(object(object(o.sni, `${name}.sni`)[servername], name), name, true), ...quicOptions }));
  }
  const quic = { context: create({ ...base, ...quicOptions }), sni: quicSni };
  return { context, sni, handshakeTimeout, quic };
}

let extraCa: string | null | undefined;
/**
 * NODE_EXTRA_CA_CERTS, read once per process like Node. A file that cannot be read or holds no
 * certificate is ignored with a process warning, as Node does.
 */
function extraCertificates(): string | null {
  if (extraCa === undefined) {
    const file = process.env.NODE_EXTRA_CA_CERTS;
    extraCa = null;
    if (file) {
      try {
        const text = readFileSync(file, 'utf8');
        if (text.includes('-----BEGIN CERTIFICATE-----')) extraCa = text;
        else process.emitWarning(`sockudo-ws: NODE_EXTRA_CA_CERTS (${file}) holds no PEM certificate; ignored`);
      } catch (error) {
        process.emitWarning(`sockudo-ws: NODE_EXTRA_CA_CERTS (${file}) cannot be read: ${(error as Error).message}; ignored`);
      }
    }
  }
  return extraCa;
}

const clientContexts = new Map<string, NativeTlsContext>();
const MAX_CACHED_CONTEXTS = 16;

/**
 * The client context for these options: built once per distinct set of options (building the
 * default roots into an OpenSSL store costs milliseconds) and kept for this thread's later connects.
 */
export function clientTls(o: Record<string, unknown>, name: string, alpn: readonly string[] = ['http/1.1']): { context: NativeTlsContext; servername: string | undefined } {
  const base = contextOptions(o, name, false);
  const rejectUnauthorized = boolOption(o, 'rejectUnauthorized', true, name);
  const servername = str(o, 'servername', name);
  const options: NativeTlsOptions = { ...base, rejectUnauthorized, alpn: [...alpn] };
  if (options.ca.length === 0) {
    const extra = extraCertificates();
    options.ca = extra === null ? [...rootCertificates] : [...rootCertificates, extra];
  }
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ ...options, key: undefined, cert: undefined, ca: undefined, pfx: undefined }));
  for (const part of [options.key, options.cert, options.ca, options.pfx]) {
    hash.update(String(part.length));
    for (const item of part) hash.update(item).update('\0');
  }
  const key = hash.digest('hex');
  let context = clientContexts.get(key);
  if (context === undefined) {
    context = create(options);
    if (clientContexts.size >= MAX_CACHED_CONTEXTS) clientContexts.delete(clientContexts.keys().next().value!);
    clientContexts.set(key, context);
  }
  return { context, servername };
}
