// Plain data the AWS side returns; the reconciler decides what to do with it.

export type Tags = Record<string, string>;

export interface AmiObservation {
  amiId: string;
  /** `available`: tagged parallelcluster:build_status=available; `failed`: found by its Image Builder ARN tag. */
  kind: 'available' | 'failed';
  name?: string;
  state?: string;
  architecture?: string;
  description?: string;
  tags: Tags;
  snapshotIds: string[];
}

export interface StackObservation {
  stackId: string; // the ARN
  stackName: string;
  status: string;
  statusReason?: string;
  tags: Tags;
}

export interface ImageObservation {
  imageId: string;
  region: string;
  ami?: AmiObservation;
  stack?: StackObservation;
}

export const TAG = {
  imageId: 'parallelcluster:image_id',
  imageName: 'parallelcluster:image_name',
  version: 'parallelcluster:version',
  buildStatus: 'parallelcluster:build_status',
  buildConfig: 'parallelcluster:build_config',
  s3Bucket: 'parallelcluster:s3_bucket',
  s3ImageDir: 'parallelcluster:s3_image_dir',
  buildLog: 'parallelcluster:build_log',
  os: 'parallelcluster:os',
  imageBuilderArn: 'Ec2ImageBuilderArn',
} as const;

export function logGroupName(imageId: string): string {
  return `/aws/imagebuilder/ParallelClusterImage-${imageId}`;
}

export function tagsOf(list: readonly { Key?: string; Value?: string }[] | undefined): Tags {
  const out: Tags = {};
  for (const t of list ?? []) if (t.Key !== undefined) out[t.Key] = t.Value ?? '';
  return out;
}
