// Text sends are encoded to UTF-8 in one pass into a 4 KiB scratch buffer when they fit, and
// measured then encoded otherwise: strings whose UTF-8 length sits at that boundary, with 1-,
// 2-, 3- and 4-byte characters, must arrive intact.
import { afterEach, expect, it } from 'vitest';

import { requireFromRoot } from './helpers';

const { WebSocketServer, connect } = requireFromRoot('sockudo-ws') as typeof import('sockudo-ws');
let wss: InstanceType<typeof WebSocketServer> | undefined;

afterEach(async () => {
  await wss?.close();
  wss = undefined;
});

it('strings at the one-pass encoding boundary round-trip exactly', async () => {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  wss = server;
  server.on('connection', (ws) => ws.on('message', (d, isBinary) => ws.send(d, { binary: isBinary })));
  await new Promise((r) => server.once('listening', r));
  const ws = await connect(`ws://127.0.0.1:${server.address()!.port}`);
  const cases: string[] = [''];
  for (const [ch, bytes] of [['a', 1], ['é', 2], ['€', 3], ['💩', 4]] as const) {
    const around = Math.floor(4096 / bytes);
    for (let n = around - 3; n <= around + 1; n++) cases.push(ch.repeat(n));
  }
  cases.push('x'.repeat(4090) + '💩', 'x'.repeat(4091) + '€', 'y'.repeat(20_000) + 'é');
  const received: string[] = [];
  const done = new Promise<void>((resolve) => ws.on('message', (d) => { received.push(d as string); if (received.length === cases.length) resolve(); }));
  for (const c of cases) expect(ws.send(c)).toBe('success');
  await done;
  expect(received.map((r) => r.length)).toEqual(cases.map((c) => c.length));
  expect(received).toEqual(cases);
  ws.close(1000);
});
