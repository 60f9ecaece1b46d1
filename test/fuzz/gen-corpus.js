#!/usr/bin/env node
'use strict';
// Writes the committed seed corpora, test/fuzz/corpus/<target>/, from the hex vectors of the
// native unit tests (test/native/test_*.cc: every `hex("...")`) and the small generators below.
// Each seed starts with the target's control bytes (see the layout comment of each target's
// header: frames.h, http_heads.h, extension.h, utf8_target.h, mask_target.h). Files are named by
// the SHA-1 of their content, like libFuzzer's own; rerunning rewrites the same set.
//
//   node test/fuzz/gen-corpus.js
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const here = __dirname;
const nativeTests = path.join(here, '..', 'native');
const corpus = {};
function add(target, bytes) {
  (corpus[target] ||= new Map()).set(crypto.createHash('sha1').update(bytes).digest('hex'), Buffer.from(bytes));
}
const B = (...parts) => Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));
const hex = (s) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function vectorsFrom(file) {
  const text = fs.readFileSync(path.join(nativeTests, file), 'utf8');
  return [...text.matchAll(/hex\("([0-9a-fA-F ]+)"\)/g)].map((m) => hex(m[1]));
}

// --- frames ---------------------------------------------------------------------------------------
const KEY = hex('37 fa 21 3d');
function frame(first, payload, masked, { lengthForm } = {}) {
  payload = Buffer.from(payload);
  const n = payload.length;
  const m = masked ? 0x80 : 0;
  const form = lengthForm ?? (n < 126 ? 7 : n <= 0xffff ? 16 : 64);
  let head;
  if (form === 7) head = Buffer.from([first, m | n]);
  else if (form === 16) head = Buffer.from([first, m | 126, n >> 8, n & 255]);
  else {
    head = Buffer.alloc(10);
    head[0] = first;
    head[1] = m | 127;
    head.writeBigUInt64BE(BigInt(n), 2);
  }
  if (!masked) return B(head, payload);
  const body = Buffer.from(payload.map((b, i) => b ^ KEY[i & 3]));
  return B(head, KEY, body);
}

// Re-encodes a stream of whole frames with or without masks; null when it is not such a stream.
function remask(stream, masked) {
  const out = [];
  let p = 0;
  while (p < stream.length) {
    if (stream.length - p < 2) return null;
    const b0 = stream[p], b1 = stream[p + 1];
    let len = b1 & 0x7f, h = 2;
    if (len === 126) { if (stream.length - p < 4) return null; len = stream.readUInt16BE(p + 2); h = 4; }
    else if (len === 127) { if (stream.length - p < 10) return null; len = Number(stream.readBigUInt64BE(p + 2)); h = 10; }
    const key = b1 & 0x80 ? stream.subarray(p + h, p + h + 4) : null;
    if (key) h += 4;
    if (stream.length - p - h < len) return null;
    const payload = Buffer.from(stream.subarray(p + h, p + h + len));
    if (key) for (let i = 0; i < payload.length; i++) payload[i] ^= key[i & 3];
    out.push(frame(b0, payload, masked, { lengthForm: (b1 & 0x7f) === 126 ? 16 : (b1 & 0x7f) === 127 ? 64 : 7 }));
    p += h + len;
  }
  return B(...out);
}

// frames.h header: flags, max_frame, max_message, kernel, timing, counts; split lengths; ops.
function framesSeed({ flags = 0x03, frameSel = 15, msgSel = 15, kernel = 0, timing = 0xff, splits = [0, 6], ops = [] }, stream) {
  const head = [flags, frameSel, msgSel, kernel, timing, (splits.length & 15) | (ops.length << 4), ...splits];
  for (const [offset, action] of ops) head.push(offset & 255, offset >> 8, action);
  return B(head, stream);
}
const op = { timer: (d, toDeadline = false) => (d << 3) | (toDeadline ? 0x80 : 0), write: (p = 0) => 1 | (p << 3),
  text: (s) => 2 | (s << 3), binary: (s) => 3 | (s << 3), ping: (n) => 4 | (((n << 1) | 1) << 3), pong: (n) => 4 | ((n << 1) << 3),
  close: (c, reason = 0) => 5 | ((c | (reason << 4)) << 3), eof: 6, terminate: 7 };

