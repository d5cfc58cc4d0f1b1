/** The parts of an object that trimming touches. */
export type Trimmable = {
  apiVersion?: string;
  kind?: string;
  metadata: { managedFields?: unknown; annotations?: Record<string, string>; namespace?: string; finalizers?: string[] };
  status?: unknown;
};

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * Strings that thousands of cached objects repeat (apiVersion, kind, namespace, finalizers,
 * condition types, reasons and messages, UPPER_CASE status values) are kept once: JSON.parse gives
 * every object its own copies, about a quarter of a cached CustomImage's bytes. Bounded: the table
 * starts over when full, which only costs sharing, never correctness.
 */
const table = new Map<string, string>();
const TABLE_MAX = 4096;
function intern<T>(s: T): T {
  if (typeof s !== 'string' || s.length > 256) return s;
  const known = table.get(s);
  if (known !== undefined) return known as T;
  if (table.size >= TABLE_MAX) table.clear();
  table.set(s, s);
  return s;
}
const ENUM = /^[A-Z][A-Z0-9_]{0,40}$/;

type Condition = { type?: string; status?: string; reason?: string; message?: string };

function compactCondition(c: Condition): Condition {
  const out: Condition = { ...c };
  for (const k of ['type', 'status', 'reason', 'message'] as const) if (typeof c[k] === 'string') out[k] = intern(c[k]);
  return out;
}

function compactStatus(status: unknown): unknown {
  if (!status || typeof status !== 'object' || Array.isArray(status)) return status;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(status)) {
    if (k === 'conditions' && Array.isArray(v)) out[k] = (v as Condition[]).map(compactCondition);
    else out[k] = typeof v === 'string' && ENUM.test(v) ? intern(v) : v;
  }
  return out;
}

/**
 * What the cache keeps of an object: all of it but the server-side-apply bookkeeping
 * (managedFields) and kubectl's copy of the last applied manifest, which the operator never
 * reads and which are most of a CustomImage's bytes — like controller-runtime's
 * TransformStripManagedFields — with repeated strings shared. The objects are never written back
 * whole, only patched, so nothing trimmed here can be lost.
 */
export function trimForCache<T extends Trimmable>(o: T): T {
  const { managedFields: _managed, annotations, ...metadata } = o.metadata;
  if (annotations && LAST_APPLIED in annotations) {
    const { [LAST_APPLIED]: _applied, ...rest } = annotations;
    if (Object.keys(rest).length) (metadata as Trimmable['metadata']).annotations = rest;
  } else if (annotations) (metadata as Trimmable['metadata']).annotations = annotations;
  if (metadata.namespace !== undefined) metadata.namespace = intern(metadata.namespace);
  if (metadata.finalizers) metadata.finalizers = metadata.finalizers.map(intern);
  const out = { ...o, metadata };
  if (o.apiVersion !== undefined) out.apiVersion = intern(o.apiVersion);
  if (o.kind !== undefined) out.kind = intern(o.kind);
  if (o.status !== undefined) out.status = compactStatus(o.status);
  return out;
}
