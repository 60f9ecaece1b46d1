import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import * as path from 'node:path';

export const root = path.resolve(__dirname, '..', '..');
export const requireFromRoot = createRequire(path.join(root, 'package.json'));

/** Runs a CommonJS snippet in a fresh Node process (own env, own addon load); returns its output. */
export function runNode(code: string, env: Record<string, string | undefined> = {}, cwd = root) {
  const r = spawnSync(process.execPath, ['-e', code], { cwd, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Reference masking, byte at a time (RFC 6455 §5.3). */
export function referenceMask(src: Uint8Array, key: Uint8Array, phase = 0): Buffer {
  const out = Buffer.alloc(src.length);
  for (let i = 0; i < src.length; i++) out[i] = src[i]! ^ key[(phase + i) & 3]!;
  return out;
}
