import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { bundleAlone, deployedRuntime } from '../env/container.ts';
import { ControlPlane } from '../env/control-plane.ts';
import { kubectl, kubectlOk } from '../env/kubectl.ts';
import { OperatorProcess } from '../env/operator-process.ts';
import { World } from '../env/world.ts';

// The manifests apply to a real apiserver, and the operator works under exactly their RBAC:
// with the ServiceAccount's own token every step succeeds; with any one verb removed it does not.
// The operator here is the container's artifact: the bundle alone, with the image's runtime settings.
const kubeconfig = inject('kubeconfig');
const repo = join(import.meta.dirname, '..', '..');
const OP_NS = 'pcluster-image-operator';
let w: World;
let saKubeconfig: string;
let bundle: string;

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}
interface RoleDoc {
  kind: string;
  metadata: { name: string; namespace?: string };
  rules: Rule[];
}

const rendered = async (dir: string) => (await kubectlOk(kubeconfig, ['kustomize', join(repo, 'manifests', dir)])).split(/^---$/m).map((d) => parse(d) as { kind: string; metadata: { name: string } });

beforeAll(async () => {
  w = await World.start(kubeconfig, 'rbac-scenarios', { operator: false });
  bundle = bundleAlone();
});
afterAll(async () => {
  await w?.stop();
});

describe('manifests', () => {
  it('apply with kubectl apply -k: server-side dry run, then for real', async () => {
    // a server-side dry run cannot create the namespace its namespaced objects go into
    await kubectlOk(kubeconfig, ['apply', '-f', join(repo, 'manifests', 'base', 'namespace.yaml')]);
    const dry = await kubectl(kubeconfig, ['apply', '-k', join(repo, 'manifests', 'base'), '--dry-run=server']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/deployment.apps\/pcluster-image-operator created \(server dry run\)/);
    const real = await kubectl(kubeconfig, ['apply', '-k', join(repo, 'manifests', 'base')]);
    expect(real.code, real.stderr).toBe(0);
    const dep = JSON.parse(await kubectlOk(kubeconfig, ['get', 'deployment', '-n', OP_NS, 'pcluster-image-operator', '-o', 'json']));
    expect(dep.spec.replicas).toBe(2);
    const c = dep.spec.template.spec.containers[0];
    expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } });
    expect(c.args).toContain('--leader-elect');
    const ns = JSON.parse(await kubectlOk(kubeconfig, ['get', 'namespace', OP_NS, '-o', 'json']));
    expect(ns.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
  });

  it('the namespaced variant applies too, with a Role instead of a ClusterRole', async () => {
    const docs = (await rendered('namespaced')) as unknown as RoleDoc[];
    // the only cluster-wide grant: creating token and access reviews, which reach no resource
    const clusterRoles = docs.filter((d) => d.kind === 'ClusterRole');
    expect(clusterRoles.flatMap((d) => d.rules.flatMap((r) => r.resources)).sort()).toEqual(['subjectaccessreviews', 'tokenreviews']);
    expect(docs.find((d) => d.kind === 'Role' && d.metadata.name === 'pcluster-image-operator')?.rules.map((r) => r.resources[0])).toEqual(['customimages', 'customimages/status', 'events']);
    expect(docs.map((d) => d.kind)).not.toContain('CustomResourceDefinition');
    await kubectlOk(kubeconfig, ['create', 'namespace', 'team-images']);
    const r = await kubectl(kubeconfig, ['apply', '-k', join(repo, 'manifests', 'namespaced'), '--dry-run=server']);
    expect(r.code, r.stderr).toBe(0);
  });

  it('grant no wildcards and keep leases in the operator namespace', async () => {
    const docs = (await rendered('base')) as unknown as RoleDoc[];
    for (const d of docs.filter((x) => x.kind === 'ClusterRole' || x.kind === 'Role')) {
      for (const r of d.rules) for (const f of [...r.verbs, ...r.resources, ...r.apiGroups]) expect(f, `${d.kind} ${d.metadata.name}`).not.toBe('*');
    }
    const clusterRole = docs.find((d) => d.kind === 'ClusterRole')!;
    expect(clusterRole.rules.some((r) => r.resources.includes('leases'))).toBe(false);
    expect(docs.find((d) => d.kind === 'Role')?.metadata.namespace).toBe(OP_NS);
  });
});

