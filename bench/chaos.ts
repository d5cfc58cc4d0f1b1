// The chaos suite: many images and decoys; all CustomImages deleted at once while the leader is
// SIGKILLed at random, kube-apiserver restarts once (etcd kept), and AWS throttles, fails and lags.
// Asserts only correctness: every CustomImage gone, every owned AWS resource gone, every decoy intact,
// no unhandled rejection or crash loop.
//   npm run chaos                      300 images, 100 decoys
//   npm run chaos -- --smoke           the short variant npm test runs
import { parseArgs } from 'node:util';
import { DescribeImagesCommand } from '@aws-sdk/client-ec2';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { awsClients, defaultBucket, type ImageFixture } from '../test/env/fixtures.ts';
import { kubectlOk } from '../test/env/kubectl.ts';
import type { OperatorProcess } from '../test/env/operator-process.ts';
import { applyImages, listImages, log, makeFixtures, NS, startEnv, startOperator, stopEnv, waitUntil, writeResult } from './harness.ts';

const { values } = parseArgs({ options: { smoke: { type: 'boolean' }, images: { type: 'string' }, decoys: { type: 'string' }, seed: { type: 'string' } } });
const smoke = values.smoke === true;
const N = Number(values.images ?? (smoke ? 24 : 300));
const DECOY_SETS = Math.ceil(Number(values.decoys ?? (smoke ? 9 : 100)) / 3); // each set: 2 look-alike images and an untagged AMI (plus stray S3 keys)
const bound = smoke ? 180_000 : 900_000;

async function metric(port: number, name: string): Promise<number | undefined> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(1000) })).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
    return line ? Number(line.split(' ').pop()) : undefined;
  } catch {
    return undefined;
  }
}

