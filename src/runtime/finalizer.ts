// The finalizer helper, after kube-rs's: a switch on (finalizer present, object deleting) with four
// short arms. Reconcile code gets "apply" or "cleanup" and never touches metadata; the patches
// here carry a JSON-patch `test`, so they fail (as a conflict) rather than drop someone else's
// finalizer or add ours twice.
//
// Guarantees: cleanup runs only while our finalizer is present; the finalizer is removed only
// after cleanup reports done. Assumptions: cleanup is idempotent and copes with apply never
// having run. Caveat: deletion hangs while the operator is down (that is the point).

export interface FinalizedObject {
  metadata: { finalizers?: string[]; deletionTimestamp?: string };
}

export type JsonPatch = { op: 'test' | 'add' | 'remove'; path: string; value?: unknown }[];

export type CleanupOutcome = { done: true } | { done: false; requeueAfterMs?: number };

export interface FinalizerHooks<T, R> {
  apply(obj: T): Promise<R>;
  cleanup(obj: T): Promise<CleanupOutcome>;
  /** Applies a JSON patch to the object's metadata. */
  patch(obj: T, ops: JsonPatch): Promise<unknown>;
}

export type FinalizerResult<R> = { kind: 'applied'; result: R } | { kind: 'cleanup-pending'; requeueAfterMs?: number } | { kind: 'finalizer-added' } | { kind: 'finalizer-removed' } | { kind: 'nothing' };

export function addFinalizerPatch(obj: FinalizedObject, finalizer: string): JsonPatch {
  const current = obj.metadata.finalizers;
  if (!current || current.length === 0) return [{ op: 'test', path: '/metadata/finalizers', value: null }, { op: 'add', path: '/metadata/finalizers', value: [finalizer] }];
  return [{ op: 'test', path: '/metadata/finalizers', value: current }, { op: 'add', path: '/metadata/finalizers/-', value: finalizer }];
}

export function removeFinalizerPatch(obj: FinalizedObject, finalizer: string): JsonPatch {
  const idx = (obj.metadata.finalizers ?? []).indexOf(finalizer);
  if (idx < 0) return [];
  return [{ op: 'test', path: `/metadata/finalizers/${idx}`, value: finalizer }, { op: 'remove', path: `/metadata/finalizers/${idx}` }];
}

export async function reconcileWithFinalizer<T extends FinalizedObject, R>(obj: T, finalizer: string, hooks: FinalizerHooks<T, R>): Promise<FinalizerResult<R>> {
  const present = obj.metadata.finalizers?.includes(finalizer) ?? false;
  const deleting = obj.metadata.deletionTimestamp !== undefined;
  if (present && !deleting) return { kind: 'applied', result: await hooks.apply(obj) };
  if (present && deleting) {
    const outcome = await hooks.cleanup(obj);
    if (!outcome.done) return { kind: 'cleanup-pending', ...(outcome.requeueAfterMs !== undefined ? { requeueAfterMs: outcome.requeueAfterMs } : {}) };
    await hooks.patch(obj, removeFinalizerPatch(obj, finalizer));
    return { kind: 'finalizer-removed' };
  }
  if (!present && !deleting) {
    // the patch's watch event triggers the next reconcile, which applies
    await hooks.patch(obj, addFinalizerPatch(obj, finalizer));
    return { kind: 'finalizer-added' };
  }
  return { kind: 'nothing' };
}
