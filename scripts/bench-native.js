#!/usr/bin/env node
'use strict';
// Builds bench/native (Release, no sanitizers) in build-bench/ and runs it pinned to one core
// (taskset, when available). Prints markdown tables; README's numbers come from this command.
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.join(__dirname, '..');
const build = path.join(root, 'build-bench');
const sh = (cmd, args, opts = {}) => {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts });
  if (r.status !== 0) process.exit(r.status || 1);
  return r;
};
const deps = spawnSync(process.execPath, [path.join(__dirname, 'deps', 'build.js')], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
if (deps.status !== 0) process.exit(1);
const prefix = deps.stdout.trim().split('\n').pop();
sh('cmake', ['-S', root, '-B', build, '-DCMAKE_BUILD_TYPE=Release', '-DSOCKUDO_WS_BENCH=ON', `-DSOCKUDO_WS_DEPS_PREFIX=${prefix}`], { stdio: ['ignore', 'ignore', 'inherit'] });
sh('cmake', ['--build', build, '--target', 'bench_kernels', '-j', '2'], { stdio: ['ignore', 'ignore', 'inherit'] });
const exe = path.join(build, 'bench', 'native', 'bench_kernels');
const cpu = process.env.SOCKUDO_WS_BENCH_CPU || '1';
const haveTaskset = spawnSync('taskset', ['--version']).status === 0;
console.log(`CPU: ${require('node:os').cpus()[0].model}; pinned to core ${haveTaskset ? cpu : '(taskset unavailable: not pinned)'}\n`);
sh(haveTaskset ? 'taskset' : exe, haveTaskset ? ['-c', cpu, exe] : []);
