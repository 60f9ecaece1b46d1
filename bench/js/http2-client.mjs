// The client side of bench/js/http2.mjs, in its own process (pinned to core 1): our own client
// (there is no HTTP/2 mode in the native load generator yet), driven over IPC.
//   {cmd: 'open', port, count, sessions}  count WebSockets: over HTTP/2 on `sessions` connections
//                                         (sessions > 0), or one HTTP/1.1 connection each (0)
//   {cmd: 'echo', size, seconds}          each WebSocket keeps one message of `size` bytes in
//                                         flight for `seconds`; answers {roundTrips, errors}
//   {cmd: 'close'}                        closes everything
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { connect, connectHttp2 } = require('../../dist/cjs/index.js');
const options = { autoPing: false, idleTimeout: 0, maxBackpressure: 64 * 1024 * 1024 };
let sockets = [];
let sessions = [];

async function open({ port, count, sessions: n }) {
  if (n > 0) {
    sessions = await Promise.all(Array.from({ length: n }, () => connectHttp2(`http://127.0.0.1:${port}`, options)));
    sockets = await Promise.all(Array.from({ length: count }, (_, i) => sessions[i % n].websocket('/')));
  } else {
    sockets = [];
    for (let i = 0; i < count; i += 100) {  // in batches, as a backlog allows
      sockets.push(...await Promise.all(Array.from({ length: Math.min(100, count - i) }, () => connect(`ws://127.0.0.1:${port}/`, options))));
    }
  }
  return { opened: sockets.length };
}

function echo({ size, seconds }) {
  const payload = Buffer.alloc(size, 0x61);
  let roundTrips = 0;
  let errors = 0;
  let running = true;
  for (const ws of sockets) {
    ws.on('message', (data) => {
      if ((typeof data === 'string' ? Buffer.byteLength(data) : data.length) !== size) errors++;
      roundTrips++;
      if (running) ws.send(payload, { binary: true });
    });
    ws.send(payload, { binary: true });
  }
  return new Promise((resolve) => setTimeout(() => {
    running = false;
    resolve({ roundTrips, errors });
  }, seconds * 1000));
}

process.on('message', async (m) => {
  try {
    if (m.cmd === 'open') process.send(await open(m));
    else if (m.cmd === 'echo') {
      const r = await echo(m);
      for (const ws of sockets) ws.removeAllListeners('message');
      process.send(r);
    } else if (m.cmd === 'close') {
      for (const ws of sockets) ws.terminate();
      await Promise.all(sessions.map((s) => s.close()));
      process.send({ closed: true });
    }
  } catch (error) {
    process.send({ error: String(error?.stack ?? error) });
  }
});
process.send({ ready: true });
