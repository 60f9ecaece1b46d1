/**
 * Argument checks and conversions for what WebSocket methods send: message payloads, control
 * frame payloads (RFC 6455 §5.5) and close codes (§7.4).
 */
import { InvalidArgumentTypeError, InvalidArgumentValueError, OutOfRangeError } from './errors.js';
import { native } from './native.js';
import type { SendData, SendOptions } from './websocket.js';

/** RFC 6455 §7.4 and the IANA registry: the codes a local endpoint may send (1004-1006 and 1015 are never sent). */
export function isLocalCloseCode(code: number): boolean {
  return Number.isInteger(code) && ((code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999));
}

const SEND_OPTION_HINTS: Record<string, string> = {
  mask: ' (frames are masked as RFC 6455 §5.3 requires: by clients always, by servers never)',
};

/**
 * send()/publish() options: `binary`, `compress`, and `fin: true` (what every send is). Like the
 * constructor options, anything else is refused instead of ignored: `fin: false` (ws 8 sends a
 * fragment with it) because fragmented sends are not implemented, and unknown names.
 */
export function checkSendOptions(options: SendOptions): void {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw new InvalidArgumentTypeError('options', 'of type object', options);
  if (options.binary !== undefined && typeof options.binary !== 'boolean') throw new InvalidArgumentTypeError('options.binary', 'of type boolean', options.binary);
  if (options.compress !== undefined && typeof options.compress !== 'boolean') throw new InvalidArgumentTypeError('options.compress', 'of type boolean', options.compress);
  // for-in walks the map's enum cache (no array per send, unlike Object.keys: this runs per message).
  for (const key in options) {
    if (key === 'binary' || key === 'compress' || !Object.hasOwn(options, key)) continue;
    const value = (options as Record<string, unknown>)[key];
    if (value === undefined) continue;
    if (key === 'fin') {
      if (typeof value !== 'boolean') throw new InvalidArgumentTypeError('options.fin', 'of type boolean', value);
      if (!value) {
        throw new InvalidArgumentValueError('options.fin', 'false is not supported: every send is a whole message (fragmented sends are not implemented); send the message in one call', value);
      }
      continue;
    }
    throw new InvalidArgumentValueError(`options.${key}`, `is not a known option (binary, compress)${SEND_OPTION_HINTS[key] ?? ''}`, value);
  }
}

/**
 * A message payload as send() and publish() take it: strings are text, bytes binary unless
 * `binary: false` (then valid UTF-8: checked here unless `textChecked`, which says the caller's
 * native call checks it and reports {@link notUtf8}).
 */
export function messagePayload(data: unknown, options: SendOptions | undefined, textChecked = false): { payload: string | Uint8Array; binary: boolean } {
  if (options !== undefined) checkSendOptions(options);
  if (typeof data === 'string') return { payload: data, binary: options !== undefined && options.binary === true };
  if (ArrayBuffer.isView(data) || data instanceof ArrayBuffer) {
    const payload = bytesOf(data);
    const binary = options === undefined || options.binary !== false;
    if (!binary && !textChecked && !native.isValidUTF8(payload)) throw notUtf8(data);
    return { payload, binary };
  }
  throw new InvalidArgumentTypeError('data', 'a string, Buffer, ArrayBuffer, TypedArray or DataView', data);
}

/** The error for bytes sent as text that are not UTF-8 (RFC 6455 §5.6). */
export function notUtf8(data: unknown): InvalidArgumentValueError {
  return new InvalidArgumentValueError('data', 'must be valid UTF-8 when sent as text (binary: false)', data);
}

/** Longest topic name, in UTF-8 bytes. */
export const MAX_TOPIC_LENGTH = 1024;

/** A pub/sub topic: a non-empty string of at most MAX_TOPIC_LENGTH UTF-8 bytes. */
export function checkTopic(topic: unknown): string {
  if (typeof topic !== 'string') throw new InvalidArgumentTypeError('topic', 'of type string', topic);
  const n = Buffer.byteLength(topic);
  if (n === 0 || n > MAX_TOPIC_LENGTH) throw new OutOfRangeError('topic', `1 to ${MAX_TOPIC_LENGTH} bytes of UTF-8`, n);
  return topic;
}

export function bytesOf(data: ArrayBuffer | ArrayBufferView): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

export function byteLength(data: string | Uint8Array): number {
  return typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
}

/** A ping/pong payload: validated type and ≤ 125 bytes (RFC 6455 §5.5). */
export function controlPayload(data: unknown): string | Uint8Array {
  if (data === undefined) return '';
  let length: number;
  if (typeof data === 'string') length = Buffer.byteLength(data);
  else if (ArrayBuffer.isView(data) || data instanceof ArrayBuffer) length = data.byteLength;
  else throw new InvalidArgumentTypeError('data', 'a string, Buffer, ArrayBuffer, TypedArray or DataView', data);
  if (length > 125) throw new OutOfRangeError('data', 'at most 125 bytes', length);
  return typeof data === 'string' ? data : bytesOf(data as ArrayBuffer | ArrayBufferView);
}