const env = await startEnv();
const replicas: OperatorProcess[] = [];
let exitCode = 1;
try {
  const ids = Array.from({ length: N }, (_, i) => `chaos-${String(i).padStart(4, '0')}`);
  const kinds = ['full', 'full', 'full', 'ami-only', 'stack-only', 'failed'] as const;
  log(`creating ${N} images and ${DECOY_SETS * 3} decoys (plus stray S3 keys) in moto`);
  const fixtures = await makeFixtures(env, ids, (id, i) => {
    const k = kinds[i % kinds.length]!;
    return { imageId: id, ...(k === 'ami-only' ? { stack: false } : k === 'stack-only' ? { ami: 'none' as const } : k === 'failed' ? { ami: 'failed' as const } : {}) };
  });
  const decoys: ImageFixture[] = [];
  const strays: string[] = [];
  const strayKeys: string[] = [];
  for (let d = 0; d < DECOY_SETS; d++) {
    const set = await env.fixtures.decoysFor(ids[(d * 7) % N]!);
    decoys.push(...set.images);
    strays.push(set.untaggedAmiId);
    strayKeys.push(...set.strayKeys);
  }
  // real stacks take a while to go, and some fail once
  for (let i = 0; i < N; i++) {
    if (fixtures[i]!.stackName) env.faults.scriptStackDeletion(ids[i]!, i % 10 === 0 ? [{ inProgressPolls: 2, outcome: 'DELETE_FAILED' }, { inProgressPolls: 2, outcome: 'DELETE_COMPLETE' }] : [{ inProgressPolls: 1 + (i % 4), outcome: 'DELETE_COMPLETE' }]);
  }
  await applyImages(env, ids);

  const leArgs = ['--leader-elect', '--leader-election-namespace', NS, '--leader-election-lease-duration', '4', '--leader-election-renew-deadline', '3', '--leader-election-retry-period', '1', '--stack-retry-interval', '1', '--concurrency', '16'];
  for (let r = 0; r < 2; r++) replicas.push(startOperator(env, `replica-${r}`, leArgs));
  log('waiting for every image to be observed');
  await waitUntil('all observed', async () => (await listImages(env)).every((o) => o.status?.imageBuildStatus !== undefined && o.metadata.finalizers?.length), bound);

  // faults from now on
  env.faults.addRule({ kind: 'latency', latencyMs: 5, jitterMs: 40 });
  for (const service of ['ec2', 'cloudformation', 's3', 'logs']) {
    env.faults.addRule({ kind: 'throttle', service, probability: 0.05 });
    env.faults.addRule({ kind: 'server-error', service, probability: 0.03 });
  }

  const started = Date.now();
  log(`deleting all ${N} CustomImages`);
  // the admin deletes, as a user would
  await kubectlOk(env.adminKubeconfig, ['delete', 'cimg', '--all', '-n', NS, '--wait=false']);

  const killedByUs = new Set<OperatorProcess>();
  let kills = 0;
  let selfExits = 0;
  let apiserverRestarted = false;
  const leaderKillsWanted = smoke ? 2 : 6;
  let nextKill = Date.now() + 2000 + Math.random() * 3000;
  let remaining = N;
  while (remaining > 0) {
    if (Date.now() - started > bound) throw new Error(`not converged within ${bound} ms: ${remaining} CustomImages left`);
    // the kubelet's part: a replica that exited on its own (e.g. it lost the lease) is restarted
    for (const r of replicas) {
      if (r.proc && (r.proc.child.exitCode !== null || r.proc.child.signalCode !== null) && !killedByUs.has(r)) {
        selfExits++;
        r.start();
      }
    }
    if (kills < leaderKillsWanted && Date.now() > nextKill) {
      for (const r of replicas) {
        const ports = await r.started(5000).catch(() => undefined);
        if (ports && (await metric(ports.metrics, 'leader_election_master_status')) === 1) {
          killedByUs.add(r);
          await r.kill();
          kills++;
          log(`SIGKILLed the leader (${kills}); ${remaining} left`);
          setTimeout(() => {
            killedByUs.delete(r);
            r.start();
          }, 500 + Math.random() * 1500);
          break;
        }
      }
      nextKill = Date.now() + 3000 + Math.random() * 5000;
    }
    if (!apiserverRestarted && remaining < N * 0.6) {
      log('restarting kube-apiserver (etcd kept)');
      await env.cp.restartApiserver();
      apiserverRestarted = true;
    }
    try {
      remaining = (await listImages(env)).length;
    } catch {
      // the apiserver may be restarting
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  const convergedMs = Date.now() - started;
  log(`all CustomImages gone in ${convergedMs} ms; checking AWS`);
  env.faults.clearRules();

  const leaks: string[] = [];
  for (const fx of fixtures) if (!(await env.fixtures.gone(fx))) leaks.push(`${fx.imageId}: ${JSON.stringify(await env.fixtures.remains(fx))}`);
  const foreign: string[] = [];
  for (const d of decoys) if (!(await env.fixtures.intact(d))) foreign.push(`${d.imageId}: ${JSON.stringify(await env.fixtures.remains(d))}`);
  const left = (await awsClients(env.moto.endpoint).ec2.send(new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: 'image-id', Values: strays }] }))).Images ?? [];
  if (left.length !== strays.length) foreign.push(`untagged AMIs: ${strays.length - left.length} deleted`);
  const keys = new Set(((await awsClients(env.moto.endpoint).s3.send(new ListObjectsV2Command({ Bucket: defaultBucket('us-east-1') }))).Contents ?? []).map((o) => o.Key));
  for (const k of new Set(strayKeys)) if (!keys.has(k)) foreign.push(`stray S3 key ${k} deleted`);
  const crashes = replicas.flatMap((r) => r.logLines().filter((l) => l.msg === 'unhandled rejection' || (typeof l.raw === 'string' && /Uncaught|TypeError|ReferenceError/.test(l.raw))));

  const result = {
    kind: 'chaos',
    smoke,
    images: N,
    decoys: decoys.length + strays.length,
    convergedMs,
    boundMs: bound,
    leaderKills: kills,
    selfExitsRestarted: selfExits,
    apiserverRestarts: apiserverRestarted ? 1 : 0,
    faultsInjected: Object.fromEntries([...env.faults.injected.entries()].reduce((m, [k, v]) => m.set(k.split(':')[0]!, (m.get(k.split(':')[0]!) ?? 0) + v), new Map<string, number>())),
    leaks: leaks.length,
    foreignDeletions: foreign.length,
    crashes: crashes.length,
    details: { leaks: leaks.slice(0, 10), foreign: foreign.slice(0, 10), crashes: crashes.slice(0, 5) },
  };
  const file = writeResult(smoke ? 'chaos-smoke' : `chaos-${new Date().toISOString().replace(/[:.]/g, '-')}`, result, smoke);
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  log(`result written to ${file}`);
  exitCode = leaks.length === 0 && foreign.length === 0 && crashes.length === 0 ? 0 : 1;
} catch (e) {
  log(`chaos failed: ${(e as Error).stack ?? String(e)}`);
  for (const r of replicas) log(`replica log tail: ${r.logLines().slice(-5).map((l) => JSON.stringify(l)).join('\n')}`);
} finally {
  await stopEnv(env, replicas);
}
process.exit(exitCode);
