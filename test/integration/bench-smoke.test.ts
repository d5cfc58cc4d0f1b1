import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// CI runs the small variants of `npm run bench` and `npm run chaos`: they must run from a clean
// checkout and print their figures. Only correctness is asserted here; timings are reported, not
// tested (docs/benchmarks.md has the full runs).
const repo = join(import.meta.dirname, '..', '..');
const run = (script: string, args: string[]) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [join(repo, 'bench', script), ...args], { timeout: 600_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr }));
  });

describe('benchmark and chaos smoke variants', () => {
  it('npm run chaos -- --smoke converges with no leak, no foreign deletion and no crash', async () => {
    const r = await run('chaos.ts', ['--smoke']);
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    const result = JSON.parse(r.stdout) as Record<string, number>;
    expect(result).toMatchObject({ leaks: 0, foreignDeletions: 0, crashes: 0, apiserverRestarts: 1 });
    expect(result.leaderKills).toBeGreaterThanOrEqual(1);
    expect(result.convergedMs).toBeGreaterThan(0);
  }, 600_000);

  it('npm run bench -- --smoke reports every figure', async () => {
    const r = await run('run.ts', ['--smoke']);
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    const result = JSON.parse(r.stdout) as {
      throughput: { seconds: number; lowerBoundSeconds: number; ratio: number; failedConditionsSurfaced: number; kubernetesWritesPerDeletion: { customimages: number }; awsCallsPerDeletionTotal: number };
      latency: { p50Ms: number; p99Ms: number; overheadP50Ms: number };
      observation: { firstSyncSeconds: number; awsCallsPerResyncCycle: number[]; memoryMiB: unknown };
      pcluster: { ran: boolean };
    };
    expect(result.throughput.seconds).toBeGreaterThan(0);
    expect(result.throughput.lowerBoundSeconds).toBeGreaterThan(0);
    expect(result.throughput.failedConditionsSurfaced).toBe(0);
    // the economy promise: at most three writes to a CustomImage from deletion start to disappearance
    expect(result.throughput.kubernetesWritesPerDeletion.customimages).toBeLessThanOrEqual(3);
    expect(result.latency.p99Ms).toBeGreaterThanOrEqual(result.latency.p50Ms);
    expect(result.observation.awsCallsPerResyncCycle.length).toBe(2);
    expect(typeof result.pcluster.ran).toBe('boolean');
  }, 600_000);
});
