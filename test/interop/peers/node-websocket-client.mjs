// A client on Node's built-in WebSocket (undici; `node --experimental-websocket` on Node 20).
// Usage: node --experimental-websocket node-websocket-client.mjs <ws-url> <mode>
//   echo         sends text, UTF-8, ArrayBuffer, typed-array and 1 MiB messages, compares every
//                echo, then closes with 4000 and a reason
//   server-close waits for the server's messages and close
// Prints one JSON line with what it saw; exit status 0 unless the script itself broke.
const [url, mode] = process.argv.slice(2);

function result(obj) {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

if (typeof WebSocket !== 'function') {
  result({ error: `no global WebSocket in Node ${process.version} (needs --experimental-websocket on Node 20–21)` });
  process.exit(2);
}

const timer = setTimeout(() => {
  result({ error: 'timed out after 15 s' });
  process.exit(3);
}, 15_000);

function pattern(n) {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 13 + 5) & 255;
  return b;
}

function equal(got, want) {
  if (typeof want === 'string') return got === want;
  if (!(got instanceof ArrayBuffer)) return false;
  const a = new Uint8Array(got);
  const b = want instanceof ArrayBuffer ? new Uint8Array(want) : new Uint8Array(want.buffer, want.byteOffset, want.byteLength);
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

const ws = new WebSocket(url, ['chat']);
ws.binaryType = 'arraybuffer';
const queue = [];
let wake = null;
let closeInfo = null;
ws.addEventListener('message', (e) => {
  queue.push(e.data);
  wake?.();
});
const closed = new Promise((resolve) => {
  ws.addEventListener('close', (e) => {
    closeInfo = { code: e.code, reason: e.reason, wasClean: e.wasClean };
    wake?.();
    resolve(closeInfo);
  });
});
const errors = [];
ws.addEventListener('error', (e) => errors.push(String(e.message ?? e.error ?? 'error')));

async function nextMessage() {
  while (queue.length === 0) {
    if (closeInfo) throw new Error(`closed (${closeInfo.code}) before the next message`);
    await new Promise((r) => { wake = r; });
    wake = null;
  }
  return queue.shift();
}

try {
  await new Promise((resolve, reject) => {
    ws.addEventListener('open', resolve, { once: true });
    ws.addEventListener('close', () => reject(new Error('closed before open')), { once: true });
  });
  if (mode === 'echo') {
    const cases = [
      ['text', 'hello from undici'],
      ['empty', ''],
      ['utf8', 'ü € 😀 漢字 한국어 👩‍👩‍👧‍👦 𝄞'],
      ['arraybuffer', pattern(300).buffer],
      ['typed array view', pattern(1000).subarray(10, 20)],
      ['1 MiB binary', pattern(1024 * 1024).buffer],
      ['1 MiB text', '😀漢a'.repeat(150_000)],
    ];
    const results = [];
    for (const [name, data] of cases) {
      ws.send(data);
      const echo = await nextMessage();
      results.push({ name, ok: equal(echo, data) });
    }
    ws.close(4000, 'bye from undici ✓');
    const close = await closed;
    result({ results, close, protocol: ws.protocol, extensions: ws.extensions, errors });
  } else if (mode === 'server-close') {
    const got = [];
    const close = await closed;
    while (queue.length) {
      const d = queue.shift();
      got.push(typeof d === 'string' ? { text: d } : { binary: d.byteLength });
    }
    result({ got, close, errors });
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
} catch (e) {
  result({ error: String(e), errors });
  process.exitCode = 1;
}
clearTimeout(timer);
