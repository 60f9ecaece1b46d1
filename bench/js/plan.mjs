// What `npm run bench` measures: the scenarios, their cases in full and quick mode, and the
// metrics read from each load generator result (bench/loadgen/README.md describes the fields).
// A metric is {key, label, unit, better: 'higher'|'lower', get?(result)}; the first is the one the
// chart draws and the ratios compare.

const KiB = 1024;
export const sizeLabel = (n) => (n >= 1 << 20 ? `${n / (1 << 20)} MiB` : n >= KiB ? `${n / KiB} KiB` : `${n} B`);

const rtt = [
  { key: 'rtt_p50_us', label: 'RTT p50', unit: 'µs', better: 'lower' },
  { key: 'rtt_p99_us', label: 'RTT p99', unit: 'µs', better: 'lower' },
  { key: 'server_cpu', label: 'server CPU', unit: '%', better: 'none' },
];

/**
 * @param {{quick: boolean, seconds?: number}} mode
 * @returns the scenarios in running order; each has cases with the load generator's arguments.
 */
export function scenarios({ quick, seconds }) {
  const s = (full, short) => String(seconds ?? (quick ? short : full));
  const warmup = quick ? '0.5' : '1';
  const echoCases = [];
  // Text and binary: text costs a UTF-8 check (and, through JS, a string); binary does not.
  for (const binary of quick ? [false] : [false, true]) {
    for (const connections of quick ? [100] : [100, 1000]) {
      for (const size of quick ? [13, 16 * KiB] : [13, 512, KiB, 16 * KiB]) {
        echoCases.push({
          id: `echo-${binary ? 'bin-' : ''}${connections}-${size}`,
          title: `${connections} conns × ${sizeLabel(size)}${binary ? ' binary' : ''}`, params: { connections, size, binary },
          args: ['--scenario', 'echo', '--connections', String(connections), '--size', String(size), '--seconds', s(3, 1), '--warmup', warmup,
            ...(binary ? ['--binary'] : [])],
        });
      }
    }
  }
  const broadcastCases = [];
  for (const subscribers of quick ? [100] : [100, 500]) {
    for (const size of quick ? [512] : [512, KiB]) {
      broadcastCases.push({
        id: `broadcast-${subscribers}-${size}`, title: `${subscribers} subscribers × ${sizeLabel(size)}`, params: { subscribers, size },
        args: ['--scenario', 'broadcast', '--subscribers', String(subscribers), '--size', String(size), '--seconds', s(3, 1), '--warmup', warmup],
      });
    }
  }
  const idle = quick ? 2000 : 10000;
  return [
    {
      name: 'echo', title: 'Echo throughput',
      about: 'N connections, one message in flight each (uWebSockets load_test semantics); every echo verified.',
      metrics: [{ key: 'rate', label: 'messages/s', unit: 'msg/s', better: 'higher' }, ...rtt],
      cases: echoCases,
    },
    {
      name: 'pipelined', title: 'Pipelined, one connection',
      about: '100,000 "Hello, World!" messages: send (client→server, ends at the echo of a sync message), echo (round trips, pipelined), recv (server→client after one `__flood__` request).',
      metrics: [
        { key: 'total_ms', label: 'total', unit: 'ms', better: 'lower' },
        { key: 'send_ms', label: 'send', unit: 'ms', better: 'lower' },
        { key: 'echo_ms', label: 'echo', unit: 'ms', better: 'lower' },
        { key: 'recv_ms', label: 'recv', unit: 'ms', better: 'lower' },
      ],
      cases: [{ id: 'pipelined-100000', title: '100,000 × 13 B', params: { count: 100000 }, args: ['--scenario', 'pipelined', '--count', '100000'] }],
    },
    {
      name: 'broadcast', title: 'Broadcast',
      about: 'One publisher, closed loop: the next message goes out when every subscriber has the previous one. Ours and uWS publish to a topic; ws loops over its clients.',
      metrics: [
        { key: 'deliveries_per_sec', label: 'deliveries/s', unit: '/s', better: 'higher' },
        { key: 'latency_p50_us', label: 'p50', unit: 'µs', better: 'lower' },
        { key: 'latency_p99_us', label: 'p99', unit: 'µs', better: 'lower' },
        { key: 'latency_p999_us', label: 'p99.9', unit: 'µs', better: 'lower' },
        { key: 'server_cpu', label: 'server CPU', unit: '%', better: 'none' },
      ],
      cases: broadcastCases,
    },
    {
      name: 'connections', title: 'Idle connections',
      about: `${idle.toLocaleString('en-US')} connections opened (≤200 handshakes pending), held idle; a fresh server process per run. Memory per connection = server RSS growth / connections; JS heap = V8 heapUsed growth after a GC; outside the heap = the difference (native buffers, kernel-side excluded).`,
      fresh: true,
      metrics: [
        { key: 'rss_per_connection_bytes', label: 'RSS per connection', unit: 'B', better: 'lower' },
        { key: 'heap_per_connection_bytes', label: 'JS heap per connection', unit: 'B', better: 'lower' },
        { key: 'outside_heap_per_connection_bytes', label: 'outside the JS heap', unit: 'B', better: 'lower' },
        { key: 'handshakes_per_sec', label: 'handshakes/s', unit: '/s', better: 'higher' },
      ],
      cases: [{
        id: `connections-${idle}`, title: `${idle.toLocaleString('en-US')} idle connections`, params: { connections: idle },
        args: ['--scenario', 'connections', '--connections', String(idle), '--hold', quick ? '1' : '2'],
      }],
    },
    {
      name: 'latency', title: 'Latency at a fixed rate',
      about: 'Open loop (no coordinated omission): 100 connections, 13 B, one common rate for every server: half the lowest maximum measured in the 100 × 13 B echo case of this run (probed when echo did not run).',
      metrics: [
        { key: 'latency_p99_us', label: 'p99', unit: 'µs', better: 'lower' },
        { key: 'latency_p50_us', label: 'p50', unit: 'µs', better: 'lower' },
        { key: 'latency_p999_us', label: 'p99.9', unit: 'µs', better: 'lower' },
        { key: 'achieved_rate', label: 'achieved', unit: 'msg/s', better: 'none' },
      ],
      cases: [{
        id: 'latency-100-13', title: '100 conns × 13 B at ½ max', params: { connections: 100, size: 13 },
        args: ['--scenario', 'latency', '--connections', '100', '--size', '13', '--seconds', s(4, 1.5), '--warmup', warmup],
        rateFrom: { scenario: 'echo', case: 'echo-100-13', factor: 0.5 },
      }],
    },
  ];
}

/** The kernel rows (bench_kernels and bench/js/kernels.mjs JSON) as cases; contenders play the servers' part. */
export const kernelMetrics = [{ key: 'gbps', label: 'GB/s', unit: 'GB/s', better: 'higher' }];
export const kernelBaselines = { mask: ['memcpy'], utf8: ['simdutf'], 'js-mask': ['bufferutil'], 'js-unmask': ['bufferutil'], 'js-utf8': ['buffer.isUtf8'] };
