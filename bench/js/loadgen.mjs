// A WebSocket load generator that depends on neither library under test: raw TCP, a hand-written
// upgrade request, one pre-masked frame reused for every send, and a minimal parser for the
// server's unmasked frames. Each connection keeps `pipeline` messages in flight; every echoed
// message is answered with a new one. Prints one JSON line: {messages, seconds, rate, ...}.
//
//   node bench/js/loadgen.mjs --port 9001 --connections 64 --size 64 --pipeline 8 --seconds 5
import net from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    connections: { type: 'string', default: '64' },
    size: { type: 'string', default: '64' },
    pipeline: { type: 'string', default: '8' },
    seconds: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    binary: { type: 'boolean', default: false },
  },
});
const port = Number(values.port);
const conns = Number(values.connections);
const size = Number(values.size);
const pipeline = Number(values.pipeline);
const seconds = Number(values.seconds);
const warmup = Number(values.warmup);

function maskedFrame(payloadLen, binary) {
  const key = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  const ext = payloadLen < 126 ? 0 : payloadLen < 65536 ? 2 : 8;
  const f = Buffer.alloc(2 + ext + 4 + payloadLen);
  f[0] = 0x80 | (binary ? 2 : 1);
  if (ext === 0) f[1] = 0x80 | payloadLen;
  else if (ext === 2) { f[1] = 0x80 | 126; f.writeUInt16BE(payloadLen, 2); }
  else { f[1] = 0x80 | 127; f.writeBigUInt64BE(BigInt(payloadLen), 2); }
  key.copy(f, 2 + ext);
  const p = 2 + ext + 4;
  for (let i = 0; i < payloadLen; i++) f[p + i] = 0x61 + (i % 26);  // ASCII text
  for (let i = 0; i < payloadLen; i++) f[p + i] ^= key[i & 3];
  return f;
}

const frame = maskedFrame(size, values.binary);
const batch = Buffer.concat(Array(pipeline).fill(frame));
const request = (i) => `GET / HTTP/1.1\r\nHost: ${values.host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
  `Sec-WebSocket-Key: ${Buffer.from(String(i).padStart(16, '0')).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`;

let counting = false;
let received = 0;
let open = 0;
const sockets = [];

function connect(i) {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: values.host, port, noDelay: true });
    let upgraded = false;
    let buf = Buffer.alloc(0);
    s.on('error', reject);
    s.on('connect', () => s.write(request(i)));
    s.on('data', (chunk) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      if (!upgraded) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        if (!buf.subarray(0, 12).toString().includes('101')) return reject(new Error(buf.toString()));
        upgraded = true;
        buf = buf.subarray(end + 4);
        open++;
        resolve(s);
      }
      // Count complete frames; answer each with a new message.
      let off = 0;
      let done = 0;
      while (buf.length - off >= 2) {
        let len = buf[off + 1] & 0x7f;
        let hdr = 2;
        if (len === 126) { if (buf.length - off < 4) break; len = buf.readUInt16BE(off + 2); hdr = 4; }
        else if (len === 127) { if (buf.length - off < 10) break; len = Number(buf.readBigUInt64BE(off + 2)); hdr = 10; }
        if (buf.length - off < hdr + len) break;
        off += hdr + len;
        done++;
      }
      buf = off === buf.length ? Buffer.alloc(0) : buf.subarray(off);
      if (done > 0) {
        if (counting) received += done;
        s.write(done === pipeline ? batch : Buffer.concat(Array(done).fill(frame)));
      }
    });
  });
}

for (let i = 0; i < conns; i++) sockets.push(await connect(i));
for (const s of sockets) s.write(batch);
await new Promise((r) => setTimeout(r, warmup * 1000));
console.log('measuring');  // the orchestrator samples the server's CPU time at these two lines
counting = true;
const t0 = process.hrtime.bigint();
await new Promise((r) => setTimeout(r, seconds * 1000));
counting = false;
console.log('measured');
const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(JSON.stringify({ messages: received, seconds: elapsed, rate: received / elapsed, connections: open, size, pipeline }));
for (const s of sockets) s.destroy();
process.exit(0);