const testVectors = ['test_frame_parser.cc', 'test_connection.cc', 'test_message_assembler.cc'].flatMap(vectorsFrom)
  .filter((v) => v.length >= 2 && [0, 1, 2, 8, 9, 10].includes(v[0] & 0x0f));

const ownStreams = (masked) => {
  const f = (first, payload, opts) => frame(first, payload, masked, opts);
  const close = (code, reason = '') => { const b = Buffer.alloc(2); b.writeUInt16BE(code); return B(b, reason); };
  return [
    f(0x81, 'Hello'),
    f(0x82, Buffer.alloc(126, 7)),
    f(0x82, Buffer.alloc(200, 1), { lengthForm: 16 }),
    B(f(0x01, 'Hel'), f(0x89, 'ping'), f(0x80, 'lo')),
    B(f(0x01, 'frag'), f(0x00, 'ment'), f(0x00, 'ed'), f(0x80, '!')),
    B(f(0x81, 'Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!'), f(0x88, close(1000, 'bye'))),
    B(f(0x81, '\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited')),
    B(f(0x01, '\xf0\x9f'), f(0x80, '\x98\x80')),
    B(f(0x89, ''), f(0x8a, 'unsolicited'), f(0x89, Buffer.alloc(125, 0x54))),
    B(f(0x89, 'T-terminate'), f(0x81, 'after')),
    B(f(0x81, 'Close from the callback'), f(0x81, 'more')),
    f(0x88, ''),
    f(0x88, Buffer.from([0x03])),
    f(0x88, close(1005)),
    f(0x88, close(4000, 'x'.repeat(100))),
    f(0x88, close(1000, '\xff')),
    f(0xc1, 'rsv1'),
    B(f(0xc1, 'rsv1\xfd'), f(0x81, 'after')),
    B(f(0x41, 'rsv1 fragment'), f(0x80, ' end')),
    f(0xa2, 'rsv2'),
    f(0x83, 'reserved opcode'),
    f(0x09, 'fragmented ping'),
    f(0x89, Buffer.alloc(126, 0), { lengthForm: 16 }),
    f(0x82, 'short', { lengthForm: 16 }),
    f(0x82, 'short', { lengthForm: 64 }),
    frame(0x82, 'wrong mask bit', !masked),
    B(f(0x80, 'continuation first')),
    B(f(0x01, 'a'), f(0x81, 'b')),
    B(Buffer.from([0x82, masked ? 0xff : 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0])),
    B(Buffer.from([0x82, masked ? 0xff : 0x7f, 0, 0, 0, 1, 0, 0, 0, 0])),
    Buffer.from('\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03', 'latin1'),
  ];
};

