// Benchmarks: deletion throughput at the AWS rate limit (with call economy and Kubernetes writes
// from the apiserver's audit log), single-deletion latency with emulated AWS latency, observation
// cost and memory with many live CustomImages, and the pcluster CLI for comparison.
// Prints figures and writes docs/bench-results/<name>.json; asserts nothing (docs/benchmarks.md).
//   npm run bench                          full sizes
//   npm run bench -- --smoke               small sizes (CI runs this through npm test)
//   npm run bench -- --only throughput     one benchmark
import { readFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { FixtureBuilder } from '../test/env/fixtures.ts';
import { kubectlOk } from '../test/env/kubectl.ts';
import type { OperatorProcess } from '../test/env/operator-process.ts';
import { deployedRuntime } from '../test/env/container.ts';
import { applyImages, listImages, log, makeFixtures, memoryOf, NS, OPERATOR_USER, startEnv, startOperator, stopEnv, waitUntil, writeResult, type Env } from './harness.ts';

const { values } = parseArgs({ options: { smoke: { type: 'boolean' }, only: { type: 'string' }, images: { type: 'string' }, live: { type: 'string' }, 'bucket-scale': { type: 'string' }, 'stock-moto': { type: 'boolean' } } });
const smoke = values.smoke === true;
const only = values.only?.split(',');
const want = (name: string) => !only || only.includes(name);

interface Bucket {
  capacity: number;
  refillPerSecond: number;
}

/**
 * EC2's published buckets (mutating 100 / 5 per s, describe 100 / 20 per s) and a conservative
 * CloudFormation one, times --bucket-scale. moto, one Python process, serves only some tens of
 * requests per second here once it holds hundreds of images, so the default run scales the buckets
 * (0.4) to keep the AWS limit, not the emulator, the binding constraint; --bucket-scale 1 --images 1000
 * is the published model for a faster emulator.
 */
function buckets(): Record<string, Bucket> {
  const k = Number(values['bucket-scale'] ?? (smoke ? 0.1 : 0.4));
  const b = (capacity: number, refillPerSecond: number) => ({ capacity: Math.max(1, Math.round(capacity * k)), refillPerSecond: Number((refillPerSecond * k).toFixed(2)) });
  const mutate = b(100, 5);
  const describe = b(100, 20);
  const cfn = b(50, 10);
  return {
    'ec2:DeregisterImage': mutate,
    'ec2:DeleteSnapshot': mutate,
    'ec2:DescribeImages': describe,
    'ec2:DescribeImageAttribute': describe,
    'ec2:DescribeInstances': describe,
    'ec2:DescribeSnapshots': describe,
    'cloudformation:DescribeStacks': cfn,
    'cloudformation:DeleteStack': cfn,
    'cloudformation:DescribeStackResource': cfn,
  };
}

const limitsFlag = (b: Record<string, Bucket>) => Object.entries(b).map(([k, v]) => `${k}=${v.capacity}/${v.refillPerSecond}`).join(',');

/** The shortest time the bucket model allows for these calls, buckets starting full. */
function lowerBoundSeconds(counts: Record<string, number>, b: Record<string, Bucket>): { seconds: number; bindingAction: string } {
  let best = { seconds: 0, bindingAction: '(none)' };
  for (const [action, spec] of Object.entries(b)) {
    const t = Math.max(0, ((counts[action] ?? 0) - spec.capacity) / spec.refillPerSecond);
    if (t > best.seconds) best = { seconds: t, bindingAction: action };
  }
  return best;
}

interface AuditEvent {
  stage: string;
  verb: string;
  user: { username: string };
  objectRef?: { resource?: string; subresource?: string };
  requestReceivedTimestamp: string;
}

/** The operator's writes from the apiserver's own audit log, since `sinceIso`. */
function operatorWrites(env: Env, sinceIso: string): { customimages: number; status: number; metadata: number; events: number } {
  const since = Date.parse(sinceIso);
  const out = { customimages: 0, status: 0, metadata: 0, events: 0 };
  for (const line of readFileSync(env.auditLog, 'utf8').split('\n')) {
    if (!line) continue;
    const e = JSON.parse(line) as AuditEvent;
    if (e.stage !== 'ResponseComplete' || e.user.username !== OPERATOR_USER || Date.parse(e.requestReceivedTimestamp) < since) continue;
    if (!['create', 'update', 'patch', 'delete'].includes(e.verb)) continue;
    if (e.objectRef?.resource === 'customimages') {
      out.customimages++;
      if (e.objectRef.subresource === 'status') out.status++;
      else out.metadata++;
    } else if (e.objectRef?.resource === 'events') out.events++;
  }
  return out;
}

async function throughput(env: Env): Promise<unknown> {
  const N = Number(values.images ?? (smoke ? 30 : 400));
  const b = buckets();
  for (const [k, v] of Object.entries(b)) {
    const [service, action] = k.split(':');
    env.faults.rateLimit(service!, action!, v);
  }
  const ids = Array.from({ length: N }, (_, i) => `tp-${String(i).padStart(5, '0')}`);
  log(`throughput: ${N} ParallelCluster-shaped images`);
  await makeFixtures(env, ids, (id) => ({ imageId: id }));
  await applyImages(env, ids);
  const op = startOperator(env, 'throughput', ['--aws-rate-limits', limitsFlag(b), '--concurrency', smoke ? '8' : '32', '--resync-period', '3600']);
  await waitUntil('observed', async () => (await listImages(env)).every((o) => o.status?.imageBuildStatus === 'BUILD_COMPLETE'), 30 * 60_000, 1000);
  // let every bucket refill, so the bound below (buckets starting full) is the right one
  const refill = Math.max(...Object.values(b).map((v) => v.capacity / v.refillPerSecond));
  await new Promise((r) => setTimeout(r, refill * 1000 + 1000));
  env.faults.counts.clear();
  env.faults.injected.clear();

  const startIso = new Date().toISOString();
  const t0 = Date.now();
  await kubectlOk(env.adminKubeconfig, ['delete', 'cimg', '--all', '-n', NS, '--wait=false']);
  const remaining: [number, number][] = [];
  const failedConditions = new Set<string>();
  for (;;) {
    const items = await listImages(env);
    for (const o of items) for (const c of o.status?.conditions ?? []) if (c.status === 'False' && (c.type === 'Synced' || c.reason === 'StackDeleteFailed')) failedConditions.add(`${o.metadata.name}:${c.reason}`);
    remaining.push([(Date.now() - t0) / 1000, items.length]);
    if (items.length === 0) break;
    if (Date.now() - t0 > 60 * 60_000) throw new Error('throughput: not done in an hour');
    await new Promise((r) => setTimeout(r, 1000));
  }
  const seconds = (Date.now() - t0) / 1000;
  const counts = env.faults.countsObject();
  const bound = lowerBoundSeconds(counts, b);
  const throttled = [...env.faults.injected.entries()].filter(([k]) => k.startsWith('throttle:')).reduce((a, [, v]) => a + v, 0);
  await new Promise((r) => setTimeout(r, 1500)); // the audit log is written asynchronously
  const writes = operatorWrites(env, startIso);
  const mem = memoryOf(op.proc!.child.pid!);
  await op.stop();
  const perDeletion = Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, Number((v / N).toFixed(2))]));
  return {
    images: N,
    buckets: b,
    seconds: Number(seconds.toFixed(1)),
    lowerBoundSeconds: Number(bound.seconds.toFixed(1)),
    bindingAction: bound.bindingAction,
    ratio: Number((bound.seconds / seconds).toFixed(3)),
    throttlingErrorsReceived: throttled,
    failedConditionsSurfaced: failedConditions.size,
    awsCallsPerDeletion: perDeletion,
    awsCallsPerDeletionTotal: Number((Object.values(counts).reduce((a, c) => a + c, 0) / N).toFixed(2)),
    kubernetesWritesPerDeletion: {
      customimages: Number((writes.customimages / N).toFixed(2)),
      status: Number((writes.status / N).toFixed(2)),
      metadata: Number((writes.metadata / N).toFixed(2)),
      events: Number((writes.events / N).toFixed(2)),
    },
    operatorPeakRssMiB: mem?.peakMiB,
    remainingOverTime: remaining,
  };
}

