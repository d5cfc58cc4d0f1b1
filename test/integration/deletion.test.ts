import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { FINALIZER, FORCE_ANNOTATION } from '../../src/api/customimage.ts';
import { condition, World } from '../env/world.ts';

// The product: `kubectl delete customimage` deletes the image in AWS as pcluster delete-image does.
let w: World;

beforeAll(async () => {
  w = await World.start(inject('kubeconfig'), 'deletion');
});
afterAll(async () => {
  await w?.stop();
});
beforeEach(async () => {
  await w.reset();
});

async function live(name: string, imageId = name) {
  await w.apply(name, { imageId });
  return w.waitFor(name, (o) => o?.metadata.finalizers?.includes(FINALIZER) === true && o.status?.observedGeneration !== undefined, 30_000, 'observed with finalizer');
}

describe('deleting a CustomImage', () => {
  it('deletes stack, AMI, snapshots, S3 objects and versions and the log group, and touches no decoy', async () => {
    const fx = await w.fixtures.image({ imageId: 'full-image' });
    const decoys = await w.fixtures.decoysFor('full-image');
    const observed = await live('full-image');
    expect(observed?.status).toMatchObject({ imageId: 'full-image', region: 'us-east-1', version: '3.13.0', imageBuildStatus: 'BUILD_COMPLETE', cloudformationStackArn: fx.stackArn, cloudformationStackStatus: 'CREATE_COMPLETE', ec2AmiInfo: { amiId: fx.amiId, state: 'available' } });
    expect(condition(observed, 'Ready')?.status).toBe('True');

    w.faults.scriptStackDeletion('full-image', [{ inProgressPolls: 3, outcome: 'DELETE_COMPLETE' }]);
    const del = w.kubectl(['delete', 'cimg', 'full-image', '--wait', '--timeout=60s']);
    const deleting = await w.waitFor('full-image', (o) => o?.status?.imageBuildStatus === 'DELETE_IN_PROGRESS', 30_000, 'DELETE_IN_PROGRESS');
    expect(deleting?.status?.cloudformationStackStatus).toBe('DELETE_IN_PROGRESS');
    expect(deleting?.status?.deletion).toMatchObject({ amiId: fx.amiId, snapshotIds: fx.snapshotIds, stackArn: fx.stackArn, s3Bucket: fx.bucket, s3ImageDir: fx.imageDir });
    const result = await del;
    expect(result.code, result.stderr).toBe(0);
    expect(await w.get('full-image')).toBeUndefined();

    expect(await w.fixtures.remains(fx)).toEqual({ ami: false, snapshots: [], stack: false, objectVersions: 0, logGroup: false });
    for (const d of decoys.images) expect(await w.fixtures.intact(d), d.imageId).toBe(true);
    const reasons = (await w.events('full-image')).map((e) => e.reason);
    expect(reasons).toEqual(expect.arrayContaining(['DeletionStarted', 'Deleted']));
  });

  it('deletes an AMI-only image (stack already cleaned up after the build)', async () => {
    const fx = await w.fixtures.image({ imageId: 'ami-only', stack: false });
    const o = await live('ami-only');
    expect(o?.status?.imageBuildStatus).toBe('BUILD_COMPLETE');
    expect(o?.status?.cloudformationStackArn).toBeUndefined();
    expect((await w.kubectl(['delete', 'cimg', 'ami-only', '--timeout=60s'])).code).toBe(0);
    expect(await w.fixtures.gone(fx)).toBe(true);
  });

  it('deletes a stack-only image', async () => {
    const fx = await w.fixtures.image({ imageId: 'stack-only', ami: 'none', artifacts: false });
    const o = await live('stack-only');
    expect(o?.status?.ec2AmiInfo).toBeUndefined();
    expect(o?.status?.imageBuildStatus).toBe('BUILD_COMPLETE');
    expect((await w.kubectl(['delete', 'cimg', 'stack-only', '--timeout=60s'])).code).toBe(0);
    expect(await w.fixtures.remains(fx)).toMatchObject({ stack: false, logGroup: false });
  });

  it('deletes the AMI of a failed build, found by its Image Builder ARN', async () => {
    const fx = await w.fixtures.image({ imageId: 'failed-build', ami: 'failed', stack: false });
    const other = await w.fixtures.image({ imageId: 'failed-build-2', ami: 'failed', stack: false });
    const o = await live('failed-build');
    expect(o?.status?.imageBuildStatus).toBe('BUILD_FAILED');
    expect(o?.status?.ec2AmiInfo?.amiId).toBe(fx.amiId);
    expect((await w.kubectl(['delete', 'cimg', 'failed-build', '--timeout=60s'])).code).toBe(0);
    expect(await w.fixtures.gone(fx)).toBe(true);
    expect(await w.fixtures.intact(other)).toBe(true);
  });

  it('reports an image absent from AWS as Ready=False ImageNotFound, and lets it go at once', async () => {
    const o = await live('never-built');
    expect(condition(o, 'Ready')).toMatchObject({ status: 'False', reason: 'ImageNotFound', message: 'No image or stack associated with ParallelCluster image id: never-built.' });
    expect(condition(o, 'Synced')?.status).toBe('True');
    expect((await w.kubectl(['delete', 'cimg', 'never-built', '--timeout=30s'])).code).toBe(0);
    // no error loop: a handful of observations, not one per backoff tick
    expect(w.faults.count('cloudformation', 'DescribeStacks')).toBeLessThanOrEqual(3);
  });

  it('blocks while instances use the AMI, naming them; the force annotation then deletes at once', async () => {
    const fx = await w.fixtures.image({ imageId: 'in-use', runningInstance: true });
    await live('in-use');
    await w.kubectl(['delete', 'cimg', 'in-use', '--wait=false']);
    const blocked = await w.waitFor('in-use', (o) => condition(o, 'Deleting')?.reason === 'ImageInUse', 30_000, 'ImageInUse');
    expect(condition(blocked, 'Deleting')?.message).toBe(`Unable to delete image and stack: Image in-use is used by instances [${fx.instanceIds.join(', ')}].`);
    expect(blocked?.status?.imageBuildStatus).not.toBe('DELETE_IN_PROGRESS');
    expect(await w.fixtures.intact(fx)).toBe(true);
    const warnings = (await w.events('in-use')).filter((e) => e.reason === 'ImageInUse');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.type).toBe('Warning');
    expect(warnings[0]?.message).toContain(fx.instanceIds[0]);

    expect((await w.kubectl(['annotate', 'cimg', 'in-use', `${FORCE_ANNOTATION}=true`])).code).toBe(0);
    await w.waitGone('in-use', 30_000);
    expect(await w.fixtures.remains(fx)).toEqual({ ami: false, snapshots: [], stack: false, objectVersions: 0, logGroup: false });
  });

  it('blocks while the AMI is shared, naming the accounts; spec.force then deletes', async () => {
    const fx = await w.fixtures.image({ imageId: 'shared-img', sharedWith: ['111122223333', 'all'] });
    await live('shared-img');
    await w.kubectl(['delete', 'cimg', 'shared-img', '--wait=false']);
    const blocked = await w.waitFor('shared-img', (o) => condition(o, 'Deleting')?.reason === 'ImageShared', 30_000, 'ImageShared');
    expect(condition(blocked, 'Deleting')?.message).toMatch(/^Image shared-img is shared with accounts or group \[(111122223333, all|all, 111122223333)\]\.$/);
    expect(await w.fixtures.intact(fx)).toBe(true);
    expect((await w.kubectl(['patch', 'cimg', 'shared-img', '--type=merge', '-p', '{"spec":{"force":true}}'])).code).toBe(0);
    await w.waitGone('shared-img', 30_000);
    expect(await w.fixtures.gone(fx)).toBe(true);
  });

  it('waits while Image Builder is still building, then deletes', async () => {
    const fx = await w.fixtures.image({ imageId: 'building' });
    w.faults.setImageBuilding('building', true);
    await live('building');
    await w.kubectl(['delete', 'cimg', 'building', '--wait=false']);
    const waiting = await w.waitFor('building', (o) => condition(o, 'Deleting')?.reason === 'ImageBuilding', 30_000, 'ImageBuilding');
    expect(condition(waiting, 'Deleting')?.message).toBe('Image cannot be deleted because EC2 ImageBuilder Image has a running workflow.');
    expect(w.faults.count('cloudformation', 'DeleteStack')).toBe(0);
    w.faults.setImageBuilding('building', false);
    await w.waitGone('building', 30_000);
    expect(await w.fixtures.gone(fx)).toBe(true);
  });

  it('retries a stack whose deletion fails, saying so in conditions and events, until it is gone', async () => {
    const fx = await w.fixtures.image({ imageId: 'stack-fails' });
    w.faults.scriptStackDeletion('stack-fails', [{ inProgressPolls: 1, outcome: 'DELETE_FAILED' }, { inProgressPolls: 1, outcome: 'DELETE_COMPLETE' }]);
    await live('stack-fails');
    await w.kubectl(['delete', 'cimg', 'stack-fails', '--wait=false']);
    const failed = await w.waitFor('stack-fails', (o) => condition(o, 'Deleting')?.reason === 'StackDeleteFailed', 30_000, 'StackDeleteFailed');
    expect(failed?.status?.imageBuildStatus).toBe('DELETE_FAILED');
    expect(failed?.status?.cloudformationStackStatus).toBe('DELETE_FAILED');
    expect(condition(failed, 'Deleting')?.message).toMatch(/stack stack-fails DELETE_FAILED \(attempt 1\)/);
    await w.waitGone('stack-fails', 30_000);
    expect(w.faults.count('cloudformation', 'DeleteStack')).toBe(2);
    expect(await w.fixtures.gone(fx)).toBe(true);
    expect((await w.events('stack-fails')).some((e) => e.reason === 'StackDeleteFailed' && e.type === 'Warning')).toBe(true);
  });

  it('converges through throttling and 5xx', async () => {
    const fx = await w.fixtures.image({ imageId: 'flaky' });
    await live('flaky');
    w.faults.addRule({ kind: 'throttle', service: 'ec2', probability: 0.5, times: 12 });
    w.faults.addRule({ kind: 'server-error', service: 'cloudformation', times: 3 });
    w.faults.addRule({ kind: 'throttle', service: 's3', times: 2 });
    w.faults.addRule({ kind: 'server-error', service: 'logs', times: 2 });
    expect((await w.kubectl(['delete', 'cimg', 'flaky', '--timeout=90s'])).code).toBe(0);
    expect(await w.fixtures.gone(fx)).toBe(true);
    expect([...w.faults.injected.values()].reduce((a, b) => a + b, 0)).toBeGreaterThan(3);
  });

  it('leaves AWS untouched with deletionPolicy Retain', async () => {
    const fx = await w.fixtures.image({ imageId: 'retained' });
    await w.apply('retained', { imageId: 'retained', deletionPolicy: 'Retain' });
    await w.waitFor('retained', (o) => o?.status?.imageBuildStatus === 'BUILD_COMPLETE', 30_000);
    const before = w.faults.countsObject();
    expect((await w.kubectl(['delete', 'cimg', 'retained', '--timeout=30s'])).code).toBe(0);
    expect(await w.fixtures.intact(fx)).toBe(true);
    const deletes = Object.keys(w.faults.countsObject()).filter((k) => /:(Delete|Deregister)/.test(k));
    expect(deletes).toEqual([]);
    expect(w.faults.countsObject()).toEqual(before);
  });

  it('deletes nothing when the stack named like the image belongs to another image', async () => {
    const fx = await w.fixtures.image({ imageId: 'not-mine', stackOwnerTag: 'someone-else' });
    await live('not-mine');
    await w.kubectl(['delete', 'cimg', 'not-mine', '--wait=false']);
    const blocked = await w.waitFor('not-mine', (o) => condition(o, 'Deleting')?.reason === 'OwnershipMismatch', 30_000, 'OwnershipMismatch');
    expect(condition(blocked, 'Deleting')?.message).toContain('stack not-mine is tagged parallelcluster:image_id=someone-else, not not-mine');
    expect(await w.fixtures.intact(fx)).toBe(true);
    // force does not override ownership
    await w.kubectl(['annotate', 'cimg', 'not-mine', `${FORCE_ANNOTATION}=true`]);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await w.fixtures.intact(fx)).toBe(true);
    expect(Object.keys(w.faults.countsObject()).filter((k) => /:(Delete|Deregister)/.test(k))).toEqual([]);
    expect((await w.events('not-mine')).some((e) => e.reason === 'OwnershipMismatch' && e.type === 'Warning')).toBe(true);
    // let the namespace go: drop our finalizer by hand, as an admin would
    await w.kubectl(['patch', 'cimg', 'not-mine', '--type=json', '-p', '[{"op":"remove","path":"/metadata/finalizers"}]']);
  });

  it('deletes nothing when a snapshot of the AMI is tagged for another image', async () => {
    const fx = await w.fixtures.image({ imageId: 'snap-foreign', snapshotOwnerTag: 'other-image' });
    await live('snap-foreign');
    await w.kubectl(['delete', 'cimg', 'snap-foreign', '--wait=false']);
    await w.waitFor('snap-foreign', (o) => condition(o, 'Deleting')?.reason === 'OwnershipMismatch', 30_000, 'OwnershipMismatch');
    expect(await w.fixtures.intact(fx)).toBe(true);
    await w.kubectl(['patch', 'cimg', 'snap-foreign', '--type=json', '-p', '[{"op":"remove","path":"/metadata/finalizers"}]']);
  });

  it('waits for other finalizers before touching AWS', async () => {
    const fx = await w.fixtures.image({ imageId: 'other-fin' });
    await live('other-fin');
    await w.kubectl(['patch', 'cimg', 'other-fin', '--type=json', '-p', '[{"op":"add","path":"/metadata/finalizers/-","value":"example.com/backup"}]']);
    await w.kubectl(['delete', 'cimg', 'other-fin', '--wait=false']);
    const waiting = await w.waitFor('other-fin', (o) => condition(o, 'Deleting')?.reason === 'WaitingForFinalizers', 30_000, 'WaitingForFinalizers');
    expect(waiting?.metadata.finalizers).toEqual([FINALIZER, 'example.com/backup']);
    expect(await w.fixtures.intact(fx)).toBe(true);
    await w.kubectl(['patch', 'cimg', 'other-fin', '--type=json', '-p', '[{"op":"test","path":"/metadata/finalizers/1","value":"example.com/backup"},{"op":"remove","path":"/metadata/finalizers/1"}]']);
    await w.waitGone('other-fin', 30_000);
    expect(await w.fixtures.gone(fx)).toBe(true);
  });

  it('converges when the operator is killed mid-deletion and restarted', async () => {
    const fx = await w.fixtures.image({ imageId: 'killed' });
    await live('killed');
    // hold the operator inside DeregisterImage so the kill lands between steps
    w.faults.addRule({ kind: 'latency', service: 'ec2', action: 'DeregisterImage', latencyMs: 3000, times: 1 });
    w.faults.scriptStackDeletion('killed', [{ inProgressPolls: 4, outcome: 'DELETE_COMPLETE' }]);
    await w.kubectl(['delete', 'cimg', 'killed', '--wait=false']);
    await w.waitFor('killed', (o) => o?.status?.imageBuildStatus === 'DELETE_IN_PROGRESS', 30_000);
    await new Promise((r) => setTimeout(r, 500));
    await w.operator.kill();
    w.operator.start();
    await w.waitGone('killed', 60_000);
    expect(await w.fixtures.gone(fx)).toBe(true);
    expect(w.faults.count('cloudformation', 'DeleteStack')).toBe(1);
  });
});