for (const [target, masked] of [['fuzz_frames_server', true], ['fuzz_frames_client', false]]) {
  const streams = [...ownStreams(masked)];
  for (const v of testVectors) {
    const r = remask(v, masked);
    streams.push(r ?? v);
  }
  for (const s of streams) add(target, framesSeed({}, s));
  const hello = frame(0x81, 'Hello', masked);
  const ping = frame(0x89, 'are you there', masked);
  const closeFrame = frame(0x88, Buffer.from([0x03, 0xe8]), masked);
  // Small limits, echo, borrowing, RSV1, other kernels and split patterns.
  add(target, framesSeed({ frameSel: 5, msgSel: 9 }, B(frame(0x01, Buffer.alloc(100, 0x61), masked), frame(0x80, Buffer.alloc(100, 0x62), masked))));
  add(target, framesSeed({ frameSel: 3, msgSel: 4, splits: [] }, B(hello, frame(0x82, Buffer.alloc(20, 1), masked))));
  add(target, framesSeed({ flags: 0x0b | 0x40, kernel: 1, splits: [2, 0, 40] }, B(hello, frame(0x82, Buffer.alloc(300, 9), masked), closeFrame)));
  add(target, framesSeed({ flags: 0x1f, kernel: 2 }, B(frame(0x81, 'Close me', masked), hello, closeFrame)));
  add(target, framesSeed({ flags: 0x27, kernel: 3 }, B(frame(0x89, 'T', masked), hello)));
  add(target, framesSeed({ flags: 0x87 }, B(frame(0x01, 'unfinished', masked))));
  // Scripts: timers (ping, pong timeout, idle, close timeout), writes, sends, close, eof.
  add(target, framesSeed({ timing: 0b01_01_01_01, ops: [[0, op.timer(6)], [0, op.timer(0, true)], [0, op.timer(0, true)]] }, B()));
  add(target, framesSeed({ timing: 0b10_10_01_10, ops: [[0, op.timer(0, true)], [0, op.write()], [7, op.timer(0, true)]] }, B(ping)));
  add(target, framesSeed({ ops: [[0, op.text(4)], [0, op.binary(11)], [0, op.write(3)], [0, op.close(0)], [0, op.timer(14)]] }, B(hello, closeFrame)));
  add(target, framesSeed({ flags: 0x43, ops: [[0, op.binary(14)], [0, op.binary(12)], [0, op.write(5)], [2, op.text(13)], [3, op.write()]] }, B(hello)));
  add(target, framesSeed({ frameSel: 10, ops: [[0, op.binary(13)], [0, op.text(9)], [0, op.write()]] }, B()));
  add(target, framesSeed({ ops: [[0, op.ping(3)], [0, op.pong(14)], [0, op.ping(15)], [0, op.close(4, 1)], [0, op.close(1, 1)], [0, op.eof]] }, B(hello)));
  add(target, framesSeed({ ops: [[3, op.terminate], [0, op.write(1)]] }, B(hello, hello)));
  add(target, framesSeed({ timing: 0x55, ops: Array.from({ length: 15 }, (_, i) => [0, i % 2 ? op.write(1) : op.timer(i)]) }, B(ping, ping, ping)));
  // 40 pings with no write: 32 automatic pongs wait, then later pings coalesce.
  add(target, framesSeed({ splits: [], ops: [[0, op.write(2)]] }, B(...Array.from({ length: 40 }, (_, i) => frame(0x89, String(i), masked)))));
}

// --- HTTP heads -------------------------------------------------------------------------------------
const crlf = (lines) => lines.join('\r\n') + '\r\n\r\n';
const request = (extra = [], { line = 'GET /chat HTTP/1.1', drop = [] } = {}) => crlf([line, ...[
  'Host: server.example.com', 'Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
  'Origin: http://example.com', 'Sec-WebSocket-Version: 13'].filter((l) => !drop.some((d) => l.startsWith(d))), ...extra]);
