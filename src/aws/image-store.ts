import { DeleteStackCommand, DescribeStackResourceCommand, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DeleteLogGroupCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DeregisterImageCommand, DeleteSnapshotCommand, DescribeImageAttributeCommand, DescribeImagesCommand, DescribeInstancesCommand, DescribeSnapshotsCommand, type Image } from '@aws-sdk/client-ec2';
import { DeleteObjectsCommand, ListObjectVersionsCommand } from '@aws-sdk/client-s3';
import { awsCall } from '../errors.ts';
import { TAG, tagsOf, type AmiObservation, type ImageObservation, type StackObservation, type Tags } from '../domain/observation.ts';
import type { AwsClientPool } from './clients.ts';

/**
 * The external client: what the operator may ask AWS about a ParallelCluster image, and the
 * deletes it may make. Guarantees: every delete is idempotent (deleting something already gone
 * succeeds); every observe returns plain data and never decides anything; errors are
 * AwsActionErrors naming the action and resource.
 */
export interface ImageStore {
  /** The available AMI (or else the failed-build AMI) and the stack named imageId. */
  observe(imageId: string, region: string): Promise<ImageObservation>;
  /** The stack by ARN (survives deletion as DELETE_COMPLETE for a while) or name. */
  describeStack(region: string, stackRef: string): Promise<StackObservation | undefined>;
  describeAmi(region: string, amiId: string): Promise<AmiObservation | undefined>;
  isImageBuilding(region: string, stackName: string): Promise<boolean>;
  instancesUsing(region: string, amiId: string): Promise<string[]>;
  launchPermissions(region: string, amiId: string): Promise<string[]>;
  /** Tags of those snapshots that still exist. */
  snapshots(region: string, snapshotIds: readonly string[]): Promise<Map<string, Tags>>;
  deleteStack(region: string, stackArn: string): Promise<void>;
  deregisterImage(region: string, amiId: string): Promise<void>;
  deleteSnapshot(region: string, snapshotId: string): Promise<void>;
  /** Deletes every object version and delete marker under prefix; `bucketMissing` is a warning, not a failure. */
  deleteArtifacts(region: string, bucket: string, prefix: string): Promise<{ deleted: number; bucketMissing: boolean }>;
  /** true when it existed. */
  deleteLogGroup(region: string, name: string): Promise<boolean>;
}

export function amiFrom(img: Image, kind: AmiObservation['kind']): AmiObservation {
  const snapshotIds = (img.BlockDeviceMappings ?? []).flatMap((m) => (m.Ebs?.SnapshotId ? [m.Ebs.SnapshotId] : []));
  return {
    amiId: img.ImageId!,
    kind,
    ...(img.Name !== undefined ? { name: img.Name } : {}),
    ...(img.State !== undefined ? { state: img.State } : {}),
    ...(img.Architecture !== undefined ? { architecture: img.Architecture } : {}),
    ...(img.Description !== undefined ? { description: img.Description } : {}),
    tags: tagsOf(img.Tags),
    snapshotIds,
  };
}

/** Image Builder's ARN for this image; the trailing `/` keeps image "foo" from matching "foo-bar". */
export function imageBuilderArnPattern(region: string, imageId: string): string {
  return `arn:*:imagebuilder:${region}:*:image/parallelclusterimage-${imageId.toLowerCase()}/*`;
}

export class AwsImageStore implements ImageStore {
  private readonly pool: AwsClientPool;
  constructor(pool: AwsClientPool) {
    this.pool = pool;
  }

  async observe(imageId: string, region: string): Promise<ImageObservation> {
    const [ami, stack] = await Promise.all([this.findAmi(imageId, region), this.describeStack(region, imageId)]);
    return { imageId, region, ...(ami ? { ami } : {}), ...(stack ? { stack } : {}) };
  }

