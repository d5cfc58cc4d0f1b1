// Shared set-up for the benchmarks and the chaos suite: a control plane of their own (audit log on),
// moto behind the fault layer, fixtures, CustomImages applied in bulk, and operator replicas.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { GROUP, VERSION, type CustomImage } from '../src/api/customimage.ts';
import { ControlPlane } from '../test/env/control-plane.ts';
import { FaultProxy } from '../test/env/fault-proxy.ts';
import { FixtureBuilder, type ImageFixture } from '../test/env/fixtures.ts';
import { kubectlOk } from '../test/env/kubectl.ts';
import { Moto } from '../test/env/moto.ts';
import { BUNDLE, deployedRuntime } from '../test/env/container.ts';
import { OperatorProcess } from '../test/env/operator-process.ts';
import { KubeCustomImageApi } from '../src/kube/api.ts';
import { loadKubeConfig } from '../src/kube/kubeconfig.ts';

export const repo = join(import.meta.dirname, '..');
export const NS = 'bench';
/** The operator runs as its own identity, so the audit log can tell its writes from ours. */
export const OPERATOR_USER = 'pcluster-image-operator';

export interface Env {
  cp: ControlPlane;
  moto: Moto;
  faults: FaultProxy;
  fixtures: FixtureBuilder;
  adminKubeconfig: string;
  operatorKubeconfig: string;
  auditLog: string;
  /** CustomImages as the admin sees them (the operator's own paged list, pooled connections). */
  images: KubeCustomImageApi;
  dir: string;
}

export const log = (s: string): void => void process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${s}\n`);

export async function startEnv(opts: { fasterLookups?: boolean } = {}): Promise<Env> {
  const t = Date.now();
  // stdout carries the results: the bundler's line goes to stderr
  execFileSync(process.execPath, [join(repo, 'scripts', 'bundle.ts')], { stdio: ['ignore', 2, 2] });
  const auditDir = join(repo, 'scratch', 'bench');
  mkdirSync(auditDir, { recursive: true });
  const auditLog = join(auditDir, `audit-${process.pid}.log`);
  const cp = await ControlPlane.start({ auditLogPath: auditLog });
  log(`control plane ready in ${Date.now() - t} ms`);
  const moto = await Moto.start({ fasterLookups: opts.fasterLookups === true });
  const faults = await new FaultProxy(moto.endpoint).start();
  const adminKubeconfig = cp.kubeconfigPath;
  await kubectlOk(adminKubeconfig, ['apply', '-k', join(repo, 'crds')]);
  await kubectlOk(adminKubeconfig, ['wait', '--for=condition=Established', '--timeout=60s', 'crd/customimages.pcluster.imageops.dev']);
  await kubectlOk(adminKubeconfig, ['create', 'namespace', NS]);
  const operatorKubeconfig = cp.kubeconfigFor(OPERATOR_USER, ['system:masters']);
  const images = new KubeCustomImageApi(loadKubeConfig(adminKubeconfig), { timeoutMs: 60_000, fieldManager: 'bench' });
  return { cp, moto, faults, fixtures: new FixtureBuilder(moto.endpoint), adminKubeconfig, operatorKubeconfig, auditLog, images, dir: cp.dir };
}

export async function stopEnv(env: Env, ops: OperatorProcess[]): Promise<void> {
  for (const o of ops) await o.stop();
  await env.faults.stop();
  await env.moto.stop();
  await env.cp.stop();
}

/** Creates fixtures with bounded parallelism (moto is single-process). */
export async function makeFixtures(env: Env, ids: string[], opts: (id: string, i: number) => Parameters<FixtureBuilder['image']>[0], parallel = 8): Promise<ImageFixture[]> {
  const out: ImageFixture[] = new Array(ids.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      for (;;) {
        const i = next++;
        if (i >= ids.length) return;
        out[i] = await env.fixtures.image(opts(ids[i]!, i));
      }
    }),
  );
  return out;
}

/** kubectl apply of many CustomImages, in chunks. */
export async function applyImages(env: Env, ids: string[], spec: (id: string) => Record<string, unknown> = (id) => ({ imageId: id })): Promise<void> {
  for (let i = 0; i < ids.length; i += 500) {
    const docs = ids.slice(i, i + 500).map((id) => stringify({ apiVersion: `${GROUP}/${VERSION}`, kind: 'CustomImage', metadata: { name: id.toLowerCase(), namespace: NS }, spec: spec(id) }));
    await kubectlOk(env.adminKubeconfig, ['apply', '--server-side', '-f', '-'], docs.join('---\n'));
  }
}

export async function listImages(env: Env): Promise<CustomImage[]> {
  return (await env.images.list(NS, undefined)).items;
}

export function startOperator(env: Env, name: string, extraArgs: string[] = []): OperatorProcess {
  return new OperatorProcess({
    kubeconfig: env.operatorKubeconfig,
    awsEndpoint: env.faults.endpoint,
    namespace: NS,
    logFile: join(env.dir, `${name}.log`),
    extraArgs: ['--log-level', 'info', ...extraArgs],
    // measure what the container runs: the bundle, with the Dockerfile's and Deployment's settings
    script: BUNDLE,
    ...deployedRuntime(),
  }).start();
}

export async function waitUntil(what: string, pred: () => Promise<boolean>, timeoutMs: number, everyMs = 500): Promise<number> {
  const t = Date.now();
  for (;;) {
    if (await pred()) return Date.now() - t;
    if (Date.now() - t > timeoutMs) throw new Error(`${what}: not reached in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Full runs go to docs/bench-results (kept); smoke runs to scratch/ (ignored by git). */
export function writeResult(name: string, result: unknown, smoke = false): string {
  const dir = smoke ? join(repo, 'scratch', 'bench-results') : join(repo, 'docs', 'bench-results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  return file;
}

/** Resident and peak-resident memory of a process, in MiB (Linux /proc). */
export function memoryOf(pid: number): { rssMiB: number; peakMiB: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN) / 1024;
    return { rssMiB: kb('VmRSS'), peakMiB: kb('VmHWM') };
  } catch {
    return undefined;
  }
}
