#!/usr/bin/env node
'use strict';
// Builds the addon with node-gyp from binding.gyp (the from-source fallback node-gyp-build uses)
// in a scratch copy of the package, so it never disturbs the cmake-js build in build/.
// Usage: node scripts/build-gyp.js [outDir]   → prints the path of the built .node
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..');
const out = path.resolve(process.argv[2] || fs.mkdtempSync(path.join(os.tmpdir(), 'sockudo-ws-gyp-')));
fs.mkdirSync(out, { recursive: true });
for (const entry of ['binding.gyp', 'package.json', 'native', 'scripts']) {
  fs.cpSync(path.join(root, entry), path.join(out, entry), { recursive: true });
}
fs.rmSync(path.join(out, 'node_modules'), { recursive: true, force: true });
fs.symlinkSync(path.join(root, 'node_modules'), path.join(out, 'node_modules'));
const gyp = path.join(path.dirname(require.resolve('node-gyp/package.json', { paths: [root] })), 'bin', 'node-gyp.js');
const jobs = String(os.availableParallelism ? os.availableParallelism() : os.cpus().length);
// The headers of the running Node when they are installed beside it (a distribution's node, or
// npm's nodedir setting, which npm passes on only to scripts it runs): node-gyp would otherwise
// try to download them.
const nodedir = process.env.npm_config_nodedir || path.join(path.dirname(process.execPath), '..');
const headers = fs.existsSync(path.join(nodedir, 'include', 'node', 'node_api.h')) ? ['--nodedir', nodedir] : [];
const r = spawnSync(process.execPath, [gyp, 'rebuild', '--jobs', jobs, '--loglevel', 'warn', ...headers], {
  cwd: out, stdio: ['ignore', process.stderr, 'inherit'],
});
if (r.status !== 0) process.exit(r.status || 1);
process.stdout.write(path.join(out, 'build', 'Release', 'sockudo_ws.node') + '\n');
