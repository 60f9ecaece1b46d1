// The Pusher benchmark's server: sockudo-ws/pusher with one app (client events on, limits raised
// so the benchmark measures fan-out, not the limits), 127.0.0.1, port 0. Prints "listening <port>".
//   node bench/js/pusher-server.mjs sockudo
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const impl = process.argv[2];
if (impl !== 'sockudo') throw new Error(`unknown implementation ${impl} (only sockudo: soketi could not be set up here, see bench/js/pusher.mjs)`);
const { PusherServer } = require('sockudo-ws/pusher');
export const BENCH_APP = { id: 'bench', key: 'bench-key', secret: 'bench-secret' };
const server = new PusherServer({
  port: 0, host: '127.0.0.1', maxConnections: -1, activityTimeout: 3600,
  apps: [{ ...BENCH_APP, enableClientMessages: true, maxClientEventsPerSecond: 1_000_000, maxPresenceMembersPerChannel: 100_000 }],
});
await server.listening();
console.log(`listening ${server.address().port}`);
process.on('SIGTERM', () => server.close().then(() => process.exit(0)));
