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
