import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { stringify } from 'yaml';
import { ControlPlane } from '../env/control-plane.ts';
import { kubectlOk } from '../env/kubectl.ts';
import { OperatorProcess } from '../env/operator-process.ts';
import { World } from '../env/world.ts';

// Running it: metrics and probes, and two replicas behind leader election.
const kubeconfig = inject('kubeconfig');
let w: World;

beforeAll(async () => {
  w = await World.start(kubeconfig, 'operations', { operator: false });
});
afterAll(async () => {
  await w?.stop();
});

async function metric(port: number, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:]+)(\{[^}]*\})? ([0-9.e+-]+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const ls = m[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => ls.includes(`${k}="${v}"`))) sum += Number(m[3]);
  }
  return sum;
}

const status = async (port: number, path: string) => (await fetch(`http://127.0.0.1:${port}${path}`)).status;

describe('metrics and probes', () => {
  it('flips /readyz when the informer syncs, and exposes controller-runtime names with moving values', async () => {
    // an identity that may not list CustomImages yet: the informer cannot sync
    const user = 'system:serviceaccount:operations:late-operator';
    const limited = ControlPlane.attach(inject('controlPlaneDir'), kubeconfig).kubeconfigFor(user);
    const op = new OperatorProcess({ kubeconfig: limited, awsEndpoint: w.faults.endpoint, namespace: w.namespace, logFile: join(w.dir, 'metrics-op.log') }).start();
    try {
      const ports = await op.started();
      expect(await status(ports.health, '/healthz')).toBe(200);
      expect(await status(ports.health, '/readyz')).toBe(503);

      const rules = [
        { apiGroups: ['pcluster.imageops.dev'], resources: ['customimages'], verbs: ['list', 'watch', 'patch'] },
        { apiGroups: ['pcluster.imageops.dev'], resources: ['customimages/status'], verbs: ['patch'] },
        { apiGroups: [''], resources: ['events'], verbs: ['create'] },
      ];
      await kubectlOk(kubeconfig, ['apply', '-f', '-'], [
        stringify({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'late-operator', namespace: w.namespace }, rules }),
        stringify({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'late-operator', namespace: w.namespace }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'late-operator' }, subjects: [{ kind: 'User', name: user }] }),
      ].join('---\n'));
      const deadline = Date.now() + 45_000;
      while ((await status(ports.health, '/readyz')) !== 200) {
        if (Date.now() > deadline) throw new Error('readyz did not flip to 200');
        await new Promise((r) => setTimeout(r, 250));
      }

      const text = await (await fetch(`http://127.0.0.1:${ports.metrics}/metrics`)).text();
      for (const name of ['controller_runtime_reconcile_total', 'controller_runtime_reconcile_errors_total', 'controller_runtime_reconcile_time_seconds', 'workqueue_depth', 'workqueue_adds_total', 'workqueue_queue_duration_seconds', 'workqueue_retries_total', 'leader_election_master_status', 'pcluster_image_operator_aws_requests_total', 'pcluster_image_operator_deletions_total', 'pcluster_image_operator_deletion_duration_seconds']) {
        expect(text, name).toContain(`# TYPE ${name} `);
      }
      const before = await metric(ports.metrics, 'controller_runtime_reconcile_total');
      const fx = await w.fixtures.image({ imageId: 'metered' });
      w.faults.addRule({ kind: 'throttle', service: 'ec2', action: 'DescribeInstances', times: 1 });
      await w.apply('metered', { imageId: 'metered' });
      await w.waitFor('metered', (o) => o?.status?.imageBuildStatus === 'BUILD_COMPLETE', 30_000);
      await w.kubectl(['delete', 'cimg', 'metered', '--timeout=60s']);
      expect(await w.fixtures.gone(fx)).toBe(true);
      expect(await metric(ports.metrics, 'controller_runtime_reconcile_total')).toBeGreaterThan(before);
      expect(await metric(ports.metrics, 'workqueue_adds_total', { name: 'customimage' })).toBeGreaterThan(0);
      expect(await metric(ports.metrics, 'pcluster_image_operator_deletions_total', { outcome: 'deleted' })).toBe(1);
      expect(await metric(ports.metrics, 'pcluster_image_operator_deletion_duration_seconds_count')).toBe(1);
      expect(await metric(ports.metrics, 'pcluster_image_operator_aws_requests_total', { service: 'ec2', operation: 'DeregisterImage', outcome: 'success' })).toBe(1);
      expect(await metric(ports.metrics, 'pcluster_image_operator_aws_requests_total', { operation: 'DescribeInstances', outcome: 'throttled' })).toBe(1);
      expect(await metric(ports.metrics, 'leader_election_master_status')).toBe(1);
    } finally {
      await op.stop();
    }
  });
});

