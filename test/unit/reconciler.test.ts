import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { FINALIZER, type CustomImage, type CustomImageStatus } from '../../src/api/customimage.ts';
import type { ImageStore } from '../../src/aws/image-store.ts';
import { DEFAULT_RECONCILER_OPTIONS, ImageReconciler } from '../../src/controller/image-reconciler.ts';
import type { AmiObservation, StackObservation, Tags } from '../../src/domain/observation.ts';
import type { CustomImageApi, JsonPatchOp } from '../../src/kube/api.ts';

// Table-driven decisions of the reconciler against an in-memory AWS and a recording Kubernetes API.
// Integration tests prove the same against moto and a real apiserver; these pin the decisions.

const TAGS = (id: string): Tags => ({ 'parallelcluster:image_id': id, 'parallelcluster:s3_bucket': 'b', 'parallelcluster:s3_image_dir': `parallelcluster/3.13.0/images/${id}-x` });

class MemoryStore implements ImageStore {
  calls: string[] = [];
  ami?: AmiObservation;
  stack?: StackObservation;
  snaps = new Map<string, Tags>();
  instances: string[] = [];
  shared: string[] = [];
  building = false;
  stackOnDelete: 'gone' | 'DELETE_FAILED' | 'DELETE_IN_PROGRESS' = 'gone';

  constructor(id: string, opts: { stackOwner?: string } = {}) {
    this.ami = { amiId: 'ami-1', kind: 'available', tags: TAGS(id), snapshotIds: ['snap-1'] };
    this.stack = { stackId: `arn:aws:cloudformation:r:1:stack/${id}/u`, stackName: id, status: 'CREATE_COMPLETE', tags: TAGS(opts.stackOwner ?? id) };
    this.snaps.set('snap-1', TAGS(id));
  }
  private log<T>(c: string, v: T): T {
    this.calls.push(c);
    return v;
  }
  async observe(imageId: string, region: string) {
    return this.log('observe', { imageId, region, ...(this.ami ? { ami: this.ami } : {}), ...(this.stack ? { stack: this.stack } : {}) });
  }
  async describeStack() {
    return this.log('describeStack', this.stack);
  }
  async describeAmi() {
    return this.log('describeAmi', this.ami);
  }
  async isImageBuilding() {
    return this.log('isImageBuilding', this.building);
  }
  async instancesUsing() {
    return this.log('instancesUsing', this.instances);
  }
  async launchPermissions() {
    return this.log('launchPermissions', this.shared);
  }
  async snapshots(_r: string, ids: readonly string[]) {
    return this.log('snapshots', new Map([...this.snaps].filter(([k]) => ids.includes(k))));
  }
  async deleteStack() {
    this.calls.push('deleteStack');
    if (this.stack) this.stack = this.stackOnDelete === 'gone' ? { ...this.stack, status: 'DELETE_COMPLETE' } : { ...this.stack, status: this.stackOnDelete };
  }
  async deregisterImage() {
    this.calls.push('deregisterImage');
    this.ami = undefined;
  }
  async deleteSnapshot(_r: string, id: string) {
    this.calls.push('deleteSnapshot');
    this.snaps.delete(id);
  }
  async deleteArtifacts() {
    return this.log('deleteArtifacts', { deleted: 3, bucketMissing: false });
  }
  async deleteLogGroup() {
    return this.log('deleteLogGroup', true);
  }
}

class RecordingApi implements CustomImageApi {
  statuses: CustomImageStatus[] = [];
  patches: JsonPatchOp[][] = [];
  obj: CustomImage;
  rv = 10;
  constructor(obj: CustomImage) {
    this.obj = obj;
  }
  async list() {
    return { items: [this.obj] };
  }
  async patch(_n: string, _m: string, ops: JsonPatchOp[]) {
    this.patches.push(ops);
    return this.obj;
  }
  async replaceStatus(_n: string, _m: string, status: CustomImageStatus) {
    this.statuses.push(status);
    this.obj = { ...this.obj, metadata: { ...this.obj.metadata, resourceVersion: String(++this.rv) }, status };
    return this.obj;
  }
}

