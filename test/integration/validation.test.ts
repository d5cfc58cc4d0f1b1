import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { stringify } from 'yaml';
import { kubectl, kubectlOk } from '../env/kubectl.ts';

// Bad input gets a clear error from the apiserver, through the CRD schema, before the operator sees it.
const kubeconfig = inject('kubeconfig');
const ns = 'validation';

beforeAll(async () => {
  await kubectlOk(kubeconfig, ['create', 'namespace', ns]);
});
afterAll(async () => {
  await kubectl(kubeconfig, ['delete', 'namespace', ns, '--wait=false']);
});

const doc = (name: string, spec: unknown) => stringify({ apiVersion: 'pcluster.imageops.dev/v1alpha1', kind: 'CustomImage', metadata: { name, namespace: ns }, ...(spec === undefined ? {} : { spec }) });

const cases: [string, unknown, RegExp][] = [
  ['no spec at all', undefined, /spec: Required value/],
  ['no imageId', { region: 'us-east-1' }, /spec\.imageId: Required value/],
  ['empty imageId', { imageId: '' }, /spec\.imageId: Invalid value: "": spec\.imageId in body should be at least 1 chars long/],
  ['imageId starting with a digit', { imageId: '1image' }, /spec\.imageId: Invalid value: "1image": spec\.imageId in body should match '\^\[a-zA-Z\]\[a-zA-Z0-9-\]\{0,127\}\$'/],
  ['imageId with an underscore', { imageId: 'my_image' }, /spec\.imageId: Invalid value: "my_image": spec\.imageId in body should match/],
  ['imageId with a dot', { imageId: 'image.v1' }, /spec\.imageId: Invalid value: "image\.v1"/],
  ['imageId of 129 characters', { imageId: `a${'b'.repeat(128)}` }, /spec\.imageId: Too long: may not be (longer than|more than) 128/],
  ['region in capitals', { imageId: 'ok', region: 'US-EAST-1' }, /spec\.region: Invalid value: "US-EAST-1": spec\.region in body should match/],
  ['region without a number', { imageId: 'ok', region: 'us-east' }, /spec\.region: Invalid value: "us-east"/],
  ['unknown deletionPolicy', { imageId: 'ok', deletionPolicy: 'Orphan' }, /spec\.deletionPolicy: Unsupported value: "Orphan": supported values: "Delete", "Retain"/],
  ['force as a string', { imageId: 'ok', force: 'sometimes' }, /spec\.force: Invalid value: "string": spec\.force in body must be of type boolean/],
  ['imageId as a number', { imageId: 42 }, /spec\.imageId: Invalid value: "integer": spec\.imageId in body must be of type string/],
  ['an unknown field', { imageId: 'ok', forceDelete: true }, /unknown field "spec\.forceDelete"/],
];

describe('the CRD schema rejects invalid specs', () => {
  it.each(cases)('%s', async (_title, spec, message) => {
    const r = await kubectl(kubeconfig, ['apply', '-f', '-'], doc(`bad-${Math.random().toString(36).slice(2, 8)}`, spec));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
  });

  it('keeps spec.imageId immutable', async () => {
    await kubectlOk(kubeconfig, ['apply', '-f', '-'], doc('immutable', { imageId: 'first', region: 'eu-west-1' }));
    const r = await kubectl(kubeconfig, ['apply', '-f', '-'], doc('immutable', { imageId: 'second', region: 'eu-west-1' }));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/spec\.imageId: Invalid value: "second": spec\.imageId is immutable; create a new CustomImage for another image/);
    const region = await kubectl(kubeconfig, ['apply', '-f', '-'], doc('immutable', { imageId: 'first', region: 'eu-west-2' }));
    expect(region.stderr).toMatch(/spec\.region is immutable/);
    const removed = await kubectl(kubeconfig, ['patch', 'cimg', 'immutable', '-n', ns, '--type=json', '-p', '[{"op":"remove","path":"/spec/region"}]']);
    expect(removed.stderr).toMatch(/spec\.region cannot be removed once set/);
  });

  it('explains the resource with kubectl explain', async () => {
    const out = await kubectlOk(kubeconfig, ['explain', 'customimage.spec.force']);
    expect(out).toMatch(/Delete even if instances use the AMI or the AMI is shared/);
  });
});
