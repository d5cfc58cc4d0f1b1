/** The parts of an object's metadata that trimming touches. */
export type Trimmable = { metadata: { managedFields?: unknown; annotations?: Record<string, string> } };

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * What the cache keeps of an object: all of it but the server-side-apply bookkeeping
 * (managedFields) and kubectl's copy of the last applied manifest, which the operator never
 * reads and which are most of a CustomImage's bytes. Like controller-runtime's
 * TransformStripManagedFields; the objects are never written back whole, only patched.
 */
export function trimForCache<T extends Trimmable>(o: T): T {
  const { managedFields: _managed, annotations, ...metadata } = o.metadata;
  if (annotations && LAST_APPLIED in annotations) {
    const { [LAST_APPLIED]: _applied, ...rest } = annotations;
    if (Object.keys(rest).length) (metadata as Trimmable['metadata']).annotations = rest;
  } else if (annotations) (metadata as Trimmable['metadata']).annotations = annotations;
  return { ...o, metadata };
}
