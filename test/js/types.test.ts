import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as util from 'node:util';
import { expect, it } from 'vitest';

import { requireFromRoot, root } from './helpers';

it('the public .d.ts type-checks real usage and rejects misuse (test/types)', () => {
  const tsc = path.join(path.dirname(requireFromRoot.resolve('typescript/package.json')), 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'test', 'types')], { encoding: 'utf8', cwd: root });
  expect(r.stdout + r.stderr).toBe('');
  expect(r.status).toBe(0);
}, 60_000);

// The code unions (lib/error-codes.ts) are hand-written lists: they must match what the native
// core can emit and what Node names system errors, or a `switch` would be checked against a lie.
it('the error code lists match the native sources (WS_ERR_*) and Node\'s system error names', () => {
  const codes = requireFromRoot(path.join(root, 'dist', 'cjs', 'error-codes.js')) as Record<string, readonly string[]>;
  const namesIn = (file: string, pattern: RegExp) => [...fs.readFileSync(path.join(root, file), 'utf8').matchAll(pattern)].map((m) => m[1]!);
  expect(codes.WEBSOCKET_ERROR_CODES).toEqual(namesIn('native/core/protocol/errors.cc', /\{\d+, "(WS_ERR_[A-Z0-9_]+)"/g));
  expect(codes.HANDSHAKE_RESPONSE_ERROR_CODES).toEqual(namesIn('native/core/handshake/handshake_errors.cc', /return "(WS_ERR_HANDSHAKE_[A-Z0-9_]+)"/g));
  // Certificate verification failures, in the order the native switch names them (deduplicated).
  expect(codes.TLS_VERIFY_ERROR_CODES).toEqual([...new Set(namesIn('native/transport/tls_context.cc', /return "([A-Z0-9_]+)";/g))]);
  const system = [...util.getSystemErrorMap().values()].map(([name]) => name);
  expect([...codes.SYSTEM_ERROR_CODES!].sort()).toEqual([...new Set([...system, 'ENOTFOUND'])].sort());
});