function image(id: string, o: { deleting?: boolean; force?: boolean; retain?: boolean; finalizers?: string[]; status?: CustomImageStatus } = {}): CustomImage {
  return {
    apiVersion: 'pcluster.imageops.dev/v1alpha1',
    kind: 'CustomImage',
    metadata: { name: id, namespace: 'ns', uid: `uid-${id}`, resourceVersion: '1', generation: 1, finalizers: o.finalizers ?? [FINALIZER], ...(o.deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}) },
    spec: { imageId: id, ...(o.force ? { force: true } : {}), ...(o.retain ? { deletionPolicy: 'Retain' } : {}) },
    ...(o.status ? { status: o.status } : {}),
  };
}

function setup(obj: CustomImage, store: MemoryStore) {
  const api = new RecordingApi(obj);
  const events: string[] = [];
  const r = new ImageReconciler(
    { cache: { get: () => api.obj }, api, store, events: { record: async (_i, type, reason) => void events.push(`${type}:${reason}`) }, log: pino({ level: 'silent' }) },
    { ...DEFAULT_RECONCILER_OPTIONS, defaultRegion: 'us-east-1' },
  );
  return { api, events, run: () => r.reconcile('ns/x', { log: pino({ level: 'silent' }) }) };
}

const DELETES = ['deleteStack', 'deregisterImage', 'deleteSnapshot', 'deleteArtifacts', 'deleteLogGroup'];

