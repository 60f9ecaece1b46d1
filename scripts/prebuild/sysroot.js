'use strict';
// The old-glibc toolchain for prebuilt binaries: a Debian root (sysroot.lock) made once by
// debootstrap and cached, plus cc/c++ wrappers that run that root's gcc on the host with
// --sysroot (no chroot: the host's cmake, make, binutils and node are used as they are).
//
//   <cache>/sysroot/<suite>-<target>-<key>/root/       the debootstrapped Debian root
//   <cache>/sysroot/<suite>-<target>-<key>/bin/cc, c++ the wrappers
//   <cache>/sysroot/<suite>-<target>-<key>/.complete   the installed versions, once verified
//
// key = sha256(lock line + recipe), so a pin change makes a new root (and, through the key, new
// third-party builds). debootstrap needs root privileges and the `debootstrap` package.
const { spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const LOCK = path.join(__dirname, 'sysroot.lock');
const KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';
// Bump when the way a root is made changes (not needed for a pin change: the line is hashed).
const RECIPE = 'debootstrap --variant=minbase --arch=amd64 --include=<pins>; absolute symlinks made relative; v1';

function log(msg) { process.stderr.write(`[prebuild] ${msg}\n`); }

function readLock(target) {
  for (const raw of fs.readFileSync(LOCK, 'utf8').split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [t, suite, triple, ...pins] = line.split(/\s+/);
    if (t !== target) continue;
    return { target, suite, triple, line, pins: pins.map((p) => { const [name, version] = p.split('='); return { name, version }; }) };
  }
  throw new Error(`scripts/prebuild/sysroot.lock has no toolchain for ${target}`);
}

/** The Debian mirror this machine's apt uses (as scripts/deps/fetch.sh finds it), or SOCKUDO_WS_DEBIAN_MIRROR. */
function debianMirror() {
  if (process.env.SOCKUDO_WS_DEBIAN_MIRROR) return process.env.SOCKUDO_WS_DEBIAN_MIRROR;
  const dir = '/etc/apt/sources.list.d';
  const stanzas = [];
  for (const f of (fs.existsSync(dir) ? fs.readdirSync(dir) : []).filter((n) => n.endsWith('.sources')).sort()) {
    for (const block of fs.readFileSync(path.join(dir, f), 'utf8').split(/\n\s*\n/)) {
      const uri = /^URIs:\s*(\S+)/m.exec(block)?.[1];
      if (uri && !/^Enabled:\s*no/mi.test(block)) stanzas.push({ uri, debian: /debian-archive-keyring|\/debian\/?$/.test(block) });
    }
  }
  const pick = stanzas.find((s) => s.debian && /\/debian\/?$/.test(s.uri)) || stanzas.find((s) => s.debian) || stanzas[0];
  if (pick) return pick.uri;
  if (fs.existsSync('/etc/apt/sources.list')) {
    for (const line of fs.readFileSync('/etc/apt/sources.list', 'utf8').split('\n')) {
      const m = /^deb\s+(?:\[[^\]]*\]\s+)?([a-z]+:\/\/\S+)/.exec(line.trim());
      if (m) return m[1];
    }
  }
  throw new Error('no Debian mirror found in the apt configuration; set SOCKUDO_WS_DEBIAN_MIRROR');
}

/** Installed packages of a Debian root: name → version (dpkg's status database). */
function installedVersions(rootDir) {
  const status = path.join(rootDir, 'var', 'lib', 'dpkg', 'status');
  const out = new Map();
  if (!fs.existsSync(status)) return out;
  for (const block of fs.readFileSync(status, 'utf8').split(/\n\n+/)) {
    const name = /^Package: (\S+)/m.exec(block)?.[1];
    const version = /^Version: (\S+)/m.exec(block)?.[1];
    if (name && version && /^Status: install ok installed/m.test(block)) out.set(name, version);
  }
  return out;
}

/** Mount points at or below dir (debootstrap mounts /proc and /sys in the root while it works). */
function mountsUnder(dir) {
  const real = fs.existsSync(dir) ? fs.realpathSync(dir) : dir;
  return fs.readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1])
    .filter(Boolean).map((m) => m.replace(/\\040/g, ' ')).filter((m) => m === real || m.startsWith(real + '/'));
}