async function latency(env: Env): Promise<unknown> {
  const M = smoke ? 3 : 20;
  env.faults.reset();
  env.faults.addRule({ kind: 'latency', latencyMs: 50 });
  const op = startOperator(env, 'latency', ['--aws-rate-limits', 'none']);
  await op.started();
  const totals: number[] = [];
  const overheads: number[] = [];
  const awsMs: number[] = [];
  for (let i = 0; i < M; i++) {
    const id = `lat-${i}`;
    await env.fixtures.image({ imageId: id });
    await applyImages(env, [id]);
    await waitUntil('observed', async () => (await listImages(env)).some((o) => o.metadata.name === id && o.status?.imageBuildStatus === 'BUILD_COMPLETE'), 60_000, 100);
    env.faults.timeline = [];
    const t0 = performance.now();
    await kubectlOk(env.adminKubeconfig, ['delete', 'cimg', id, '-n', NS, '--timeout=120s']);
    const total = performance.now() - t0;
    // the AWS calls' own time: the union of their intervals (the two observe calls overlap)
    const spans = env.faults.timeline.filter((s) => s.start >= t0).map((s) => [s.start, s.start + s.ms] as [number, number]).sort((a, b) => a[0] - b[0]);
    let covered = 0;
    let end = -Infinity;
    for (const [s, e] of spans) {
      if (e <= end) continue;
      covered += e - Math.max(s, end);
      end = e;
    }
    env.faults.timeline = undefined;
    totals.push(total);
    awsMs.push(covered);
    overheads.push(total - covered);
  }
  await op.stop();
  env.faults.reset();
  const pct = (xs: number[], p: number) => {
    const s = [...xs].sort((a, b) => a - b);
    return Number(s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!.toFixed(0));
  };
  return { deletions: M, emulatedAwsLatencyMs: 50, p50Ms: pct(totals, 50), p99Ms: pct(totals, 99), awsTimeP50Ms: pct(awsMs, 50), overheadP50Ms: pct(overheads, 50), overheadP99Ms: pct(overheads, 99), samplesMs: totals.map((t) => Math.round(t)) };
}

