#!/usr/bin/env node
'use strict';
// Builds the native load generator (bench/loadgen, target sockudo-loadgen) in build-bench/, the
// same Release + SOCKUDO_WS_BENCH=ON configuration scripts/bench-native.js uses, so one configure
// serves both. Build output goes to stderr; the last stdout line is the binary's path.
//
//   node scripts/build-loadgen.js  →  /…/build-bench/bench/loadgen/sockudo-loadgen
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const build = path.join(root, 'build-bench');
const run = (cmd, args) => {
  // Child stdout → our stderr: our stdout carries only the path.
  const r = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', 2, 2] });
  if (r.status !== 0) {
    console.error(`build-loadgen: ${cmd} ${args.join(' ')} failed`);
    process.exit(r.status || 1);
  }
};
const deps = spawnSync(process.execPath, [path.join(__dirname, 'deps', 'build.js')], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
if (deps.status !== 0) process.exit(1);
const prefix = deps.stdout.trim().split('\n').pop();
run('cmake', ['-S', root, '-B', build, '-DCMAKE_BUILD_TYPE=Release', '-DSOCKUDO_WS_BENCH=ON', `-DSOCKUDO_WS_DEPS_PREFIX=${prefix}`]);
run('cmake', ['--build', build, '--target', 'sockudo-loadgen', '-j', '2']);
const exe = path.join(build, 'bench', 'loadgen', 'sockudo-loadgen');
if (!fs.existsSync(exe)) {
  console.error(`build-loadgen: ${exe} was not produced`);
  process.exit(1);
}
console.log(exe);
