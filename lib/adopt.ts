/**
 * Taking a connection over from a Node http/https server (`handleUpgrade()`): rebuilding the
 * request head Node already parsed (the native core parses and validates it again, so the same
 * RFC checks apply to every way in), collecting the bytes Node buffered, and finding the file
 * descriptor of a plain TCP socket so the native transport can own it.
 */
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

/** The request head as it arrived: `METHOD URL HTTP/x.y`, the raw header lines, an empty line. */
export function rawRequestHead(request: IncomingMessage): Buffer {
  return rawHead(`${request.method ?? 'GET'} ${request.url ?? '/'} HTTP/${request.httpVersion}`, request.rawHeaders);
}

/** A response head as it arrived (the ws drop-in's client hands the 101 to the native core). */
export function rawResponseHead(response: IncomingMessage): Buffer {
  return rawHead(`HTTP/${response.httpVersion} ${response.statusCode ?? 0} ${response.statusMessage ?? ''}`, response.rawHeaders);
}

function rawHead(startLine: string, raw: readonly string[]): Buffer {
  let head = `${startLine}\r\n`;
  for (let i = 0; i + 1 < raw.length; i += 2) head += `${raw[i]}: ${raw[i + 1]}\r\n`;
  // Node decodes header bytes as latin1, so encoding them back as latin1 restores the original bytes.
  return Buffer.from(`${head}\r\n`, 'latin1');
}

/** Stops the stream and returns what it had already read but not delivered. */
export function takeBuffered(socket: Duplex): Buffer[] {
  socket.pause();
  const chunks: Buffer[] = [];
  for (;;) {
    const chunk = socket.read() as Buffer | string | null;
    if (chunk === null) break;
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk);
  }
  return chunks;
}

type HandleLike = { fd?: unknown; readStop?: () => unknown };

/** The file descriptor of a plain (unencrypted) TCP socket, or undefined when the native side cannot take it over. */
export function adoptableFd(socket: Duplex): number | undefined {
  if ((socket as { encrypted?: unknown }).encrypted) return undefined;
  const handle = (socket as unknown as { _handle?: HandleLike | null })._handle;
  const fd = handle?.fd;
  return typeof fd === 'number' && Number.isInteger(fd) && fd >= 0 ? fd : undefined;
}

/** After the native side dup()ed the fd: stop Node reading, and close Node's copy (ours stays open). */
export function releaseToNative(socket: Duplex): void {
  (socket as unknown as { _handle?: HandleLike | null })._handle?.readStop?.();
  socket.destroy();
}

/** Answers an upgrade request on the Node socket itself (used when the server no longer takes connections). */
export function refuseOnSocket(socket: Duplex, status: number): void {
  if (socket.writable) {
    const text = STATUS_CODES[status] ?? '';
    socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`);
  }
  socket.once('finish', () => socket.destroy());
  setTimeout(() => socket.destroy(), 1000).unref();
}