async function observation(env: Env): Promise<unknown> {
  const N = Number(values.live ?? (smoke ? 200 : 500));
  env.faults.reset();
  const ids = Array.from({ length: N }, (_, i) => `live-${String(i).padStart(5, '0')}`);
  log(`observation: ${N} live CustomImages`);
  await makeFixtures(env, ids, (id) => ({ imageId: id, stack: false, artifacts: false, logGroup: false }), 8);
  await applyImages(env, ids);
  env.faults.counts.clear();
  // a resync cycle must fit in the period: 16 workers observe ~100 live images per second here
  const resync = smoke ? 20 : Math.max(60, Math.ceil(N / 80));
  const t0 = Date.now();
  const op = startOperator(env, 'observation', ['--resync-period', String(resync), '--concurrency', '16']);
  const firstSyncMs = await waitUntil('first full status sync', async () => (await listImages(env)).every((o) => o.status?.imageBuildStatus === 'BUILD_COMPLETE'), 2 * 60 * 60_000, 2000);
  const startToSyncSeconds = (Date.now() - t0) / 1000; // includes the operator's start-up
  const callsFirst = env.faults.countsObject();
  const mem: { afterSync?: unknown; afterResyncs: unknown[] } = { afterSync: memoryOf(op.proc!.child.pid!), afterResyncs: [] };
  const callsPerCycle: number[] = [];
  const cycles = smoke ? 2 : 2;
  for (let c = 0; c < cycles; c++) {
    env.faults.counts.clear();
    await new Promise((r) => setTimeout(r, resync * 1000 + 2000));
    callsPerCycle.push([...env.faults.counts.values()].reduce((a, b) => a + b, 0));
    mem.afterResyncs.push(memoryOf(op.proc!.child.pid!));
  }
  await op.stop();
  await kubectlOk(env.adminKubeconfig, ['delete', 'cimg', '--all', '-n', NS, '--wait=false']);
  return { liveImages: N, firstSyncSeconds: Number((firstSyncMs / 1000).toFixed(1)), startToSyncSeconds: Number(startToSyncSeconds.toFixed(1)), awsCallsFirstSync: callsFirst, awsCallsPerResyncCycle: callsPerCycle, memoryMiB: mem };
}

/** A pcluster binary: PCLUSTER_BIN, PATH, or a venv under the cache (installed from PyPI unless smoke). */
async function findPcluster(): Promise<{ bin?: string; reason?: string; version?: string }> {
  const tryBin = (bin: string) => new Promise<{ ok: boolean; out: string }>((resolve) => execFile(bin, ['version'], { timeout: 120_000 }, (err, stdout, stderr) => resolve({ ok: !err, out: (stdout + stderr).trim() })));
  const venv = join(homedir(), '.cache', 'pcluster-image-operator', 'pcluster-venv');
  for (const bin of [process.env.PCLUSTER_BIN, 'pcluster', join(venv, 'bin', 'pcluster')].filter((b): b is string => !!b)) {
    const r = await tryBin(bin);
    if (r.ok) return { bin, version: (JSON.parse(r.out) as { version: string }).version };
  }
  if (smoke) return { reason: 'pcluster is not installed (the smoke run does not install it; npm run bench installs aws-parallelcluster from PyPI into a venv)' };
  log('installing aws-parallelcluster from PyPI into a venv (once)');
  const sh = (cmd: string, args: string[]) => new Promise<string | undefined>((resolve) => execFile(cmd, args, { timeout: 15 * 60_000, maxBuffer: 16 << 20 }, (err, _o, stderr) => resolve(err ? `${cmd} ${args.join(' ')}: ${stderr.slice(-500)}` : undefined)));
  const failed = (await sh('python3', ['-m', 'venv', venv])) ?? (await sh(join(venv, 'bin', 'pip'), ['install', '-q', 'aws-parallelcluster']));
  if (failed) return { reason: `could not install aws-parallelcluster: ${failed}` };
  const r = await tryBin(join(venv, 'bin', 'pcluster'));
  return r.ok ? { bin: join(venv, 'bin', 'pcluster'), version: (JSON.parse(r.out) as { version: string }).version } : { reason: `pcluster installed but does not run: ${r.out.slice(0, 500)}` };
}

