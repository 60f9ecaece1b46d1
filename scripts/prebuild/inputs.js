'use strict';
// Where the prebuilt binary goes and what it is made from, so callers (test/js/prebuild.test.ts)
// can tell whether it is missing or older than its sources.
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..', '..');

/** node-gyp-build's name for an N-API build tagged with its libc (what lib/native.ts resolves). */
function prebuildFile(arch = process.arch, platform = 'linux') {
  return path.join(root, 'prebuilds', `${platform}-${arch}`, 'sockudo-ws.glibc.node');
}

/** Everything the prebuilt binary is compiled from (sources, build recipes, pins). */
const INPUTS = ['native', 'CMakeLists.txt', 'scripts/deps', 'scripts/prebuild.js', 'scripts/prebuild'];

function newestInput() {
  let newest = { file: null, mtimeMs: 0 };
  const visit = (p) => {
    const st = fs.statSync(p);
    if (st.isDirectory()) {
      for (const e of fs.readdirSync(p)) visit(path.join(p, e));
    } else if (st.mtimeMs > newest.mtimeMs && !p.endsWith('.md')) {
      newest = { file: p, mtimeMs: st.mtimeMs };
    }
  };
  for (const rel of INPUTS) if (fs.existsSync(path.join(root, rel))) visit(path.join(root, rel));
  return newest;
}

/** Why the prebuilt binary must be (re)built, or null when it is there and newer than every input. */
function staleReason(arch = process.arch) {
  const file = prebuildFile(arch);
  if (!fs.existsSync(file)) return `${path.relative(root, file)} is missing`;
  const newest = newestInput();
  if (newest.mtimeMs > fs.statSync(file).mtimeMs) return `${path.relative(root, newest.file)} is newer than ${path.relative(root, file)}`;
  return null;
}

module.exports = { prebuildFile, newestInput, staleReason, INPUTS };
