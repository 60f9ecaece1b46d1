#!/usr/bin/env node
'use strict';
// Builds native benchmark programs in build-bench/ (Release, SOCKUDO_WS_BENCH=ON, no sanitizers):
// the load generator (bench/loadgen, target sockudo-loadgen) and the kernel benchmark
// (bench/native, target bench_kernels) and the io_uring send benchmark (bench_send_zc). Build output goes to stderr; stdout carries one line per
// requested target: the binary's path, in the order asked.
//
//   node scripts/build-bench.js [sockudo-loadgen] [bench_kernels] [bench_send_zc]   (default: sockudo-loadgen)
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const build = path.join(root, 'build-bench');
const outputs = { 'sockudo-loadgen': ['bench', 'loadgen', 'sockudo-loadgen'], bench_kernels: ['bench', 'native', 'bench_kernels'],
  bench_send_zc: ['bench', 'native', 'bench_send_zc'] };
const targets = process.argv.length > 2 ? process.argv.slice(2) : ['sockudo-loadgen'];
for (const t of targets) {
  if (!outputs[t]) {
    console.error(`build-bench: unknown target '${t}' (known: ${Object.keys(outputs).join(', ')})`);
    process.exit(2);
  }
}
const run = (cmd, args) => {
  // Child stdout → our stderr: our stdout carries only the paths.
  const r = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', 2, 2] });
  if (r.status !== 0) {
    console.error(`build-bench: ${cmd} ${args.join(' ')} failed`);
    process.exit(r.status || 1);
  }
};
const deps = spawnSync(process.execPath, [path.join(__dirname, 'deps', 'build.js')], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
if (deps.status !== 0) process.exit(1);
const prefix = deps.stdout.trim().split('\n').pop();
run('cmake', ['-S', root, '-B', build, '-DCMAKE_BUILD_TYPE=Release', '-DSOCKUDO_WS_BENCH=ON', `-DSOCKUDO_WS_DEPS_PREFIX=${prefix}`]);
run('cmake', ['--build', build, '--target', ...targets, '-j', '2']);
for (const t of targets) {
  const exe = path.join(build, ...outputs[t]);
  if (!fs.existsSync(exe)) {
    console.error(`build-bench: ${exe} was not produced`);
    process.exit(1);
  }
  console.log(exe);
}