const requests = [
  request(),
  request(['Sec-WebSocket-Protocol: chat, superchat']),
  request(['Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits', 'Sec-WebSocket-Extensions: x-webkit-deflate-frame']),
  request(['Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=10; client_max_window_bits="12"; server_no_context_takeover']),
  request([], { line: 'GET ws://server.example.com/chat?x=1 HTTP/1.1' }),
  request([], { line: 'GET /chat HTTP/1.0' }),
  request(['Content-Length: 5'], { line: 'POST /chat HTTP/1.1' }),
  request(['Transfer-Encoding: chunked']),
  request([], { drop: ['Sec-WebSocket-Version'] }),
  request(['Sec-WebSocket-Version: 8'], { drop: ['Sec-WebSocket-Version'] }),
  request([], { drop: ['Sec-WebSocket-Key'] }),
  request(['Upgrade: h2c'], { drop: ['Upgrade'] }),
  crlf(['GET / HTTP/1.1', 'Host: a']),
  '\r\n' + request(),
  crlf(['GET /chat HTTP/2.0', 'Host: a']),
  crlf(['GET /chat HTTP/1.1', ' folded: x', 'Host: a']),
  'GET /chat HTTP/1.1\nHost: a\n\n',
  crlf(['GET /chat#frag HTTP/1.1', 'Host: a', 'Upgrade: websocket', 'Connection: keep-alive, Upgrade', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: 13']),
  request() + '\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58',
];
for (const [i, r] of requests.entries()) add('fuzz_http_request_head', B([i % 3 === 0 ? 0x00 : 0x57, 3, 0, 9, 99], r));

const ACCEPT = 'Bz3qJYTGdOe8gUSpLosEdiLKDrk=';
const response = (extra = [], { line = 'HTTP/1.1 101 Switching Protocols', drop = [] } = {}) => crlf([line, ...[
  'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Accept: ${ACCEPT}`].filter((l) => !drop.some((d) => l.startsWith(d))), ...extra]);
const responses = [
  [0x00, response()],
  [0x01, response(['Sec-WebSocket-Protocol: chat'])],
  [0x02, response(['Sec-WebSocket-Protocol: superchat'])],
  [0x01, response(['Sec-WebSocket-Protocol: other'])],
  [0x84, response(['Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=10'])],
  [0x2c, response(['Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; server_max_window_bits=8'])],
  [0x04, response(['Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=10'])],
  [0x00, response(['Sec-WebSocket-Extensions: x-unknown'])],
  [0x00, response([], { line: 'HTTP/1.1 200 OK' }) + 'body'],
  [0x00, response([], { line: 'HTTP/1.1 302 Found' })],
  [0x00, response([`Sec-WebSocket-Accept: ${ACCEPT}`])],
  [0x00, response(['Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo='], { drop: ['Sec-WebSocket-Accept'] })],
  [0x00, response(['Upgrade: websocket, h2c'], { drop: ['Upgrade'] })],
  [0x00, response(['Connection: keep-alive, upgrade'], { drop: ['Connection'] })],
  [0x00, response([], { line: 'HTTP/1.0 101 Switching Protocols' })],
  [0x00, response() + '\x81\x05Hello'],
];
for (const [i, [offer, r]] of responses.entries()) add('fuzz_http_response_head', B([i % 3 === 0 ? 0x00 : 0x57, offer, 3, 0, 9, 99], r));

// --- extension header --------------------------------------------------------------------------------
const extensions = [
  'permessage-deflate',
  'permessage-deflate; client_max_window_bits',
  'permessage-deflate; server_max_window_bits=10; client_max_window_bits=12, permessage-deflate',
  'permessage-deflate; client_max_window_bits="10"; server_no_context_takeover',
  'permessage-deflate;client_no_context_takeover;server_no_context_takeover',
  'x-webkit-deflate-frame, foo; bar=baz, permessage-deflate ;\tclient_max_window_bits = 15',
  'permessage-deflate; server_max_window_bits=08',
  'permessage-deflate; server_max_window_bits=16',
  'permessage-deflate; server_max_window_bits',
  'permessage-deflate; client_max_window_bits=15; client_max_window_bits=15',
  'permessage-deflate; unknown_param',
  'a;b;c;d;e;f, g',
  ', , permessage-deflate,',
  'foo; bar="ba\\z"',
  'foo; bar="a b"',
  'foo;',
  'foo bar',
];
for (const [i, e] of extensions.entries()) add('fuzz_extension_header', B([(i * 37) & 0xff, (i * 53) & 0xff, e.length >> 1, 0], e));

// --- extended CONNECT (RFC 8441) ---------------------------------------------------------------------
const field = (n, v) => B([n.length, Buffer.byteLength(v, 'latin1')], n, v);
const chromiumBlock = [[':method', 'CONNECT'], [':authority', 'localhost:8443'], [':scheme', 'https'], [':path', '/chat?x=1'], [':protocol', 'websocket'],
  ['sec-websocket-version', '13'], ['origin', 'https://localhost:8443'], ['sec-websocket-protocol', 'chat, superchat'],
  ['sec-websocket-extensions', 'permessage-deflate; client_max_window_bits']];
const responses2 = [[['sec-websocket-protocol', 'chat']], [['sec-websocket-extensions', 'permessage-deflate']], [['sec-websocket-protocol', 'nope']], []];
const variants = [chromiumBlock, chromiumBlock.filter(([n]) => n !== ':scheme'), [...chromiumBlock, ['sec-websocket-key', 'dGhlIHNhbXBsZSBub25jZQ==']],
  [...chromiumBlock.slice(0, 5), ['x', '1'], [':path', '/late']], [[':method', 'GET'], [':path', '/'], [':scheme', 'https'], [':authority', 'a']],
  [...chromiumBlock, ['connection', 'upgrade']]];
for (const [i, block] of variants.entries()) {
  for (const [j, resp] of responses2.entries()) {
    add('fuzz_extended_connect', B([(i * 16 + j * 3) & 0xff], ...block.map(([n, v]) => field(n, v)), field('~', ''), ...resp.map(([n, v]) => field(n, v))));
  }
}

// --- HTTP/2 session (h2_session_target.h: a script of operations) ---------------------------------
{
  const sid = (n) => (n - 1) / 2;  // the operand byte for client stream n (1, 3, 5, ...)
  const u16 = (v) => [v & 255, v >> 8];
  const VALID = 0x40 | 0x80;      // + sec-websocket-protocol, sec-websocket-extensions
  const headers = (n, mask = VALID, flags = 0, size = 0) => [0, sid(n), flags, ...u16(mask), size];
  // WebSocket frames for DATA: [b0 (bit7 FIN, bits 0-2 opcode index: text, binary, cont, close, ping, pong), len, payload]
  const ws = (b0, payload) => [b0, payload.length, ...Buffer.from(payload, 'latin1')];
  const data = (n, flags, ...frames) => [1, sid(n), flags, frames.length, ...frames.flat()];
  const read = (n = 0xffff) => [10, ...u16(n - 1)];
  const TURN = [11], END = [15, 0], GRACEFUL = [15, 1];
  const writable = (b) => [12, ...u16(b)];
  const decide = (which, how) => [13, which, how];
  const act = (which, what, size) => [14, which, what, size];
  const settings = (...pairs) => [4, pairs.length, ...pairs.flatMap(([id, v]) => [id - 1, ...u16(v)])];
  const text = (t) => ws(0x80, t), close = (payload) => ws(0x83, payload);
  const scripts = [
    // accept with a subprotocol and deflate, echo text and binary, the client closes
    [...headers(1), ...read(), ...TURN, ...decide(0, 12), ...TURN, ...data(1, 0, text('hello'), ws(0x81, 'b'.repeat(200))), ...read(), ...TURN,
      ...act(0, 0, 3), ...TURN, ...data(1, 0, close('\x03\xe8bye')), ...read(), ...TURN, ...END],
    // a small peer window: our send waits for WINDOW_UPDATE, the link blocks and drains
    [...settings([4, 16]), ...headers(1), ...read(), ...decide(0, 0), ...TURN, ...act(0, 0, 200), ...writable(0), ...TURN,
      ...[3, 0, ...u16(4000)], ...[3, 1, ...u16(30000)], ...read(), ...writable(1000), ...TURN, ...writable(0xffff), ...TURN, ...END],
    // not a WebSocket request (GET), a rejected one, a malformed one (no :authority)
    [...headers(1, VALID | 1), ...headers(3), ...headers(5, VALID | 16), ...read(), ...TURN, ...decide(0, 1), ...TURN, ...END],
    // reset mid-message and after the close
    [...headers(1), ...headers(3), ...read(), ...decide(0, 0), ...decide(0, 2), ...TURN, ...data(1, 0, ws(0x01, 'part')), ...[2, sid(1), 8],
      ...data(3, 1, close('\x03\xe8')), ...read(), ...TURN, ...[2, sid(3), 0], ...read(), ...TURN, ...END],
    // more streams than http2MaxStreams (8)
    [...[1, 3, 5, 7, 9, 11, 13, 15, 17, 19].flatMap((n) => headers(n)), ...read(), ...decide(0, 0), ...decide(3, 0), ...decide(1, 1), ...TURN, ...END],
    // the server closes gracefully while a WebSocket is open; then it closes
    [...headers(1), ...read(), ...decide(0, 0), ...TURN, ...GRACEFUL, ...TURN, ...data(1, 0, close('\x03\xe8')), ...read(), ...TURN, ...TURN, ...END],
    // a header block split into HEADERS + CONTINUATION; a CONTINUATION on another stream
    [...headers(1, VALID, 0x80 | 10), ...read(20), ...read(), ...decide(0, 0), ...TURN, ...headers(3, VALID, 0xc0 | 5), ...read(), ...TURN, ...END],
    // paused reading holds the stream's window; resumed
    [...headers(1), ...read(), ...decide(0, 0), ...act(0, 4, 0), ...data(1, 0, text('x'.repeat(120)), text('y'.repeat(120))), ...read(), ...TURN,
      ...act(0, 5, 0), ...TURN, ...TURN, ...END],
    // two subscribers of a topic, one publish
    [...headers(1), ...headers(3), ...read(), ...decide(0, 0), ...decide(0, 0), ...TURN, ...act(0, 7, 50), ...act(1, 7, 50), ...TURN, ...END],
    // PING, SETTINGS, PRIORITY, GOAWAY from the client, a window update on the connection
    [...[5, 0], ...[5, 1], ...settings([1, 100], [3, 10]), ...[7, sid(1), 0, 16], ...headers(1), ...read(7), ...read(), ...[6, 0, 0], ...[3, 1, 1, 0],
      ...read(), ...TURN, ...END],
    // an oversized header block (431), then garbage after the preface
    [...headers(1, VALID | 512 | 0x4000, 0, 60), ...read(), ...TURN, ...[9, 6, 1, 2, 3, 4, 5, 6], ...read(), ...TURN, ...END],
    // the application terminates and closes while DATA is in flight; the link fails
    [...headers(1), ...headers(3), ...read(), ...decide(0, 0), ...decide(0, 0), ...act(0, 0, 255), ...act(0, 3, 0), ...act(0, 2, 0), ...TURN, 15, 1, 0],
  ];
  for (const script of scripts) add('fuzz_h2_session', B(script));
}

// --- HTTP/3 session: our client and server over lossy queues (h3_session_target.h) --------------
{
  // Opcodes: 0 c→s [how], 1 s→c [how], 2 turn, 3 open [b], 4 decide [which][how], 5/6 act [side][which][what][size],
  // 7 server graceful close, 8 garbage [len][bytes], 9 client detach, 10 client loss toggle, 11 end.
  const exchange = (n) => Array.from({ length: n }, () => [0, 0, 1, 0, 2]).flat();  // both ways, then a turn
  const scripts = [
    // handshake, one WebSocket accepted, a message each way, close, end
    [...exchange(12), 3, 0, 2, ...exchange(6), 4, 0, 0, 2, ...exchange(6), 5, 1, 0, 0, 20, 2, ...exchange(6), 5, 0, 0, 0, 9, 2,
      ...exchange(8), 5, 0, 0, 1, 0, 2, ...exchange(8), 11],
    // loss, duplication, truncation and corruption during the handshake
    [...[0, 4, 2, 0, 5, 1, 5, 2, 0, 0x36, 1, 0x2f, 2], ...exchange(14), 3, 2, 2, ...exchange(6), 4, 0, 2, 2, ...exchange(10), 11],
    // two WebSockets, one refused, pause/resume, graceful close from the server
    [...exchange(12), 3, 0, 3, 1, 2, ...exchange(6), 4, 0, 1, 4, 0, 0, 2, ...exchange(6), 5, 0, 0, 3, 0, 6, 1, 0, 0, 40, 2,
      ...exchange(6), 5, 0, 0, 4, 0, 2, ...exchange(6), 7, 2, ...exchange(10), 11],
    // garbage to the server, the client's datagrams lost, the client detaching
    [...exchange(12), 8, 5, 1, 2, 3, 4, 5, 3, 0, 10, 2, ...exchange(4), 10, 9, 2, ...exchange(8), 11],
    // the server terminates a WebSocket with data in flight
    [...exchange(12), 3, 0, 2, ...exchange(6), 4, 0, 0, 2, ...exchange(4), 6, 1, 0, 0, 200, 5, 0, 0, 2, 0, 2, ...exchange(8), 11],
  ];
  for (const script of scripts) add('fuzz_h3_session', B(script));
}

// --- UTF-8 ---------------------------------------------------------------------------------------
const utf8 = [...vectorsFrom('test_utf8.cc'), Buffer.from('Hello-µ@ßöäüàá-UTF-8!!'), Buffer.from('κόσμε'),
  hex('ef bb bf'), hex('ed 9f bf ee 80 80'), hex('f0 90 80 80 f4 8f bf bf'), Buffer.alloc(70, 0x41)];
for (const [i, t] of utf8.entries()) add('fuzz_utf8', B(i % 4 === 0 ? [0] : [2, i % 5, 30], t));

// --- mask ---------------------------------------------------------------------------------------
const maskSeed = (len, mode, srcOff, dstOff, cut, data = 'mask me') => B([len & 255, len >> 8, 0x37, 0xfa, 0x21, 0x3d, mode, srcOff, dstOff, cut & 255, cut >> 8], data);
for (const [len, mode, s, d, cut] of [[0, 0, 0, 0, 0], [1, 1, 3, 5, 0], [31, 2, 0, 0, 7], [32, 3, 1, 1, 0], [33, 4, 0, 0, 0], [127, 8, 63, 1, 61],
  [256, 9, 0, 32, 100], [1024, 0, 17, 3, 0], [1100, 15, 5, 60, 513], [4096, 0, 0, 0, 0], [4163, 10, 1, 2, 4000]])
  add('fuzz_mask', maskSeed(len, mode, s, d, cut));

// --- deflate ------------------------------------------------------------------------------------
// Control bytes (deflate_target.h), then compressed payloads: the RFC 7692 vectors of the native
// test, and node:zlib's raw deflate of a few texts (an independent encoder) without the tail.
const zlib = require('node:zlib');
const deflated = (text, level, windowBits) => {
  const d = zlib.deflateRawSync(Buffer.from(text), { level, windowBits, finishFlush: zlib.constants.Z_SYNC_FLUSH });
  return d.subarray(0, d.length - 4);
};
const deflatePayloads = [...vectorsFrom('test_permessage_deflate.cc'), deflated('Hello', 6, 15), deflated('{"a":1,"b":[1,2,3]}'.repeat(40), 1, 9),
  deflated('x'.repeat(5000), 9, 15), deflated('κόσμε '.repeat(50), 6, 12), Buffer.from('plain text is a stored-block error')];
for (const [i, p] of deflatePayloads.entries()) add('fuzz_deflate', B([(i * 29) & 0xff, i % 10, 7, i % 3 ? 0 : 2, 3, 7, i & 3], p));

// --- dictionaries (libFuzzer -dict= format) -------------------------------------------------------
const dicts = {};
const frameTokens = ['\x81', '\x82', '\x88', '\x89', '\x8a', '\x01', '\x02', '\x00', '\x80', '\xc1', '\x41', '\x7e', '\x7f',
  '\x00\x7e', '\xff\xff', '\x00\x00\x00\x00\x00\x01\x00\x00', '\x7f\xff\xff\xff\xff\xff\xff\xff',
  '\x03\xe8', '\x03\xe9', '\x03\xea', '\x03\xeb', '\x03\xec', '\x03\xed', '\x03\xee', '\x03\xef', '\x03\xf3', '\x03\xf6',
  '\x03\xf7', '\x0b\xb8', '\x0f\xa0', '\x13\x87', '\x13\x88', '\xf0\x9f\x98\x80', '\xed\xa0\x80', '\xf4\x90\x80\x80',
  '\xc0\xaf', '\xce\xba', '\xfd', '\xfe', 'T', 'C'];
dicts.fuzz_frames_server = [...frameTokens, '\x81\x85\x37\xfa\x21\x3d', '\x37\xfa\x21\x3d'];
dicts.fuzz_frames_client = frameTokens;
const httpTokens = ['GET', 'POST', ' /chat', ' HTTP/1.1', ' HTTP/1.0', 'HTTP/1.1', '\r\n', '\r\n\r\n', ': ', ', ', '\t', 'Host: ', 'Upgrade: ',
  'websocket', 'Connection: ', 'Upgrade', 'keep-alive', 'Sec-WebSocket-Key: ', 'dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: ', '13',
  'Sec-WebSocket-Protocol: ', 'chat', 'superchat', 'Sec-WebSocket-Extensions: ', 'permessage-deflate', '; client_max_window_bits',
  '; server_max_window_bits=10', '; server_no_context_takeover', 'Origin: ', 'Content-Length: ', '0', 'Transfer-Encoding: ', 'chunked', '?', '#',
  'ws://', 'http://'];
dicts.fuzz_http_request_head = httpTokens;
dicts.fuzz_http_response_head = [...httpTokens, 'HTTP/1.1 101 Switching Protocols', ' 101 ', ' 200 ', 'Sec-WebSocket-Accept: ', ACCEPT, 'a', 'b', 'c',
  '; client_max_window_bits=10', '; server_max_window_bits=8', '; client_no_context_takeover'];
dicts.fuzz_extension_header = ['permessage-deflate', 'server_no_context_takeover', 'client_no_context_takeover', 'server_max_window_bits',
  'client_max_window_bits', '=', ';', ',', ' ', '\t', '\"', '\\', '8', '9', '10', '15', '16', '08', 'x-webkit-deflate-frame'];
dicts.fuzz_extended_connect = [':method', ':protocol', ':scheme', ':path', ':authority', ':status', 'CONNECT', 'websocket', 'https', 'http',
  'sec-websocket-version', '13', 'sec-websocket-protocol', 'sec-websocket-extensions', 'permessage-deflate', 'sec-websocket-key', 'connection',
  'upgrade', 'content-length', 'origin', '~', 'chat', 'v2', '/', '?', '#'];
dicts.fuzz_h2_session = ['\x00\x00\xc0\x00', '\x01\x00\x00\x01\x81\x05hello', '\x0a\xff\xff', '\x0b', '\x0d\x00\x00', '\x0d\x00\x0c',
  '\x0e\x00\x00\x03', '\x0e\x00\x03\x00', '\x0e\x00\x04\x00', '\x0e\x00\x05\x00', '\x0e\x00\x07\x20', '\x0c\x00\x00', '\x0c\xff\xff', '\x0f\x01'];
dicts.fuzz_deflate = ['\x00\x00\xff\xff', '\xf2\x48\xcd\xc9\xc9\x07\x00', '\x01', '\x03', '\x05', '\x00\x05\x00\xfa\xff'];
dicts.fuzz_utf8 = ['\xc2\x80', '\xdf\xbf', '\xe0\xa0\x80', '\xed\x9f\xbf', '\xed\xa0\x80', '\xee\x80\x80', '\xef\xbf\xbf',
  '\xf0\x90\x80\x80', '\xf4\x8f\xbf\xbf', '\xf4\x90\x80\x80', '\xc0\x80', '\xc1\xbf', '\xe0\x80\x80', '\xf0\x80\x80\x80',
  '\xf5', '\xff', '\x80', '\xbf'];

// --- write ---------------------------------------------------------------------------------------
fs.mkdirSync(path.join(here, 'dict'), { recursive: true });
for (const [target, tokens] of Object.entries(dicts)) {
  const lines = [`# ${target}: generated by test/fuzz/gen-corpus.js`];
  // Tokens are latin1 strings; the dict format escapes with \\ \" and \xNN.
  const esc = (t) => [...Buffer.from(t, 'latin1')].map((b) => (b === 0x22 || b === 0x5c ? '\\' + String.fromCharCode(b)
    : b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '\\x' + b.toString(16).padStart(2, '0'))).join('');
  for (const [i, t] of tokens.entries()) lines.push(`t${i}="${esc(t)}"`);
  fs.writeFileSync(path.join(here, 'dict', `${target}.dict`), lines.join('\n') + '\n');
}
for (const [target, files] of Object.entries(corpus)) {
  const dir = path.join(here, 'corpus', target);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, bytes] of files) fs.writeFileSync(path.join(dir, name), bytes);
  console.log(`${target}: ${files.size} seeds`);
}
