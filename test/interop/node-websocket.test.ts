// Interop with Node's built-in WebSocket client (undici's WHATWG WebSocket; behind
// `--experimental-websocket` on Node 20, global from Node 22) in a child process, against our server.
import { afterEach, describe, expect, it } from 'vitest';

import { Cleanup, loadPackage, next } from '../js/helpers';
import { killPid, runNodeWebSocketClient } from './peer-process';

const lib = loadPackage();
type Ws = import('sockudo-ws').WebSocket;
const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const MiB = 1024 * 1024;
const runClient = (url: string, mode: string) => runNodeWebSocketClient(url, mode, (pid) => cleanup.add(pid, killPid));

async function ourServer(options: Record<string, unknown> = {}) {
  const wss = cleanup.add(new lib.WebSocketServer({ port: 0, host: '127.0.0.1', ...options }), (s) => s.close());
  await next(wss, 'listening');
  return { wss, url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}` };
}

describe(`Node ${process.version} built-in WebSocket client, our server`, () => {
  it('echoes text, UTF-8, ArrayBuffer, typed-array views and 1 MiB messages; closes with 4000 and a reason', async () => {
    const { wss, url } = await ourServer({ handleProtocols: (p: Set<string>) => (p.has('chat') ? 'chat' : false) });
    const received: [string | Buffer, boolean][] = [];
    let serverClose: Promise<[number, string]> | undefined;
    let request: { url: string; headers: Record<string, string> } | undefined;
    wss.on('connection', (ws: Ws, req: { url: string; headers: Record<string, string> }) => {
      request = req;
      serverClose = next<[number, string]>(ws, 'close', 20_000);
      ws.on('message', (data, isBinary) => {
        received.push([data, isBinary]);
        ws.send(data, { binary: isBinary });
      });
    });
    const { status, result, stderr } = await runClient(`${url}/undici?x=1`, 'echo');
    expect(result.error, stderr).toBeUndefined();
    expect(status).toBe(0);
    const results = result.results as { name: string; ok: boolean }[];
    expect(results.map((r) => r.name)).toEqual(['text', 'empty', 'utf8', 'arraybuffer', 'typed array view', '1 MiB binary', '1 MiB text']);
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(result.protocol).toBe('chat');
    expect(result.extensions).toBe('');
    expect(result.close).toEqual({ code: 4000, reason: '', wasClean: true });
    expect(result.errors).toEqual([]);
    // The server's side: exact contents and the close code and reason.
    expect(request?.url).toBe('/undici?x=1');
    expect(await serverClose!).toEqual([4000, 'bye from undici ✓']);
    expect(received.map(([d, b]) => [typeof d, b])).toEqual([
      ['string', false], ['string', false], ['string', false], ['object', true], ['object', true], ['object', true], ['string', false]]);
    expect(received[0]![0]).toBe('hello from undici');
    expect(received[1]![0]).toBe('');
    expect(received[2]![0]).toBe('ü € 😀 漢字 한국어 👩‍👩‍👧‍👦 𝄞');
    const pattern = (n: number, from = 0) => Buffer.from(Array.from({ length: n }, (_, i) => ((i + from) * 13 + 5) & 255));
    expect((received[3]![0] as Buffer).equals(pattern(300))).toBe(true);
    expect((received[4]![0] as Buffer).equals(pattern(10, 10))).toBe(true);
    expect((received[5]![0] as Buffer).equals(pattern(MiB))).toBe(true);
    expect(received[6]![0]).toBe('😀漢a'.repeat(150_000));
  });

  it('sees the messages our server sent and its close code 4002 with a UTF-8 reason', async () => {
    const { wss, url } = await ourServer();
    wss.on('connection', (ws: Ws) => {
      ws.send('hi ✓');
      ws.send(Buffer.alloc(70_000, 1));
      ws.close(4002, 'server says bye 漢字');
    });
    const { status, result, stderr } = await runClient(url, 'server-close');
    expect(result.error, stderr).toBeUndefined();
    expect(status).toBe(0);
    expect(result.got).toEqual([{ text: 'hi ✓' }, { binary: 70_000 }]);
    expect(result.close).toEqual({ code: 4002, reason: 'server says bye 漢字', wasClean: true });
  });
});
