import { describe, expect, it } from 'vitest';
import { setCondition } from '../../src/api/conditions.ts';
import { buildStatusForStack, describeView } from '../../src/domain/build-status.ts';
import { artifactPrefix, ownershipProblems } from '../../src/domain/ownership.ts';
import type { ImageObservation } from '../../src/domain/observation.ts';
import { imageBuilderArnPattern } from '../../src/aws/image-store.ts';

const ami = (imageId: string, kind: 'available' | 'failed' = 'available') => ({ amiId: 'ami-1', kind, name: 'n', state: 'available', tags: { 'parallelcluster:image_id': imageId, 'parallelcluster:version': '3.12.0' }, snapshotIds: ['snap-1'] });
const stack = (imageId: string, status = 'CREATE_COMPLETE') => ({ stackId: 'arn:aws:cloudformation:us-east-1:1:stack/x/1', stackName: imageId, status, tags: { 'parallelcluster:image_id': imageId, 'parallelcluster:version': '3.13.0' } });

describe('stack status → imageBuildStatus (the reference table)', () => {
  it.each([
    ['CREATE_IN_PROGRESS', 'BUILD_IN_PROGRESS'],
    ['UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS', 'BUILD_IN_PROGRESS'],
    ['REVIEW_IN_PROGRESS', 'BUILD_IN_PROGRESS'],
    ['ROLLBACK_IN_PROGRESS', 'BUILD_FAILED'],
    ['CREATE_FAILED', 'BUILD_FAILED'],
    ['IMPORT_ROLLBACK_COMPLETE', 'BUILD_FAILED'],
    ['CREATE_COMPLETE', 'BUILD_COMPLETE'],
    ['IMPORT_COMPLETE', 'BUILD_COMPLETE'],
    ['DELETE_IN_PROGRESS', 'DELETE_IN_PROGRESS'],
    ['DELETE_FAILED', 'DELETE_FAILED'],
    ['DELETE_COMPLETE', 'DELETE_COMPLETE'],
  ])('%s → %s', (s, expected) => expect(buildStatusForStack(s)).toBe(expected));
});

describe('describeView (describe-image parity)', () => {
  it('takes version and status from the stack when it exists', () => {
    const v = describeView({ imageId: 'a', region: 'eu-west-1', ami: ami('a'), stack: stack('a', 'CREATE_IN_PROGRESS') });
    expect(v).toEqual({ imageId: 'a', region: 'eu-west-1', version: '3.13.0', ec2AmiInfo: { amiId: 'ami-1', amiName: 'n', state: 'available' }, cloudformationStackArn: stack('a').stackId, cloudformationStackStatus: 'CREATE_IN_PROGRESS', imageBuildStatus: 'BUILD_IN_PROGRESS' });
  });
  it('reports BUILD_COMPLETE and the AMI tag version for an AMI alone', () => {
    expect(describeView({ imageId: 'a', region: 'r', ami: ami('a') })).toMatchObject({ imageBuildStatus: 'BUILD_COMPLETE', version: '3.12.0' });
  });
  it('reports BUILD_FAILED for a failed-build AMI alone', () => {
    expect(describeView({ imageId: 'a', region: 'r', ami: ami('a', 'failed') })?.imageBuildStatus).toBe('BUILD_FAILED');
  });
  it('is undefined when AWS has neither', () => {
    expect(describeView({ imageId: 'a', region: 'r' })).toBeUndefined();
  });
});

describe('ownership guard', () => {
  const obs = (o: Partial<ImageObservation>): ImageObservation => ({ imageId: 'mine', region: 'r', ...o });
  it('accepts resources tagged for this image', () => {
    expect(ownershipProblems('mine', obs({ ami: ami('mine'), stack: stack('mine') }), new Map([['snap-1', { 'parallelcluster:image_id': 'mine' }]]))).toEqual([]);
  });
  it('names a stack, AMI or snapshot tagged for someone else, or untagged', () => {
    const p = ownershipProblems('mine', obs({ ami: ami('theirs'), stack: stack('theirs') }), new Map([['snap-1', {}]]));
    expect(p).toEqual([
      'stack theirs is tagged parallelcluster:image_id=theirs, not mine',
      'AMI ami-1 is tagged parallelcluster:image_id=theirs, not mine',
      'snapshot snap-1 is tagged parallelcluster:image_id=(none), not mine',
    ]);
  });
});

describe('artifactPrefix', () => {
  it.each([
    ['myimg', 'parallelcluster/3.13.0/images/myimg-abc123', 'parallelcluster/3.13.0/images/myimg-abc123/'],
    ['myimg', 'parallelcluster/3.13.0/images/myimg-abc123/', 'parallelcluster/3.13.0/images/myimg-abc123/'],
    ['MyImg', 'custom/root/parallelcluster/3.13.0/images/myimg-x', 'custom/root/parallelcluster/3.13.0/images/myimg-x/'],
  ])('accepts image %s dir %s', (imageId, dir, prefix) => expect(artifactPrefix(imageId, dir)).toBe(prefix));
  it.each(['', '/', 'parallelcluster', 'parallelcluster/3.13.0/images', 'parallelcluster/3.13.0/images/other-abc', 'parallelcluster/3.13.0/images/myimgx-abc', 'anything/else'])('refuses %j, which could reach other data', (dir) => {
    expect(artifactPrefix('myimg', dir)).toBeUndefined();
  });
});

describe('imageBuilderArnPattern', () => {
  it('lowercases the id and ends the name with a slash so foo never matches foo-bar', () => {
    expect(imageBuilderArnPattern('us-east-1', 'Foo')).toBe('arn:*:imagebuilder:us-east-1:*:image/parallelclusterimage-foo/*');
  });
});

describe('setCondition', () => {
  it('stamps observedGeneration and keeps lastTransitionTime while the status holds', () => {
    const t1 = new Date('2026-01-01T00:00:00Z');
    const t2 = new Date('2026-01-02T00:00:00Z');
    const a = setCondition(undefined, 'Ready', 'False', 'Building', 'x', 1, t1);
    const b = setCondition(a, 'Ready', 'False', 'BuildFailed', 'y', 2, t2);
    expect(b).toEqual([{ type: 'Ready', status: 'False', reason: 'BuildFailed', message: 'y', lastTransitionTime: t1.toISOString(), observedGeneration: 2 }]);
    const c = setCondition(b, 'Ready', 'True', 'Available', 'z', 2, t2);
    expect(c[0]?.lastTransitionTime).toBe(t2.toISOString());
  });
});
