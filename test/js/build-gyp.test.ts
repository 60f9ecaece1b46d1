// binding.gyp builds the same addon as CMakeLists.txt from the same source list (native/sources.json).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect, it } from 'vitest';

import { root, runNode } from './helpers';

it('node-gyp builds an equivalent addon from binding.gyp', () => {
  const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'build-gyp.js')], { encoding: 'utf8', cwd: root, timeout: 15 * 60_000 });
  expect(r.status, r.stderr.slice(-4000)).toBe(0);
  const file = r.stdout.trim().split('\n').pop()!;
  try {
    expect(fs.existsSync(file)).toBe(true);
    const probe = (f: string) => runNode(`
      const b = require(${JSON.stringify(f)});
      const out = Buffer.alloc(5); b.mask(Buffer.from('Hello'), Buffer.from([0x37,0xfa,0x21,0x3d]), out, 0, 0);
      console.log(JSON.stringify({ keys: Object.keys(b).sort(), kernels: b.kernels(), versions: b.versions(), masked: out.toString('hex') }));`);
    const gyp = probe(file);
    const cmake = probe(path.join(root, 'build', 'Release', 'sockudo_ws.node'));
    expect(gyp.status, gyp.stderr).toBe(0);
    expect(JSON.parse(gyp.stdout)).toEqual(JSON.parse(cmake.stdout));
    expect(JSON.parse(gyp.stdout).masked).toBe('7f9f4d5158');
    const syms = spawnSync('nm', ['-D', '--defined-only', file], { encoding: 'utf8' }).stdout.trim().split('\n').length;
    expect(syms).toBe(2);
  } finally {
    fs.rmSync(path.dirname(path.dirname(path.dirname(file))), { recursive: true, force: true });
  }
}, 16 * 60_000);
