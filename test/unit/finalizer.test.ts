import { describe, expect, it } from 'vitest';
import { addFinalizerPatch, reconcileWithFinalizer, removeFinalizerPatch } from '../../src/runtime/finalizer.ts';

const F = 'pcluster.imageops.dev/aws-deletion';

describe('finalizer patches carry a test op', () => {
  it('adds to an absent list by testing for null', () => {
    expect(addFinalizerPatch({ metadata: {} }, F)).toEqual([
      { op: 'test', path: '/metadata/finalizers', value: null },
      { op: 'add', path: '/metadata/finalizers', value: [F] },
    ]);
  });
  it('appends to an existing list only if it is unchanged', () => {
    expect(addFinalizerPatch({ metadata: { finalizers: ['x/y'] } }, F)).toEqual([
      { op: 'test', path: '/metadata/finalizers', value: ['x/y'] },
      { op: 'add', path: '/metadata/finalizers/-', value: F },
    ]);
  });
  it('removes ours by index, testing that the index still holds ours', () => {
    expect(removeFinalizerPatch({ metadata: { finalizers: ['x/y', F] } }, F)).toEqual([
      { op: 'test', path: '/metadata/finalizers/1', value: F },
      { op: 'remove', path: '/metadata/finalizers/1' },
    ]);
    expect(removeFinalizerPatch({ metadata: { finalizers: ['x/y'] } }, F)).toEqual([]);
  });
});

describe('the four states', () => {
  const run = async (finalizers: string[] | undefined, deleting: boolean, cleanupDone = true) => {
    const calls: string[] = [];
    const obj = { metadata: { ...(finalizers ? { finalizers } : {}), ...(deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}) } };
    const r = await reconcileWithFinalizer(obj, F, {
      apply: async () => {
        calls.push('apply');
        return 'applied';
      },
      cleanup: async () => {
        calls.push('cleanup');
        return cleanupDone ? { done: true } : { done: false, requeueAfterMs: 5 };
      },
      patch: async (_o, ops) => {
        calls.push(`patch:${ops.map((o) => o.op).join(',')}`);
      },
    });
    return { r, calls };
  };
  it('present and live: apply', async () => expect(await run([F], false)).toEqual({ r: { kind: 'applied', result: 'applied' }, calls: ['apply'] }));
  it('present and deleting: cleanup, then remove', async () => expect(await run([F], true)).toEqual({ r: { kind: 'finalizer-removed' }, calls: ['cleanup', 'patch:test,remove'] }));
  it('present and deleting, cleanup pending: keep the finalizer', async () => expect(await run([F], true, false)).toEqual({ r: { kind: 'cleanup-pending', requeueAfterMs: 5 }, calls: ['cleanup'] }));
  it('absent and live: add and stop', async () => expect(await run(undefined, false)).toEqual({ r: { kind: 'finalizer-added' }, calls: ['patch:test,add'] }));
  it('absent and deleting: nothing', async () => expect(await run(['other/x'], true)).toEqual({ r: { kind: 'nothing' }, calls: [] }));
});