  private async findAmi(imageId: string, region: string): Promise<AmiObservation | undefined> {
    const { ec2 } = this.pool.forRegion(region);
    const available = await awsCall('DescribeImages', `image ${imageId} in ${region}`, () =>
      ec2.send(new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: `tag:${TAG.imageId}`, Values: [imageId] }, { Name: `tag:${TAG.buildStatus}`, Values: ['available'] }] })),
    );
    const found = available?.Images?.[0];
    if (found) return amiFrom(found, 'available');
    const failed = await awsCall('DescribeImages', `failed-build AMI of image ${imageId} in ${region}`, () =>
      ec2.send(new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: `tag:${TAG.imageBuilderArn}`, Values: [imageBuilderArnPattern(region, imageId)] }] })),
    );
    const f = failed?.Images?.[0];
    return f ? amiFrom(f, 'failed') : undefined;
  }

  async describeAmi(region: string, amiId: string): Promise<AmiObservation | undefined> {
    const { ec2 } = this.pool.forRegion(region);
    // a filter, not ImageIds: a missing id is an empty answer rather than an error
    const out = await awsCall('DescribeImages', `AMI ${amiId} in ${region}`, () => ec2.send(new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: 'image-id', Values: [amiId] }] })));
    const img = out?.Images?.[0];
    if (!img) return undefined;
    return amiFrom(img, img.Tags?.some((t) => t.Key === TAG.buildStatus && t.Value === 'available') ? 'available' : 'failed');
  }

  async describeStack(region: string, stackRef: string): Promise<StackObservation | undefined> {
    const { cloudformation } = this.pool.forRegion(region);
    const out = await awsCall('DescribeStacks', `stack ${stackRef} in ${region}`, () => cloudformation.send(new DescribeStacksCommand({ StackName: stackRef })));
    const s = out?.Stacks?.[0];
    if (!s) return undefined;
    return {
      stackId: s.StackId!,
      stackName: s.StackName!,
      status: s.StackStatus!,
      ...(s.StackStatusReason ? { statusReason: s.StackStatusReason } : {}),
      tags: tagsOf(s.Tags),
    };
  }

  async isImageBuilding(region: string, stackName: string): Promise<boolean> {
    const { cloudformation } = this.pool.forRegion(region);
    const out = await awsCall('DescribeStackResource', `ParallelClusterImage of stack ${stackName} in ${region}`, () =>
      cloudformation.send(new DescribeStackResourceCommand({ StackName: stackName, LogicalResourceId: 'ParallelClusterImage' })),
    );
    return out?.StackResourceDetail?.ResourceStatus === 'CREATE_IN_PROGRESS';
  }

  async instancesUsing(region: string, amiId: string): Promise<string[]> {
    const { ec2 } = this.pool.forRegion(region);
    const ids: string[] = [];
    let NextToken: string | undefined;
    do {
      const out = await awsCall('DescribeInstances', `instances using AMI ${amiId} in ${region}`, () =>
        ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'image-id', Values: [amiId] }, { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] }], ...(NextToken ? { NextToken } : {}) })),
      );
      for (const r of out?.Reservations ?? []) for (const i of r.Instances ?? []) if (i.InstanceId) ids.push(i.InstanceId);
      NextToken = out?.NextToken;
    } while (NextToken);
    return ids;
  }

  async launchPermissions(region: string, amiId: string): Promise<string[]> {
    const { ec2 } = this.pool.forRegion(region);
    const out = await awsCall('DescribeImageAttribute', `launchPermission of AMI ${amiId} in ${region}`, () =>
      ec2.send(new DescribeImageAttributeCommand({ ImageId: amiId, Attribute: 'launchPermission' })),
    );
    return (out?.LaunchPermissions ?? []).flatMap((p) => [p.UserId, p.Group, p.OrganizationArn, p.OrganizationalUnitArn].filter((x): x is string => !!x));
  }

  async snapshots(region: string, snapshotIds: readonly string[]): Promise<Map<string, Tags>> {
    const result = new Map<string, Tags>();
    if (snapshotIds.length === 0) return result;
    const { ec2 } = this.pool.forRegion(region);
    const out = await awsCall('DescribeSnapshots', `snapshots ${snapshotIds.join(',')} in ${region}`, () =>
      ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters: [{ Name: 'snapshot-id', Values: [...snapshotIds] }] })),
    );
    for (const s of out?.Snapshots ?? []) if (s.SnapshotId) result.set(s.SnapshotId, tagsOf(s.Tags));
    return result;
  }

  async deleteStack(region: string, stackArn: string): Promise<void> {
    const { cloudformation } = this.pool.forRegion(region);
    // by ARN: a stack re-created later under the same name is never the one deleted
    await awsCall('DeleteStack', `stack ${stackArn}`, () => cloudformation.send(new DeleteStackCommand({ StackName: stackArn })));
  }

  async deregisterImage(region: string, amiId: string): Promise<void> {
    const { ec2 } = this.pool.forRegion(region);
    await awsCall('DeregisterImage', `AMI ${amiId} in ${region}`, () => ec2.send(new DeregisterImageCommand({ ImageId: amiId })));
  }

  async deleteSnapshot(region: string, snapshotId: string): Promise<void> {
    const { ec2 } = this.pool.forRegion(region);
    await awsCall('DeleteSnapshot', `snapshot ${snapshotId} in ${region}`, () => ec2.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId })));
  }

  async deleteArtifacts(region: string, bucket: string, prefix: string): Promise<{ deleted: number; bucketMissing: boolean }> {
    const { s3 } = this.pool.forRegion(region);
    let deleted = 0;
    let KeyMarker: string | undefined;
    let VersionIdMarker: string | undefined;
    for (;;) {
      const page = await awsCall('ListObjectVersions', `s3://${bucket}/${prefix}`, () =>
        s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: prefix, ...(KeyMarker ? { KeyMarker } : {}), ...(VersionIdMarker ? { VersionIdMarker } : {}) })),
      );
      if (!page) return { deleted, bucketMissing: true };
      const objects = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])]
        .filter((v) => v.Key?.startsWith(prefix))
        .map((v) => ({ Key: v.Key!, ...(v.VersionId ? { VersionId: v.VersionId } : {}) }));
      for (let i = 0; i < objects.length; i += 1000) {
        const batch = objects.slice(i, i + 1000);
        const out = await awsCall('DeleteObjects', `s3://${bucket}/${prefix}`, () => s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch, Quiet: true } })));
        const errors = out?.Errors ?? [];
        if (errors.length > 0) throw new Error(`DeleteObjects on s3://${bucket}/${prefix} failed for ${errors.length} keys: ${errors[0]?.Code}: ${errors[0]?.Message}`);
        deleted += batch.length;
      }
      if (!page.IsTruncated) return { deleted, bucketMissing: false };
      KeyMarker = page.NextKeyMarker;
      VersionIdMarker = page.NextVersionIdMarker;
    }
  }

  async deleteLogGroup(region: string, name: string): Promise<boolean> {
    const { logs } = this.pool.forRegion(region);
    const out = await awsCall('DeleteLogGroup', `log group ${name} in ${region}`, () => logs.send(new DeleteLogGroupCommand({ logGroupName: name })));
    return out !== undefined;
  }
}