/** Removes a (partial) root, but never through a mount point that is still there. */
function removeRoot(dir) {
  if (!fs.existsSync(dir)) return;
  for (const m of mountsUnder(dir).sort().reverse()) spawnSync('umount', ['-l', m], { stdio: 'ignore' });
  const left = mountsUnder(dir);
  if (left.length) throw new Error(`${dir} still has mounts (${left.join(', ')}); unmount them and remove it by hand`);
  fs.rmSync(dir, { recursive: true, force: true });
}

// ld resolves absolute symlinks (lib64/ld-linux-x86-64.so.2 -> /lib/...) on the host, not in the
// sysroot: make every absolute link inside the root relative.
function relativizeLinks(rootDir) {
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isSymbolicLink()) {
        const t = fs.readlinkSync(p);
        if (t.startsWith('/')) {
          fs.unlinkSync(p);
          fs.symlinkSync(path.relative(path.dirname(p), path.join(rootDir, t)) || '.', p);
        }
      } else if (e.isDirectory() && !['proc', 'sys', 'dev'].includes(path.relative(rootDir, p))) {
        walk(p);
      }
    }
  };
  walk(rootDir);
}

function quote(s) { return `'${s.replace(/'/g, `'\\''`)}'`; }

function writeIfChanged(file, text, mode) {
  if (!fs.existsSync(file) || fs.readFileSync(file, 'utf8') !== text) fs.writeFileSync(file, text, { mode });
}

// The wrappers (and, for a cross toolchain, a CMake toolchain file). Rewritten on every use, so
// they follow this script; the root itself is what the key pins.
//   x64    the root's x86_64 gcc 10 with --sysroot; the host's binutils (gcc falls back to them)
//   arm64  the root's aarch64 cross gcc 10 and cross binutils, which need the root's libbfd and
//          libopcodes: LD_LIBRARY_PATH names a directory holding only those (never the root's libc)
function writeTools(dir, rootDir, lock, target) {
  const binDir = path.join(dir, 'bin');
  fs.mkdirSync(binDir, { recursive: true });
  let env = '';
  if (target !== 'x64') {
    const hostlib = path.join(dir, 'hostlib');
    fs.mkdirSync(hostlib, { recursive: true });
    const libdir = path.join(rootDir, 'usr', 'lib', 'x86_64-linux-gnu');
    for (const f of fs.readdirSync(libdir).filter((n) => /^lib(bfd|opcodes|ctf|ctf-nobfd)-.*\.so/.test(n) || /^lib(ctf|ctf-nobfd)-\w+\.so/.test(n))) {
      const link = path.join(hostlib, f);
      if (!fs.existsSync(link)) fs.symlinkSync(path.join(libdir, f), link);
    }
    env = `LD_LIBRARY_PATH=${quote(hostlib)}\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH} `;
  }
  const tools = { cc: 'gcc-10', 'c++': 'g++-10' };
  if (target !== 'x64') Object.assign(tools, { strip: 'strip', ar: 'ar', ranlib: 'ranlib' });
  const out = {};
  for (const [name, tool] of Object.entries(tools)) {
    const file = path.join(binDir, name);
    const sysrootArg = /^(cc|c\+\+)$/.test(name) ? ` --sysroot=${quote(rootDir)}` : '';
    writeIfChanged(file, `#!/bin/sh\n# ${lock.suite}'s ${lock.triple}-${tool} for ${target}, run on the host.\n` +
      `${env}exec ${quote(path.join(rootDir, 'usr', 'bin', `${lock.triple}-${tool}`))}${sysrootArg} "$@"\n`, 0o755);
    out[name === 'c++' ? 'cxx' : name] = file;
  }
  if (target !== 'x64') {
    const file = path.join(dir, 'toolchain.cmake');
    writeIfChanged(file, [
      `# Cross toolchain for ${target} (scripts/prebuild/sysroot.js)`,
      'set(CMAKE_SYSTEM_NAME Linux)',
      `set(CMAKE_SYSTEM_PROCESSOR ${lock.triple.split('-')[0]})`,
      `set(CMAKE_C_COMPILER ${out.cc})`,
      `set(CMAKE_CXX_COMPILER ${out.cxx})`,
      `set(CMAKE_AR ${out.ar} CACHE FILEPATH "")`,
      `set(CMAKE_RANLIB ${out.ranlib} CACHE FILEPATH "")`,
      `set(CMAKE_STRIP ${out.strip} CACHE FILEPATH "")`,
      'set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)',
      '',
    ].join('\n'), 0o644);
    out.toolchainFile = file;
  }
  return out;
}

