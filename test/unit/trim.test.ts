import { describe, expect, it } from 'vitest';
import { trimForCache } from '../../src/kube/trim.ts';

const LAST = 'kubectl.kubernetes.io/last-applied-configuration';

describe('trimForCache', () => {
  const full = {
    metadata: { name: 'a', namespace: 'n', uid: 'u', resourceVersion: '7', finalizers: ['f'], managedFields: [{ manager: 'kubectl' }], annotations: { [LAST]: '{"big":"copy"}', 'pcluster.imageops.dev/force': 'true' } },
    spec: { imageId: 'a' },
    status: { imageBuildStatus: 'BUILD_COMPLETE' },
  };

  it('drops managedFields and the last-applied copy, keeps every other field and annotation', () => {
    expect(trimForCache(full)).toEqual({
      metadata: { name: 'a', namespace: 'n', uid: 'u', resourceVersion: '7', finalizers: ['f'], annotations: { 'pcluster.imageops.dev/force': 'true' } },
      spec: { imageId: 'a' },
      status: { imageBuildStatus: 'BUILD_COMPLETE' },
    });
  });

  it('shares repeated strings between objects without changing any value', () => {
    const parse = () => JSON.parse(JSON.stringify({ apiVersion: 'g/v1', kind: 'CustomImage', metadata: { name: 'x', namespace: 'team', finalizers: ['f/x'] }, status: { imageBuildStatus: 'BUILD_COMPLETE', amiId: 'ami-1', conditions: [{ type: 'Ready', status: 'True', reason: 'Available', message: 'AWS observed', lastTransitionTime: 't' }, { type: 'Synced', status: 'True' }] } }));
    const [a, b] = [parse(), parse()];
    const [ta, tb] = [trimForCache(a), trimForCache(b)];
    expect(ta).toEqual(a);
    expect(Object.keys(ta.status.conditions[1])).toEqual(['type', 'status']); // no keys added
    // strings are values in JavaScript: sharing is visible only through the heap, so check the
    // values are intact and the objects are new (the input is not mutated)
    expect(tb).toEqual(b);
    expect(ta.status).not.toBe(a.status);
    expect(ta.status.conditions[0]).not.toBe(a.status.conditions[0]);
  });

  it('does not change the object it is given', () => {
    const before = structuredClone(full);
    trimForCache(full);
    expect(full).toEqual(before);
  });

  it('leaves no empty annotations behind, and keeps annotations without the last-applied copy as they are', () => {
    expect(trimForCache({ metadata: { annotations: { [LAST]: '{}' } } }).metadata).toEqual({});
    expect(trimForCache({ metadata: { annotations: { a: 'b' } } }).metadata).toEqual({ annotations: { a: 'b' } });
    expect(trimForCache({ metadata: {} }).metadata).toEqual({});
  });
});
