// Where a server's CPU goes: `perf record` on the server process (core 0) while the load generator
// (core 1) drives it, then the samples grouped into kernel TCP/IP (both ends of loopback: the
// sender's softirq delivers to the receiver), the system-call path, io_uring's own work, and user
// space. Needs perf (Debian: linux-perf) and root.
//
//   node bench/js/profile.mjs fanout [--impls sockudo,sockudo-uring]   one 512 B publish to 10,000 idle subscribers, 100 times
//   node bench/js/profile.mjs echo   [--impls ...] [--size 13] [--connections 100]   3 s of echo
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { loadgenPath } from './bench-common.mjs';
import { runLoadgen, Server } from './drive.mjs';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    impls: { type: 'string', default: 'sockudo,sockudo-uring' },
    size: { type: 'string', default: '13' },
    connections: { type: 'string', default: '100' },
  },
});
const mode = positionals[0];
if (mode !== 'fanout' && mode !== 'echo') throw new Error('usage: profile.mjs fanout|echo [--impls a,b]');
if (spawnSync('perf', ['--version']).status !== 0) throw new Error('perf is missing (Debian: apt-get install linux-perf)');

// Kernel symbols by what they do; the first matching group wins.
const GROUPS = [
  ['system-call path', /^(do_syscall_64|entry_SYSCALL|syscall_exit|exit_to_user|__x64_sys_|__sys_send|___sys_sendmsg|__sys_recv|__fget|fdget|__fdget|sockfd_lookup|copy_msghdr|import_iovec|__import_iovec|sock_sendmsg|sock_recvmsg|ep_|do_epoll|__check_object_size|syscall_return)/],
  ['io_uring', /^(io_|__io_|tctx_task_work)/],
  ['kernel TCP/IP and loopback', /^(tcp_|__tcp|ip_|__ip|ipv4_|__dev_queue|dev_hard|loopback|net_rx|process_backlog|__netif|netif_|skb_|__skb|kfree_skb|consume_skb|sock_def|__inet|inet_|_raw_spin|do_softirq|handle_softirqs|__napi|dst_|sk_|__sk|release_sock|lock_sock|__alloc_skb|kmem_|kfree|__kmalloc|_copy_from_iter|_copy_to_iter|bbr_|__mod_timer|mod_timer|read_tsc|validate_xmit|__local_bh|__wake_up|try_to_wake|ttwu|select_task|enqueue_|__rcu|rcu_)/],
];

async function profile(impl, data) {
  const server = await new Server(impl).start();
  let lg;
  try {
    let done;
    if (mode === 'fanout') {
      let idle;
      const ready = new Promise((r) => { idle = r; });
      lg = runLoadgen(loadgenPath(), ['--scenario', 'connections', '--port', String(server.port), '--connections', '10000', '--hold', '120'],
        { timeoutMs: 300_000, onLine: (o) => { if (o.phase === 'idle') idle(o); } });
      lg.done.catch(() => {});
      await ready;
      await server.ask({ cmd: 'publish-cost', count: 10, size: 512 });  // warm
    }
    const perf = spawn('perf', ['record', '-g', '-o', data, '-p', String(server.child.pid)], { stdio: 'ignore' });
    const perfExited = new Promise((r) => perf.on('exit', r));
    await new Promise((r) => setTimeout(r, 500));
    if (mode === 'fanout') {
      const cost = await server.ask({ cmd: 'publish-cost', count: 100, size: 512 });
      done = `${Math.round((cost.usPerBroadcast * 1000) / cost.connections)} ns of CPU per subscriber`;
    } else {
      const out = await runLoadgen(loadgenPath(), ['--scenario', 'echo', '--port', String(server.port), '--connections', values.connections,
        '--size', values.size, '--seconds', '3', '--warmup', '0']).done;
      done = `${Math.round(out.rate)} msg/s (under perf)`;
    }
    perf.kill('SIGINT');
    await perfExited;
    return done;
  } finally {
    lg?.child.kill('SIGKILL');
    await server.stop();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'sockudo-ws-profile-'));
try {
  const what = mode === 'fanout' ? 'one 512 B publish to 10,000 idle subscribers, 100 times' : `echo, ${values.connections} connections × ${values.size} B, 3 s`;
  console.log(`# CPU profile: ${what}\n\nCommand: \`node bench/js/profile.mjs ${process.argv.slice(2).join(' ')}\`\n`);
  console.log(`| server | result | ${GROUPS.map(([g]) => g).join(' | ')} | other kernel | user space |`);
  console.log(`|---|---|${GROUPS.map(() => '---|').join('')}---|---|`);
  for (const impl of values.impls.split(',')) {
    const data = join(dir, `${impl}.data`);
    const result = await profile(impl, data);
    const report = spawnSync('perf', ['report', '-i', data, '--no-children', '--sort', 'symbol', '--stdio', '-g', 'none'], { encoding: 'utf8', maxBuffer: 1 << 28 });
    const share = Object.fromEntries([...GROUPS.map(([g]) => [g, 0]), ['other kernel', 0], ['user space', 0]]);
    for (const line of report.stdout.split('\n')) {
      const m = /^\s*([\d.]+)%\s+\[([.k])\]\s+(\S+)/.exec(line);
      if (!m) continue;
      const pct = Number(m[1]);
      if (m[2] === '.') { share['user space'] += pct; continue; }
      const group = GROUPS.find(([, re]) => re.test(m[3]));
      share[group ? group[0] : 'other kernel'] += pct;
    }
    console.log(`| ${impl} | ${result} | ${Object.values(share).map((p) => `${p.toFixed(1)} %`).join(' | ')} |`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
