// Hostile peers for bench/js/bomb.mjs: each offers permessage-deflate, then sends one DEFLATE bomb
// (a compressed message of --inflated bytes of zeros, about 1,000:1 at zlib level 9) and, when the
// server closes the connection (1009), reconnects and sends the next, until killed. Prints "ready"
// once the bomb is built and, every second, "bombs <n>" (connections the server has closed).
//   node bench/js/bomb-peer.mjs --port P [--peers 2] [--inflated 134217728]
import { connect } from 'node:net';
import { parseArgs } from 'node:util';
import { constants, createDeflateRaw } from 'node:zlib';

const { values } = parseArgs({ options: { port: { type: 'string' }, peers: { type: 'string', default: '2' }, inflated: { type: 'string', default: String(128 * 1024 * 1024) } } });

async function buildBomb(size) {
  const deflate = createDeflateRaw({ level: 9 });
  const parts = [];
  deflate.on('data', (d) => parts.push(d));
  const zeros = Buffer.alloc(1024 * 1024);
  for (let left = size; left > 0; left -= zeros.length) {
    if (!deflate.write(left >= zeros.length ? zeros : zeros.subarray(0, left))) await new Promise((r) => deflate.once('drain', r));
  }
  await new Promise((r) => deflate.flush(constants.Z_SYNC_FLUSH, r));
  const body = Buffer.concat(parts);
  const payload = body.subarray(0, body.length - 4);  // RFC 7692 §7.2.1: drop 00 00 ff ff
  // One masked binary frame, RSV1 set; a zero masking key leaves the payload as it is (§5.3).
  const header = Buffer.alloc(14);
  header[0] = 0x80 | 0x40 | 0x2;
  header[1] = 0x80 | 127;
  header.writeBigUInt64BE(BigInt(payload.length), 2);
  return Buffer.concat([header, payload]);
}

const bomb = await buildBomb(Number(values.inflated));
const request = `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
  `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n` +
  `Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n`;
let bombs = 0;

function peer() {
  const sock = connect(Number(values.port), '127.0.0.1');
  let upgraded = false;
  sock.on('connect', () => sock.write(request));
  sock.on('data', (d) => {
    if (!upgraded && d.includes('\r\n\r\n')) {
      upgraded = true;
      sock.write(bomb);
    }
  });
  sock.on('error', () => {});
  sock.on('close', () => {
    if (upgraded) bombs++;
    setImmediate(peer);
  });
}

console.log(`ready ${bomb.length}`);
for (let i = 0; i < Number(values.peers); i++) peer();
setInterval(() => console.log(`bombs ${bombs}`), 1000);
