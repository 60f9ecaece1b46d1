#!/usr/bin/env node
'use strict';
// Builds bench/native (scripts/build-bench.js bench_kernels) and runs it pinned to one core
// (taskset, when available; SOCKUDO_WS_BENCH_CPU, default 1). Prints markdown tables; README's
// kernel numbers come from this command. Arguments go to the program (`--json FILE`).
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const built = spawnSync(process.execPath, [path.join(__dirname, 'build-bench.js'), 'bench_kernels'], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
if (built.status !== 0) process.exit(built.status || 1);
const exe = built.stdout.trim().split('\n').pop();
const cpu = process.env.SOCKUDO_WS_BENCH_CPU || '1';
const haveTaskset = spawnSync('taskset', ['--version']).status === 0;
console.log(`CPU: ${require('node:os').cpus()[0].model}; pinned to core ${haveTaskset ? cpu : '(taskset unavailable: not pinned)'}\n`);
const args = process.argv.slice(2);
const r = spawnSync(haveTaskset ? 'taskset' : exe, haveTaskset ? ['-c', cpu, exe, ...args] : args, { stdio: 'inherit' });
process.exit(r.status ?? 1);
