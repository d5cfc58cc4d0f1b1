import { CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { GROUP, PLURAL, VERSION, type CustomImage } from '../../src/api/customimage.ts';
import { ControlPlane } from '../env/control-plane.ts';
import { kubectl, kubectlOk } from '../env/kubectl.ts';

// The foundation: a real apiserver enforces exactly the semantics the operator relies on.
const kubeconfig = inject('kubeconfig');
const ns = 'cp-semantics';
let api: CustomObjectsApi;

const obj = (name: string) => ({ apiVersion: `${GROUP}/${VERSION}`, kind: 'CustomImage', metadata: { name, namespace: ns }, spec: { imageId: name } });
const params = (name: string) => ({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, name });

beforeAll(async () => {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  api = kc.makeApiClient(CustomObjectsApi);
  await kubectlOk(kubeconfig, ['create', 'namespace', ns]);
});

afterAll(async () => {
  await kubectl(kubeconfig, ['delete', 'namespace', ns, '--wait=false']);
});

describe('real kube-apiserver', () => {
  it('serves the CustomImage CRD, with short name and printer columns', async () => {
    const out = await kubectlOk(kubeconfig, ['api-resources', '--api-group', GROUP, '-o', 'wide']);
    expect(out).toMatch(/customimages\s+cimg\s+pcluster\.imageops\.dev\/v1alpha1\s+true\s+CustomImage/);
    await kubectlOk(kubeconfig, ['apply', '-f', '-'], JSON.stringify(obj('img-columns')));
    const table = await kubectlOk(kubeconfig, ['get', 'cimg', '-n', ns, 'img-columns']);
    expect(table.split('\n')[0]).toMatch(/NAME\s+IMAGE ID\s+REGION\s+AMI\s+BUILD STATUS\s+STACK STATUS\s+READY\s+AGE/);
  });

  it('creates an object with defaults applied by the schema', async () => {
    const created = (await api.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, body: obj('img-created') })) as CustomImage;
    expect(created.metadata.uid).toBeTruthy();
    expect(created.spec).toEqual({ imageId: 'img-created', deletionPolicy: 'Delete', force: false });
  });

  it('changes status only through the status subresource', async () => {
    await api.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, body: obj('img-status') });
    const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    await api.patchNamespacedCustomObject({ ...params('img-status'), body: { status: { imageBuildStatus: 'BUILD_COMPLETE' } } }, merge);
    const afterMain = (await api.getNamespacedCustomObject(params('img-status'))) as CustomImage;
    expect(afterMain.status?.imageBuildStatus).toBeUndefined();
    await api.patchNamespacedCustomObjectStatus({ ...params('img-status'), body: { status: { imageBuildStatus: 'BUILD_COMPLETE' } } }, merge);
    const afterStatus = (await api.getNamespacedCustomObject(params('img-status'))) as CustomImage;
    expect(afterStatus.status?.imageBuildStatus).toBe('BUILD_COMPLETE');
    expect(afterStatus.metadata.generation).toBe(afterMain.metadata.generation);
  });

  it('holds a deleted object while a finalizer remains, then lets it go', async () => {
    await api.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, body: { ...obj('img-final'), metadata: { name: 'img-final', namespace: ns, finalizers: ['example.com/hold'] } } });
    await api.deleteNamespacedCustomObject(params('img-final'));
    const held = (await api.getNamespacedCustomObject(params('img-final'))) as CustomImage;
    expect(held.metadata.deletionTimestamp).toBeTruthy();
    await api.patchNamespacedCustomObject({ ...params('img-final'), body: [{ op: 'test', path: '/metadata/finalizers/0', value: 'example.com/hold' }, { op: 'remove', path: '/metadata/finalizers/0' }] }, setHeaderOptions('Content-Type', PatchStrategy.JsonPatch));
    await expect(api.getNamespacedCustomObject(params('img-final'))).rejects.toMatchObject({ code: 404 });
  });

  it('rejects a JSON patch whose test op no longer holds', async () => {
    await api.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, body: { ...obj('img-test-op'), metadata: { name: 'img-test-op', namespace: ns, finalizers: ['a/one', 'b/two'] } } });
    const bad = api.patchNamespacedCustomObject({ ...params('img-test-op'), body: [{ op: 'test', path: '/metadata/finalizers/0', value: 'b/two' }, { op: 'remove', path: '/metadata/finalizers/0' }] }, setHeaderOptions('Content-Type', PatchStrategy.JsonPatch));
    await expect(bad).rejects.toMatchObject({ code: 422 });
    const still = (await api.getNamespacedCustomObject(params('img-test-op'))) as CustomImage;
    expect(still.metadata.finalizers).toEqual(['a/one', 'b/two']);
  });

  it('denies an identity that RBAC grants nothing', async () => {
    const cpDir = inject('controlPlaneDir');
    expect(cpDir).toBeTruthy();
    // a client certificate for a user with no bindings, signed by the same test CA
    const limited = await limitedKubeconfig();
    const r = await kubectl(limited, ['get', 'customimages', '-n', ns]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/forbidden.*User "nobody" cannot list resource "customimages"/);
  });
});

async function limitedKubeconfig(): Promise<string> {
  // ControlPlane.kubeconfigFor needs the PKI; global setup's instance lives in another process,
  // so load its PKI from the directory it provided.
  const cp = ControlPlane.attach(inject('controlPlaneDir'), kubeconfig);
  return cp.kubeconfigFor('nobody');
}
