// The CustomImage API (pcluster.imageops.dev/v1alpha1). Field names follow the ParallelCluster v3
// image API (seed: deleteImage), so a status reads like `pcluster describe-image` output.

export const GROUP = 'pcluster.imageops.dev';
export const VERSION = 'v1alpha1';
export const KIND = 'CustomImage';
export const PLURAL = 'customimages';
export const API_VERSION = `${GROUP}/${VERSION}`;

/** Held until the AWS side is gone (or Retain says leave it). */
export const FINALIZER = `${GROUP}/aws-deletion`;
/** `"true"` means the same as spec.force: delete although the AMI is in use or shared. */
export const FORCE_ANNOTATION = `${GROUP}/force`;

export type DeletionPolicy = 'Delete' | 'Retain';

export interface CustomImageSpec {
  imageId: string;
  region?: string;
  deletionPolicy?: DeletionPolicy;
  force?: boolean;
}

export const IMAGE_BUILD_STATUSES = ['BUILD_IN_PROGRESS', 'BUILD_FAILED', 'BUILD_COMPLETE', 'DELETE_IN_PROGRESS', 'DELETE_FAILED', 'DELETE_COMPLETE'] as const;
export type ImageBuildStatus = (typeof IMAGE_BUILD_STATUSES)[number];

export interface Ec2AmiInfo {
  amiId: string;
  amiName?: string;
  state?: string;
  architecture?: string;
  description?: string;
}

export type ConditionType = 'Ready' | 'Synced' | 'Deleting';
export type ConditionStatus = 'True' | 'False' | 'Unknown';

/** Reasons a condition can carry; also used as Kubernetes event reasons. */
export type Reason =
  | 'Available'
  | 'Building'
  | 'BuildFailed'
  | 'ImageNotFound'
  | 'ReconcileSuccess'
  | 'ReconcileError'
  | 'AccessDenied'
  | 'DeletionStarted'
  | 'DeletionInProgress'
  | 'ImageInUse'
  | 'ImageShared'
  | 'ImageBuilding'
  | 'StackDeleteFailed'
  | 'OwnershipMismatch'
  | 'WaitingForFinalizers'
  | 'Deleted'
  | 'Retained'
  | 'ArtifactCleanupWarning';

export interface Condition {
  type: ConditionType;
  status: ConditionStatus;
  reason: Reason;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

/**
 * What the operator committed to delete, written before the first AWS delete call so that a
 * restart (or a tag that disappears with the AMI) never loses track of it.
 */
export interface DeletionPlan {
  startedAt: string;
  forced: boolean;
  amiId?: string;
  snapshotIds: string[];
  stackArn?: string;
  s3Bucket?: string;
  s3ImageDir?: string;
  logGroup: string;
  stackDeleteAttempts?: number;
  /** After a DELETE_FAILED, DeleteStack is not retried before this time. */
  stackRetryNotBefore?: string;
}

export interface CustomImageStatus {
  imageId?: string;
  region?: string;
  version?: string;
  ec2AmiInfo?: Ec2AmiInfo;
  cloudformationStackArn?: string;
  imageBuildStatus?: ImageBuildStatus;
  cloudformationStackStatus?: string;
  message?: string;
  observedGeneration?: number;
  conditions?: Condition[];
  deletion?: DeletionPlan;
}

export interface ObjectMeta {
  name: string;
  namespace: string;
  uid: string;
  resourceVersion: string;
  generation?: number;
  finalizers?: string[];
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  deletionTimestamp?: string;
  creationTimestamp?: string;
  /** Server-side apply bookkeeping: sent by the apiserver, never kept in the cache (kube/trim.ts). */
  managedFields?: unknown[];
}

export interface CustomImage {
  apiVersion: typeof API_VERSION;
  kind: typeof KIND;
  metadata: ObjectMeta;
  spec: CustomImageSpec;
  status?: CustomImageStatus;
}

export const IMAGE_ID_PATTERN = /^[a-zA-Z][a-zA-Z0-9-]{0,127}$/;

export function isForced(image: CustomImage): boolean {
  return image.spec.force === true || image.metadata.annotations?.[FORCE_ANNOTATION] === 'true';
}

export function deletionPolicy(image: CustomImage): DeletionPolicy {
  return image.spec.deletionPolicy ?? 'Delete';
}

export function keyOf(image: { metadata: { namespace?: string; name?: string } }): string {
  return `${image.metadata.namespace ?? ''}/${image.metadata.name ?? ''}`;
}
