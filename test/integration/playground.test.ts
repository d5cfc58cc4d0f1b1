import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// The README's first command must keep working: the playground comes up, deletes a sample image
// through the operator, and finds AWS clean.
describe('npm run dev', () => {
  it('brings up the playground and deletes a sample image end to end', async () => {
    const repo = join(import.meta.dirname, '..', '..');
    const { code, stdout } = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(process.execPath, [join(repo, 'scripts', 'dev.ts'), '--smoke'], { timeout: 180_000 }, (err, stdout) => resolve({ code: err ? 1 : 0, stdout }));
    });
    expect(stdout).toContain('playground: control plane ready');
    expect(stdout).toContain('playground smoke: alinux-base deleted in AWS');
    expect(code).toBe(0);
  });
});
