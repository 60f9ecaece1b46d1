#!/usr/bin/env node
'use strict';
// `npm install` hook. In a package installed from the registry, a prebuilt binary for this
// platform (prebuilds/) is all that is needed, and nothing is built. In a source checkout (or
// with --force, or when no prebuild fits), it builds from source: the pinned third-party libraries
// (scripts/deps/build.js, cached under ~/.cache/sockudo-ws) and then the addon with cmake-js.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const force = process.argv.includes('--force');
const checkout = fs.existsSync(path.join(root, '.git'));

function log(msg) { process.stderr.write(`[sockudo-ws] ${msg}\n`); }

// A prebuilt binary for this platform (node-gyp-build's pick from prebuilds/<platform>-<arch>/)
// that loads in this Node means there is nothing to build. When one exists but does not load
// (an older glibc, say), say why before falling back to a build from source.
function prebuildLoads() {
  let file;
  try {
    file = require('node-gyp-build').resolve(root);
  } catch {
    return false; // none for this platform, architecture and libc
  }
  if (!file.includes(`${path.sep}prebuilds${path.sep}`)) return false; // a local build/ exists: rebuild it
  try {
    require(file);
    return true;
  } catch (e) {
    // The binary loaded but refused a setting (for example an unknown SOCKUDO_WS_KERNEL): it works.
    if (typeof e?.code === 'string' && e.code.startsWith('ERR_SOCKUDO_WS_')) return true;
    log(`the prebuilt binary ${path.relative(root, file)} does not load here: ${String(e?.message ?? e).split('\n')[0]}`);
    return false;
  }
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts });
  if (r.status !== 0) {
    log(`${path.basename(cmd)} ${args.join(' ')} failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status || 1);
  }
  return r;
}

if (!force && !checkout && !process.env.SOCKUDO_WS_BUILD_FROM_SOURCE && prebuildLoads()) {
  log('using the prebuilt binary for this platform');
  process.exit(0);
}

let cmakeJs;
try {
  cmakeJs = path.join(path.dirname(require.resolve('cmake-js/package.json', { paths: [root] })), 'bin', 'cmake-js');
  require.resolve('node-addon-api', { paths: [root] });
} catch {
  log('no prebuilt binary fits this platform, and building from source needs cmake-js and node-addon-api:');
  log('  npm install --save-dev cmake-js node-addon-api && SOCKUDO_WS_BUILD_FROM_SOURCE=1 npm rebuild sockudo-ws');
  log('It also needs cmake >= 3.20, a C++20 compiler and, for the third-party sources, a Debian/Ubuntu apt');
  log('archive (see "Building from source" in README.md).');
  process.exit(1);
}

log('building the pinned third-party libraries (cached in ~/.cache/sockudo-ws)');
const deps = spawnSync(process.execPath, [path.join(__dirname, 'deps', 'build.js')], {
  cwd: root, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8',
});
if (deps.status !== 0) process.exit(deps.status || 1);
const prefix = deps.stdout.trim().split('\n').pop();

log('building the addon with cmake-js');
// Always configure (cheap, incremental): a new dependency prefix must reach CMake's cache.
const cmakeArgs = ['--log-level', 'warn', `--CDSOCKUDO_WS_DEPS_PREFIX=${prefix}`];
if (force) fs.rmSync(path.join(root, 'build'), { recursive: true, force: true });
run(process.execPath, [cmakeJs, 'configure', ...cmakeArgs]);
run(process.execPath, [cmakeJs, 'build', ...cmakeArgs]);
