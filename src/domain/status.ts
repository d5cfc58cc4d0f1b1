import { setCondition, getCondition } from '../api/conditions.ts';
import type { CustomImage, CustomImageStatus, Reason } from '../api/customimage.ts';
import { describeView } from './build-status.ts';
import { notFoundMessage } from './messages.ts';
import type { ImageObservation } from './observation.ts';

/** The status of a live CustomImage from an observation: describe-image parity plus Ready/Synced. */
export function liveStatus(image: CustomImage, obs: ImageObservation, now: Date): CustomImageStatus {
  const gen = image.metadata.generation;
  const prev = image.status ?? {};
  const view = describeView(obs);
  let conditions = setCondition(prev.conditions, 'Synced', 'True', 'ReconcileSuccess', 'AWS observed', gen, now);
  if (!view) {
    const message = notFoundMessage(obs.imageId);
    conditions = setCondition(conditions, 'Ready', 'False', 'ImageNotFound', message, gen, now);
    return { imageId: obs.imageId, region: obs.region, message, observedGeneration: gen, conditions: dropDeleting(conditions) };
  }
  const ready: Record<string, [Reason, string, boolean]> = {
    BUILD_COMPLETE: ['Available', `AMI ${view.ec2AmiInfo?.amiId ?? '(none)'} is available`, true],
    BUILD_IN_PROGRESS: ['Building', `stack ${obs.stack?.stackName} is ${obs.stack?.status}`, false],
    BUILD_FAILED: ['BuildFailed', obs.stack?.statusReason ?? `the image build failed (stack ${obs.stack?.status ?? 'gone'})`, false],
  };
  const [reason, message, ok] = ready[view.imageBuildStatus ?? ''] ?? (['DeletionInProgress', `stack ${obs.stack?.stackName} is ${obs.stack?.status} outside this operator`, false] as [Reason, string, boolean]);
  conditions = setCondition(conditions, 'Ready', ok ? 'True' : 'False', reason, message, gen, now);
  return { ...view, message, observedGeneration: gen, conditions: dropDeleting(conditions) };
}

function dropDeleting(conditions: CustomImageStatus['conditions']): CustomImageStatus['conditions'] {
  return conditions?.filter((c) => c.type !== 'Deleting');
}

/** The status with Synced=False for an error (keeping everything else as last observed). */
export function errorStatus(image: CustomImage, reason: Reason, message: string, now: Date): CustomImageStatus {
  const prev = image.status ?? {};
  return { ...prev, conditions: setCondition(prev.conditions, 'Synced', 'False', reason, message, image.metadata.generation, now) };
}

/** True when the Deleting condition already says exactly this (so no new write or event is due). */
export function deletingConditionIs(image: CustomImage, reason: Reason, message: string): boolean {
  const c = getCondition(image.status?.conditions, 'Deleting');
  return c !== undefined && c.reason === reason && c.message === message;
}

/** Status equality that ignores key order. */
export function sameStatus(a: CustomImageStatus | undefined, b: CustomImageStatus | undefined): boolean {
  return canonical(a ?? {}) === canonical(b ?? {});
}

function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, val: unknown) =>
    val && typeof val === 'object' && !Array.isArray(val) ? Object.fromEntries(Object.entries(val as Record<string, unknown>).filter(([, x]) => x !== undefined).sort(([x], [y]) => x.localeCompare(y))) : val,
  );
}