describe('ImageReconciler decisions', () => {
  it('Retain: removes the finalizer without one AWS call', async () => {
    const store = new MemoryStore('a');
    const { api, events, run } = setup(image('a', { deleting: true, retain: true }), store);
    await run();
    expect(store.calls).toEqual([]);
    expect(api.patches).toEqual([[{ op: 'test', path: '/metadata/finalizers/0', value: FINALIZER }, { op: 'remove', path: '/metadata/finalizers/0' }]]);
    expect(events).toEqual(['Normal:Retained']);
  });

  it('in use: blocks with ImageInUse, deletes nothing, warns once per reason', async () => {
    const store = new MemoryStore('a');
    store.instances = ['i-1'];
    const { api, events, run } = setup(image('a', { deleting: true }), store);
    const r1 = await run();
    const r2 = await run();
    expect(store.calls.filter((c) => DELETES.includes(c))).toEqual([]);
    expect(api.statuses).toHaveLength(1);
    expect(api.statuses[0]?.conditions?.find((c) => c.type === 'Deleting')).toMatchObject({ status: 'False', reason: 'ImageInUse', message: 'Unable to delete image and stack: Image a is used by instances [i-1].' });
    expect(events).toEqual(['Warning:ImageInUse']);
    expect(r1.requeueAfterMs).toBeGreaterThan(0);
    expect(r2.requeueAfterMs).toBeGreaterThanOrEqual(r1.requeueAfterMs! / 2); // slow backoff, no hot loop
    expect(api.patches).toEqual([]);
  });

  it('forced: skips the in-use and shared checks and deletes in the reference order', async () => {
    const store = new MemoryStore('a');
    store.instances = ['i-1'];
    store.shared = ['all'];
    const { api, run } = setup(image('a', { deleting: true, force: true }), store);
    await run();
    expect(store.calls).not.toContain('instancesUsing');
    expect(store.calls.filter((c) => DELETES.includes(c))).toEqual(DELETES);
    expect(api.statuses.map((s) => s.imageBuildStatus)).toEqual(['DELETE_IN_PROGRESS', 'DELETE_COMPLETE']);
    expect(api.statuses[0]?.deletion).toMatchObject({ forced: true, amiId: 'ami-1', snapshotIds: ['snap-1'] });
    expect(api.patches).toHaveLength(1);
  });

  it('ownership mismatch: deletes nothing, not even when forced', async () => {
    const store = new MemoryStore('a', { stackOwner: 'b' });
    const { api, events, run } = setup(image('a', { deleting: true, force: true }), store);
    await run();
    expect(store.calls.filter((c) => DELETES.includes(c))).toEqual([]);
    expect(api.statuses[0]?.conditions?.find((c) => c.type === 'Deleting')?.reason).toBe('OwnershipMismatch');
    expect(events).toEqual(['Warning:OwnershipMismatch']);
  });

  it('resumes from the recorded plan after a restart without re-running the checks', async () => {
    const store = new MemoryStore('a');
    store.instances = ['i-1']; // would block a fresh start; the plan was made before the instance appeared
    store.ami = undefined; // deregistered before the crash
    const plan = { startedAt: '2026-01-01T00:00:00Z', forced: false, amiId: 'ami-1', snapshotIds: ['snap-1'], stackArn: 'arn:aws:cloudformation:r:1:stack/a/u', s3Bucket: 'b', s3ImageDir: 'parallelcluster/3.13.0/images/a-x', logGroup: '/aws/imagebuilder/ParallelClusterImage-a' };
    const { api, run } = setup(image('a', { deleting: true, status: { imageBuildStatus: 'DELETE_IN_PROGRESS', deletion: plan } }), store);
    await run();
    expect(store.calls).not.toContain('instancesUsing');
    expect(store.calls).not.toContain('deregisterImage');
    expect(store.calls.filter((c) => DELETES.includes(c))).toEqual(['deleteStack', 'deleteSnapshot', 'deleteArtifacts', 'deleteLogGroup']);
    expect(api.statuses.map((s) => s.imageBuildStatus)).toEqual(['DELETE_COMPLETE']);
  });

  it('DELETE_FAILED: records the failure once, waits out the delay, keeps the finalizer', async () => {
    const store = new MemoryStore('a');
    store.stackOnDelete = 'DELETE_FAILED';
    const { api, events, run } = setup(image('a', { deleting: true }), store);
    const r = await run();
    await run();
    expect(store.calls.filter((c) => c === 'deleteStack')).toHaveLength(1);
    expect(api.statuses.map((s) => s.imageBuildStatus)).toEqual(['DELETE_IN_PROGRESS', 'DELETE_FAILED']);
    expect(api.statuses[1]?.deletion?.stackDeleteAttempts).toBe(1);
    expect(events.filter((e) => e === 'Warning:StackDeleteFailed')).toHaveLength(1);
    expect(r.requeueAfterMs).toBeGreaterThan(0);
    expect(api.patches).toEqual([]);
  });

  it('a stack still deleting: polls without writing again', async () => {
    const store = new MemoryStore('a');
    store.stackOnDelete = 'DELETE_IN_PROGRESS';
    const { api, run } = setup(image('a', { deleting: true }), store);
    const r = await run();
    await run();
    expect(r.requeueAfterMs).toBe(DEFAULT_RECONCILER_OPTIONS.stackPollMs);
    expect(api.statuses).toHaveLength(1);
    expect(store.calls.filter((c) => c === 'deleteStack')).toHaveLength(1);
  });

  it('a live image without our finalizer: adds it and stops', async () => {
    const store = new MemoryStore('a');
    const { api, run } = setup(image('a', { finalizers: [] }), store);
    await run();
    expect(store.calls).toEqual([]);
    expect(api.patches[0]?.[1]).toEqual({ op: 'add', path: '/metadata/finalizers', value: [FINALIZER] });
  });
});

describe('our own writes until the informer catches up', () => {
  it('uses the copy the last status write returned while the cache is older, and drops it once the informer delivers that version', async () => {
    const stale = image('a');
    const api = new RecordingApi(stale);
    const r = new ImageReconciler(
      { cache: { get: () => stale }, api, store: new MemoryStore('a'), events: { record: async () => undefined }, log: pino({ level: 'silent' }) },
      { ...DEFAULT_RECONCILER_OPTIONS, defaultRegion: 'us-east-1' },
    );
    const run = () => r.reconcile('ns/a', { log: pino({ level: 'silent' }) });
    await run();
    expect(api.statuses).toHaveLength(1); // live status written, resourceVersion 11
    await run();
    expect(api.statuses).toHaveLength(1); // the written copy already has it: no second write
    r.informerCaughtUp('ns/a', '5'); // an older version: still needed
    await run();
    expect(api.statuses).toHaveLength(1);
    r.informerCaughtUp('ns/a', api.obj.metadata.resourceVersion);
    await run(); // the copy is gone; this (stale) cache has no status, so it is written again
    expect(api.statuses).toHaveLength(2);
  });
});