describe('the operator under the manifests\' RBAC', () => {
  let clusterRole: RoleDoc;
  let leaseRole: RoleDoc;
  let run = 0;

  beforeAll(async () => {
    await kubectlOk(kubeconfig, ['apply', '-k', join(repo, 'manifests', 'base')]);
    const token = (await kubectlOk(kubeconfig, ['create', 'token', 'pcluster-image-operator', '-n', OP_NS, '--duration=1h'])).trim();
    saKubeconfig = ControlPlane.attach(inject('controlPlaneDir'), kubeconfig).kubeconfigForToken('operator-sa', token);
    const docs = (await rendered('base')) as unknown as RoleDoc[];
    clusterRole = docs.find((d) => d.kind === 'ClusterRole')!;
    leaseRole = docs.find((d) => d.kind === 'Role')!;
  });

  let callerToken = '';
  beforeAll(async () => {
    // a user of the image API, allowed what DeleteImage with adoption needs
    const role = { apiGroups: ['pcluster.imageops.dev'], resources: ['customimages'], verbs: ['get', 'list', 'delete', 'patch', 'create'] };
    await kubectlOk(kubeconfig, ['apply', '-f', '-'], [
      stringify({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'api-caller', namespace: w.namespace } }),
      stringify({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'api-caller', namespace: w.namespace }, rules: [role] }),
      stringify({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'api-caller', namespace: w.namespace }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'api-caller' }, subjects: [{ kind: 'ServiceAccount', name: 'api-caller', namespace: w.namespace }] }),
    ].join('---\n'));
    callerToken = (await kubectlOk(kubeconfig, ['create', 'token', 'api-caller', '-n', w.namespace, '--duration=1h'])).trim();
  });

  /**
   * Under the operator's own token: a CustomImage observed and deleted through the image API, and
   * an AWS-only image adopted and deleted through it; AWS clean; no 403 in the operator's log.
   */
  async function scenario(deadlineMs: number): Promise<{ ok: boolean; why: string }> {
    run++;
    await w.reset();
    const name = `rbac-${run}`;
    const orphan = `rbac-${run}-orphan`;
    const fx = await w.fixtures.image({ imageId: name });
    const fxOrphan = await w.fixtures.image({ imageId: orphan });
    const op = new OperatorProcess({
      // the container's artifact and settings: the bundle alone, with the Dockerfile's flags
      script: bundle,
      ...deployedRuntime(),
      kubeconfig: saKubeconfig,
      awsEndpoint: w.faults.endpoint,
      namespace: w.namespace,
      logFile: join(w.dir, `operator-${run}.log`),
      extraArgs: ['--leader-elect', '--leader-election-namespace', OP_NS, '--leader-election-id', `rbac-${run}`, '--leader-election-lease-duration', '4', '--leader-election-renew-deadline', '3', '--leader-election-retry-period', '1', '--api-bind-address', '127.0.0.1:0', '--api-namespaces', w.namespace],
    }).start();
    const forbidden = () => op.logLines().find((l) => /forbidden|HTTP-Code: 403|HTTP 403/i.test(JSON.stringify(l)));
    const fail = (why: string) => {
      const f = forbidden();
      return { ok: false, why: f ? `forbidden: ${JSON.stringify(f).slice(0, 300)}` : why };
    };
    try {
      const { api } = (await op.started()) as { api?: number };
      const del = (id: string) => fetch(`http://127.0.0.1:${api}/v3/images/custom/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${callerToken}` } });
      await w.apply(name, { imageId: name });
      const deadline = Date.now() + deadlineMs;
      let deleted = false;
      let adopted = false;
      for (;;) {
        if (forbidden()) return fail('');
        const o = await w.get(name);
        if (!deleted && o?.status?.imageBuildStatus === 'BUILD_COMPLETE' && o.metadata.finalizers?.length) {
          const r = await del(name);
          if (r.status !== 202) return fail(`DeleteImage answered ${r.status}: ${await r.text()}`);
          deleted = true;
        }
        if (deleted && !adopted) {
          const r = await del(orphan);
          if (r.status !== 202) return fail(`DeleteImage (adoption) answered ${r.status}: ${await r.text()}`);
          adopted = true;
        }
        if (deleted && adopted && !o && (await w.fixtures.gone(fxOrphan)) && (await w.get(orphan)) === undefined) break;
        if (Date.now() > deadline) return fail(`not done in ${deadlineMs} ms (deleted=${deleted}, adopted=${adopted}, status=${JSON.stringify(o?.status?.imageBuildStatus)})`);
        await new Promise((r) => setTimeout(r, 200));
      }
      if (!(await w.fixtures.gone(fx))) return fail('AWS not clean');
      // the scenario includes keeping the lease: let a couple of renewals (retry period 1 s) happen
      await new Promise((r) => setTimeout(r, 2500));
      return forbidden() ? fail('') : { ok: true, why: '' };
    } finally {
      await op.kill();
      // let the namespace's leftovers go regardless of what the limited operator managed
      for (const n of [name, orphan]) {
        if (await w.get(n)) await w.kubectl(['patch', 'cimg', n, '--type=json', '-p', '[{"op":"remove","path":"/metadata/finalizers"}]']);
        await w.kubectl(['delete', 'cimg', n, '--ignore-not-found', '--wait=false']);
      }
    }
  }

  async function applyRole(doc: RoleDoc): Promise<void> {
    await kubectlOk(kubeconfig, ['apply', '-f', '-'], stringify(doc));
    await new Promise((r) => setTimeout(r, 300)); // RBAC authorizer caches catch up
  }

  it('passes the full deletion scenario with the ServiceAccount token', async () => {
    const r = await scenario(40_000);
    expect(r.why).toBe('');
    expect(r.ok).toBe(true);
  });

  it('fails the scenario with any one verb removed, so every verb is needed', async () => {
    const results: string[] = [];
    for (const role of [clusterRole, leaseRole]) {
      for (let i = 0; i < role.rules.length; i++) {
        for (const verb of role.rules[i]!.verbs) {
          const limited: RoleDoc = structuredClone(role);
          limited.rules[i]!.verbs = limited.rules[i]!.verbs.filter((v) => v !== verb);
          if (limited.rules[i]!.verbs.length === 0) limited.rules.splice(i, 1);
          await applyRole(limited);
          try {
            const r = await scenario(20_000);
            results.push(`${role.rules[i]!.resources.join(',')}:${verb} → ${r.ok ? 'PASSED (verb not needed!)' : 'failed'}`);
          } finally {
            await applyRole(role);
          }
        }
      }
    }
    expect(results.length).toBe(12);
    expect(results.filter((r) => r.includes('PASSED'))).toEqual([]);
  }, 400_000);
});