/** What a user would do instead: a shell loop of pcluster delete-image, against the same moto. */
async function pclusterComparison(env: Env): Promise<unknown> {
  const N = smoke ? 5 : 100;
  const pc = await findPcluster();
  if (!pc.bin) return { ran: false, reason: pc.reason };
  env.faults.reset();
  const ids = Array.from({ length: N }, (_, i) => `cmp-${String(i).padStart(3, '0')}`);
  const fixtures = await makeFixtures(env, ids, (id) => ({ imageId: id }));
  const envVars = { ...process.env, AWS_ENDPOINT_URL: env.faults.endpoint, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_DEFAULT_REGION: 'us-east-1' };
  env.faults.counts.clear();
  const t0 = Date.now();
  const failures: string[] = [];
  for (const id of ids) {
    const err = await new Promise<string | undefined>((resolve) => execFile(pc.bin!, ['delete-image', '--image-id', id, '--region', 'us-east-1'], { env: envVars, timeout: 120_000 }, (e, _o, stderr) => resolve(e ? stderr.slice(-300) : undefined)));
    if (err) failures.push(`${id}: ${err}`);
  }
  const pclusterSeconds = (Date.now() - t0) / 1000;
  const pclusterCalls = [...env.faults.counts.values()].reduce((a, b) => a + b, 0);
  let pclusterClean = 0;
  for (const fx of fixtures) if (await env.fixtures.gone(fx)) pclusterClean++;

  await makeFixtures(env, ids, (id) => ({ imageId: id }));
  await applyImages(env, ids);
  const op = startOperator(env, 'comparison', ['--concurrency', '16']);
  await waitUntil('observed', async () => (await listImages(env)).every((o) => o.status?.imageBuildStatus === 'BUILD_COMPLETE'), 10 * 60_000, 500);
  env.faults.counts.clear();
  const t1 = Date.now();
  await kubectlOk(env.adminKubeconfig, ['delete', 'cimg', '--all', '-n', NS, '--wait=false']);
  await waitUntil('all deleted', async () => (await listImages(env)).length === 0, 30 * 60_000, 250);
  const operatorSeconds = (Date.now() - t1) / 1000;
  const operatorCalls = [...env.faults.counts.values()].reduce((a, b) => a + b, 0);
  await op.stop();
  return {
    ran: true,
    pclusterVersion: pc.version,
    images: N,
    pcluster: { seconds: Number(pclusterSeconds.toFixed(1)), awsCallsPerImage: Number((pclusterCalls / N).toFixed(2)), imagesFullyDeleted: pclusterClean, failures: failures.slice(0, 3) },
    operator: { seconds: Number(operatorSeconds.toFixed(1)), awsCallsPerImage: Number((operatorCalls / N).toFixed(2)) },
    wallTimeRatio: Number((pclusterSeconds / operatorSeconds).toFixed(2)),
  };
}

const results: Record<string, unknown> = { smoke, machine: { cpus: (await import('node:os')).cpus().length, node: process.version, date: new Date().toISOString() } };
// moto's EC2 tag lookup and S3 version listing are made proportional to what is asked for (same
// answers, see test/env/moto/faster_lookups_server.py), so that the AWS limit, not the emulator's
// scans of everything it holds, is what the figures measure; --stock-moto to compare
const fasterLookups = values['stock-moto'] !== true;
results.moto = fasterLookups ? 'moto 5.2.1 with faster EC2 tag and S3 version lookups' : 'stock moto 5.2.1';
results.operatorRuntime = deployedRuntime();
const env = await startEnv({ fasterLookups });
const ops: OperatorProcess[] = [];
try {
  if (want('throughput')) {
    results.throughput = await throughput(env);
    await kubectlOk(env.adminKubeconfig, ['delete', 'cimg', '--all', '-n', NS, '--wait=false']);
    await env.moto.reset();
    env.fixtures = new FixtureBuilder(env.moto.endpoint);
    env.faults.reset();
  }
  if (want('latency')) results.latency = await latency(env);
  if (want('observation')) results.observation = await observation(env);
  if (want('pcluster')) results.pcluster = await pclusterComparison(env);
} finally {
  await stopEnv(env, ops);
}
const file = writeResult(smoke ? 'bench-smoke' : `bench-${new Date().toISOString().replace(/[:.]/g, '-')}`, results, smoke);
const brief = JSON.parse(JSON.stringify(results, (k, v) => (k === 'remainingOverTime' || k === 'samplesMs' ? undefined : v)));
process.stdout.write(`${JSON.stringify(brief, null, 2)}\n`);
log(`results: ${file}`);
