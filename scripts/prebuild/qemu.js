'use strict';
// Runs a cross-built (arm64) prebuild before it is shipped: Debian bullseye's arm64 Node (12.22,
// N-API 8, glibc 2.31: the oldest combination the binary claims to support) under qemu-user, with
// neither installed on the host:
//   <cache>/verify/bullseye-arm64-node-<key>/qemu/   qemu-user-static unpacked from the host
//                                                    archive's .deb (apt-get download; not installed)
//   <cache>/verify/bullseye-arm64-node-<key>/root/   debootstrap --foreign of bullseye arm64 with
//                                                    nodejs, every .deb unpacked (no second stage:
//                                                    nothing runs inside it but node under qemu)
// Needs root (debootstrap) the first time, like the sysroot; about 20 s and 300 MB.
const { spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const { debianMirror } = require('./sysroot.js');

const SUITE = 'bullseye';
const RECIPE = `debootstrap --foreign --variant=minbase --arch=arm64 --include=nodejs ${SUITE}; dpkg-deb -x *.deb; qemu-user-static .deb; v1`;

function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 26, ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal}): ${(r.stderr || r.stdout || r.error?.message || '').slice(-2000)}`);
  return r.stdout;
}

function ensureArm64Runner(cacheRoot) {
  const key = crypto.createHash('sha256').update(RECIPE).digest('hex').slice(0, 16);
  const dir = path.join(cacheRoot, 'verify', `${SUITE}-arm64-node-${key}`);
  const result = { qemu: path.join(dir, 'qemu', 'usr', 'bin', 'qemu-aarch64-static'), root: path.join(dir, 'root') };
  if (fs.existsSync(path.join(dir, '.complete'))) return result;

  const tmp = `${dir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(path.join(tmp, 'qemu'), { recursive: true });
  try {
    sh('apt-get', ['download', '-qq', 'qemu-user-static'], { cwd: tmp });
    const deb = fs.readdirSync(tmp).find((f) => f.startsWith('qemu-user-static_') && f.endsWith('.deb'));
    if (!deb) throw new Error('apt-get download qemu-user-static gave no .deb');
    sh('dpkg-deb', ['-x', path.join(tmp, deb), path.join(tmp, 'qemu')]);
    fs.rmSync(path.join(tmp, deb));
    const root = path.join(tmp, 'root');
    sh('debootstrap', ['--foreign', '--variant=minbase', '--arch=arm64', '--keyring=/usr/share/keyrings/debian-archive-keyring.gpg',
      '--include=nodejs', SUITE, root, debianMirror()]);
    const archives = path.join(root, 'var', 'cache', 'apt', 'archives');
    for (const f of fs.readdirSync(archives).filter((n) => n.endsWith('.deb'))) sh('dpkg-deb', ['-x', path.join(archives, f), root]);
    fs.rmSync(archives, { recursive: true, force: true });
    if (!fs.existsSync(path.join(root, 'usr', 'bin', 'node')) && !fs.existsSync(path.join(root, 'usr', 'bin', 'nodejs'))) throw new Error('no node in the arm64 root');
    fs.writeFileSync(path.join(tmp, '.complete'), RECIPE + '\n');
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(tmp, dir);
  return result;
}

/** Runs the arm64 root's node under qemu with `args`; the addon file must be given by path. */
function runArm64Node(runner, args) {
  const node = ['node', 'nodejs'].map((n) => path.join(runner.root, 'usr', 'bin', n)).find((p) => fs.existsSync(p));
  return spawnSync(runner.qemu, ['-L', runner.root, node, ...args], { encoding: 'utf8', timeout: 120_000 });
}

module.exports = { ensureArm64Runner, runArm64Node };