describe('leader election with two replicas', () => {
  const ops: OperatorProcess[] = [];
  const leArgs = ['--leader-elect', '--leader-election-namespace', 'operations', '--leader-election-id', 'two-replicas', '--leader-election-lease-duration', '4', '--leader-election-renew-deadline', '3', '--leader-election-retry-period', '1'];
  afterAll(async () => {
    for (const o of ops) await o.stop();
  });

  async function leaderOf(candidates: OperatorProcess[], timeoutMs: number): Promise<OperatorProcess> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const leading: OperatorProcess[] = [];
      for (const o of candidates) {
        if (o.proc?.child.exitCode !== null || o.proc.child.signalCode !== null) continue;
        const ports = await o.started();
        if ((await metric(ports.metrics, 'leader_election_master_status')) === 1) leading.push(o);
      }
      expect(leading.length).toBeLessThanOrEqual(1);
      if (leading.length === 1) return leading[0]!;
      if (Date.now() > deadline) throw new Error(`no leader within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  const reconciledBy = (o: OperatorProcess, name: string) => o.logLines().filter((l) => l.msg === 'reconciled' && l.key === `operations/${name}`).length;

  it('only the leader acts; SIGKILL of the leader hands over within the lease; a graceful stop within the retry period', async () => {
    await w.reset();
    for (let i = 0; i < 2; i++) ops.push(new OperatorProcess({ kubeconfig, awsEndpoint: w.faults.endpoint, namespace: w.namespace, logFile: join(w.dir, `replica-${i}.log`), extraArgs: leArgs }).start());
    const first = await leaderOf(ops, 20_000);
    const standby = ops.find((o) => o !== first)!;

    const fx1 = await w.fixtures.image({ imageId: 'le-one' });
    await w.apply('le-one', { imageId: 'le-one' });
    await w.kubectl(['delete', 'cimg', 'le-one', '--timeout=60s']);
    expect(await w.fixtures.gone(fx1)).toBe(true);
    expect(reconciledBy(first, 'le-one')).toBeGreaterThan(0);
    expect(reconciledBy(standby, 'le-one')).toBe(0);

    // a deletion in flight when the leader dies
    const fx2 = await w.fixtures.image({ imageId: 'le-two' });
    w.faults.scriptStackDeletion('le-two', [{ inProgressPolls: 6, outcome: 'DELETE_COMPLETE' }]);
    await w.apply('le-two', { imageId: 'le-two' });
    await w.waitFor('le-two', (o) => o?.status?.imageBuildStatus === 'BUILD_COMPLETE', 30_000);
    await w.kubectl(['delete', 'cimg', 'le-two', '--wait=false']);
    await w.waitFor('le-two', (o) => o?.status?.imageBuildStatus === 'DELETE_IN_PROGRESS', 30_000);
    const killedAt = Date.now();
    await first.kill();
    const second = await leaderOf([standby], 20_000);
    const takeoverMs = Date.now() - killedAt;
    expect(second).toBe(standby);
    expect(takeoverMs).toBeLessThan(4_000 + 4_000); // lease duration plus a few seconds
    await w.waitGone('le-two', 30_000);
    expect(await w.fixtures.gone(fx2)).toBe(true);

    // graceful stop: the lease is released, the other candidate takes over without waiting it out
    first.start();
    await first.started();
    await new Promise((r) => setTimeout(r, 1500)); // the candidate is campaigning
    const stoppedAt = Date.now();
    await second.stop();
    const third = await leaderOf([first], 10_000);
    const gracefulMs = Date.now() - stoppedAt;
    expect(third).toBe(first);
    expect(gracefulMs).toBeLessThan(1_000 + 2_500); // retry period plus slack
    process.stderr.write(`leader election: takeover after SIGKILL ${takeoverMs} ms (lease 4 s), after graceful stop ${gracefulMs} ms (retry 1 s)\n`);
  }, 180_000);
});
