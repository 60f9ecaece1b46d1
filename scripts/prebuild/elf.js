'use strict';
// What a shared object asks of the system it is loaded on, read with readelf (binutils; works for
// any ELF machine, so also for a cross-built arm64 addon):
//   needed    its DT_NEEDED libraries
//   versions  the symbol versions it requires, per library (GLIBC_2.14, GLIBCXX_3.4.21, ...)
//   exported  the dynamic symbols it defines
const { execFileSync } = require('node:child_process');

function readelf(args, file) {
  return execFileSync('readelf', ['-W', ...args, file], { encoding: 'utf8', maxBuffer: 1 << 28 });
}

function compareVersions(a, b) {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] || 0) - (pb[i] || 0);
    if (d) return d;
  }
  return 0;
}

function inspect(file) {
  const needed = [...readelf(['-d'], file).matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);

  const versions = {};
  let lib = null;
  let inNeeds = false;
  for (const line of readelf(['-V'], file).split('\n')) {
    if (/^Version needs section/.test(line)) { inNeeds = true; continue; }
    if (/^Version (definition|symbols) section/.test(line)) { inNeeds = false; continue; }
    if (!inNeeds) continue;
    const f = /File: (\S+)/.exec(line);
    if (f) { lib = f[1]; versions[lib] = versions[lib] || []; continue; }
    const n = /Name: (\S+)/.exec(line);
    if (n && lib) versions[lib].push(n[1]);
  }
  const all = Object.values(versions).flat();
  const glibc = all.filter((v) => v.startsWith('GLIBC_') && /^GLIBC_\d+(\.\d+)*$/.test(v)).map((v) => v.slice(6)).sort(compareVersions);

  const exported = [];
  for (const line of readelf(['--dyn-syms'], file).split('\n')) {
    // Num: Value Size Type Bind Vis Ndx Name
    const f = line.trim().split(/\s+/);
    if (f.length < 8 || !/^\d+:$/.test(f[0])) continue;
    if (f[6] === 'UND' || f[4] === 'LOCAL' || f[3] === 'SECTION' || f[3] === 'FILE') continue;
    exported.push(f[7].replace(/@.*$/, ''));
  }
  return {
    needed,
    versions,
    maxGlibc: glibc.length ? glibc[glibc.length - 1] : null,
    // Anything versioned that is not glibc's (GLIBCXX_, CXXABI_, GCC_): a libstdc++/libgcc_s dependency.
    nonGlibc: all.filter((v) => !v.startsWith('GLIBC_')),
    exported: exported.sort(),
  };
}

/** Problems that would stop the binary loading on an old or minimal glibc system ([] when none). */
function portabilityProblems(info, maxGlibc) {
  const problems = [];
  if (info.maxGlibc && compareVersions(info.maxGlibc, maxGlibc) > 0) problems.push(`needs GLIBC_${info.maxGlibc} (at most ${maxGlibc} allowed)`);
  const cxx = info.needed.filter((n) => /^lib(stdc\+\+|gcc_s)\b/.test(n));
  if (cxx.length) problems.push(`NEEDED ${cxx.join(', ')} (the C++ runtime must be linked statically)`);
  if (info.nonGlibc.length) problems.push(`requires symbol versions ${[...new Set(info.nonGlibc)].join(', ')}`);
  const extra = info.exported.filter((s) => s !== 'napi_register_module_v1' && s !== 'node_api_module_get_api_version_v1');
  if (extra.length) problems.push(`exports ${extra.length} symbols beyond the N-API entry points (${extra.slice(0, 5).join(', ')}…)`);
  return problems;
}

module.exports = { inspect, portabilityProblems, compareVersions };
