import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { expect, it } from 'vitest';

import { requireFromRoot, root } from './helpers';

it('the public .d.ts type-checks real usage and rejects misuse (test/types)', () => {
  const tsc = path.join(path.dirname(requireFromRoot.resolve('typescript/package.json')), 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'test', 'types')], { encoding: 'utf8', cwd: root });
  expect(r.stdout + r.stderr).toBe('');
  expect(r.status).toBe(0);
}, 60_000);