/**
 * Makes (or reuses) the toolchain for `target` (x64 | arm64) under cacheRoot.
 * Returns { dir, root, key, suite, triple, cross, cc, cxx[, strip, ar, ranlib, toolchainFile], versions }.
 */
function ensureSysroot(target, cacheRoot) {
  const lock = readLock(target);
  const key = crypto.createHash('sha256').update(`${lock.line}\n${RECIPE}`).digest('hex').slice(0, 16);
  const dir = path.join(cacheRoot, 'sysroot', `${lock.suite}-${target}-${key}`);
  const rootDir = path.join(dir, 'root');
  const stamp = path.join(dir, '.complete');
  const result = () => ({
    dir, root: rootDir, key, suite: lock.suite, triple: lock.triple, cross: target !== 'x64',
    ...writeTools(dir, rootDir, lock, target),
    versions: JSON.parse(fs.readFileSync(stamp, 'utf8')),
  });
  if (fs.existsSync(stamp)) return result();

  if (process.platform !== 'linux') throw new Error('prebuilt binaries are built on Linux');
  const debootstrap = ['/usr/sbin/debootstrap', '/usr/bin/debootstrap'].find((p) => fs.existsSync(p));
  if (!debootstrap) throw new Error('debootstrap is not installed (apt-get install debootstrap): it makes the old-glibc sysroot');
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error('debootstrap needs root to make the old-glibc sysroot: run `npm run prebuild` as root once (the sysroot is cached)');
  }
  if (!fs.existsSync(KEYRING)) throw new Error(`${KEYRING} is missing (apt-get install debian-archive-keyring)`);

  const mirror = debianMirror();
  const tmp = `${dir}.tmp-${process.pid}`;
  removeRoot(tmp);
  fs.mkdirSync(path.join(tmp, 'bin'), { recursive: true });
  const tmpRoot = path.join(tmp, 'root');
  const started = Date.now();
  log(`debootstrap ${lock.suite} (${lock.pins.map((p) => p.name).join(', ')}) into ${dir} (once; about 2 minutes)`);
  try {
    const r = spawnSync(debootstrap, ['--variant=minbase', '--arch=amd64', `--keyring=${KEYRING}`,
      `--include=${lock.pins.map((p) => p.name).join(',')}`, lock.suite, tmpRoot, mirror],
    { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', maxBuffer: 1 << 28 });
    if (r.status !== 0) {
      const logFile = path.join(tmpRoot, 'debootstrap', 'debootstrap.log');
      const detail = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').slice(-4000) : '';
      throw new Error(`debootstrap failed (exit ${r.status}):\n${(r.stdout || '').slice(-3000)}${(r.stderr || '').slice(-3000)}${detail}`);
    }
    const left = mountsUnder(tmpRoot);
    if (left.length) throw new Error(`debootstrap left mounts behind: ${left.join(', ')}`);

    const installed = installedVersions(tmpRoot);
    const wrong = lock.pins.filter((p) => installed.get(p.name) !== p.version)
      .map((p) => `${p.name}: pinned ${p.version}, installed ${installed.get(p.name) ?? 'nothing'}`);
    if (wrong.length) throw new Error(`the ${lock.suite} root does not match scripts/prebuild/sysroot.lock:\n  ${wrong.join('\n  ')}`);
    relativizeLinks(tmpRoot);
    // Package caches are not needed to compile.
    fs.rmSync(path.join(tmpRoot, 'var', 'cache', 'apt', 'archives'), { recursive: true, force: true });
    fs.writeFileSync(path.join(tmp, '.complete'), JSON.stringify(Object.fromEntries(lock.pins.map((p) => [p.name, p.version])), null, 2) + '\n');
  } catch (e) {
    removeRoot(tmp);
    throw e;
  }
  removeRoot(dir);
  fs.renameSync(tmp, dir);
  log(`sysroot ready in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return result();
}

module.exports = { ensureSysroot, debianMirror, readLock, installedVersions };
