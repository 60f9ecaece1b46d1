// The Pusher benchmark's server, one app (client events on, limits raised so the benchmark measures
// fan-out, not the limits), on 127.0.0.1. Prints "listening <port>".
//   node bench/js/pusher-server.mjs sockudo   sockudo-ws/pusher
//   node bench/js/pusher-server.mjs soketi    soketi 1.6 from SOKETI_PATH (see README, Pusher benchmark:
//                                             an npm-installed soketi package whose uWebSockets.js
//                                             dependency resolves to a local build, as for UWS_PATH)
// soketi runs with its defaults (local adapter, sync queue, local rate limiter), its metrics
// server and its cluster discovery bound to 127.0.0.1 on free ports, discovery unicast to
// 127.0.0.1 (its default broadcasts to 255.255.255.255).
import { createRequire } from 'node:module';
import * as net from 'node:net';
import { join } from 'node:path';

import { freePort } from './bench-common.mjs';

const require = createRequire(import.meta.url);
const impl = process.argv[2];
export const BENCH_APP = { id: 'bench', key: 'bench-key', secret: 'bench-secret' };

if (impl === 'sockudo') {
  const { PusherServer } = require('sockudo-ws/pusher');
  const server = new PusherServer({
    port: 0, host: '127.0.0.1', maxConnections: -1, activityTimeout: 3600,
    apps: [{ ...BENCH_APP, enableClientMessages: true, maxClientEventsPerSecond: 1_000_000, maxPresenceMembersPerChannel: 100_000 }],
  });
  await server.listening();
  console.log(`listening ${server.address().port}`);
  process.on('SIGTERM', () => server.close().then(() => process.exit(0)));
} else if (impl === 'soketi') {
  if (!process.env.SOKETI_PATH) throw new Error('soketi needs SOKETI_PATH (a soketi package directory with its dependencies installed)');
  const { Server } = require(join(process.env.SOKETI_PATH, 'dist', 'server.js'));
  const [port, metricsPort, discoveryPort] = [await freePort(), await freePort(), await freePort()];
  const server = new Server({
    host: '127.0.0.1', port, 'metrics.host': '127.0.0.1', 'metrics.port': metricsPort,
    'cluster.address': '127.0.0.1', 'cluster.unicast': '127.0.0.1', 'cluster.port': discoveryPort,
    'presence.maxMembersPerChannel': 100_000, 'shutdownGracePeriod': 100,
    'appManager.array.apps': [{
      ...BENCH_APP, maxConnections: -1, enableClientMessages: true, enabled: true,
      maxBackendEventsPerSecond: -1, maxClientEventsPerSecond: -1, maxReadRequestsPerSecond: -1, webhooks: [],
    }],
  });
  await server.start();
  // start() resolves before uWS has bound the port: wait until it accepts.
  for (let i = 0; ; i++) {
    const up = await new Promise((resolve) => net.connect(port, '127.0.0.1').on('connect', function () { this.destroy(); resolve(true); }).on('error', () => resolve(false)));
    if (up) break;
    if (i > 200) throw new Error('soketi did not listen');
    await new Promise((r) => setTimeout(r, 25));
  }
  console.log(`listening ${port}`);
  process.on('SIGTERM', () => server.stop().then(() => process.exit(0)));
} else {
  throw new Error(`unknown implementation ${impl} (sockudo or soketi)`);
}
