import { CloudFormationClient, CreateStackCommand, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient, CreateLogGroupCommand, DescribeLogGroupsCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  CreateSnapshotCommand,
  CreateTagsCommand,
  CreateVolumeCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  EC2Client,
  ModifyImageAttributeCommand,
  RegisterImageCommand,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import { CreateBucketCommand, DeleteObjectCommand, ListObjectVersionsCommand, PutBucketVersioningCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createHash, randomBytes } from 'node:crypto';

/** moto's account. */
export const ACCOUNT = '123456789012';
export const DEFAULT_REGION = 'us-east-1';

export interface ImageFixtureOptions {
  imageId: string;
  region?: string;
  version?: string;
  /** available: a finished build; failed: Image Builder's AMI of a failed build; none: no AMI. */
  ami?: 'available' | 'failed' | 'none';
  stack?: boolean;
  artifacts?: boolean;
  logGroup?: boolean;
  /** Share the AMI with these account ids, or 'all' for the public group. */
  sharedWith?: string[];
  /** Launch an instance from the AMI (blocks deletion unless forced). */
  runningInstance?: boolean;
  /** Override the stack's parallelcluster:image_id tag (ownership-mismatch scenarios). */
  stackOwnerTag?: string;
  /** Override the snapshot's parallelcluster:image_id tag. */
  snapshotOwnerTag?: string;
}

export interface ImageFixture {
  imageId: string;
  region: string;
  version: string;
  amiId?: string;
  snapshotIds: string[];
  stackName?: string;
  stackArn?: string;
  bucket: string;
  imageDir: string;
  /** key → version ids (delete markers included) under the image dir. */
  objectKeys: string[];
  logGroup: string;
  instanceIds: string[];
}

/** What still exists in AWS of a fixture. */
export interface Remains {
  ami: boolean;
  snapshots: string[];
  stack: boolean;
  objectVersions: number;
  logGroup: boolean;
}

export interface AwsTarget {
  endpoint: string;
}

export function awsClients(endpoint: string, region = DEFAULT_REGION, maxAttempts = 5) {
  const common = { region, endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' }, maxAttempts };
  return {
    ec2: new EC2Client(common),
    cfn: new CloudFormationClient(common),
    s3: new S3Client({ ...common, forcePathStyle: true }),
    logs: new CloudWatchLogsClient(common),
  };
}

/** ParallelCluster's default bucket name shape: parallelcluster-<hash>-v1-do-not-delete. */
export function defaultBucket(region: string): string {
  const hash = createHash('sha256').update(`${ACCOUNT}-${region}`).digest('hex').slice(0, 16);
  return `parallelcluster-${hash}-v1-do-not-delete`;
}

const STACK_TEMPLATE = JSON.stringify({
  AWSTemplateFormatVersion: '2010-09-09',
  Description: 'AWS ParallelCluster image build stack (fixture)',
  // moto cannot run Image Builder; a cheap resource under the real logical id keeps DescribeStackResource
  // meaningful (moto answers 500 for its null WaitConditionHandle model)
  Resources: { ParallelClusterImage: { Type: 'AWS::SNS::Topic' } },
});

/**
 * Builds ParallelCluster-shaped images in moto, exactly as the reference lays them out
 * (docs/parallelcluster-image-deletion.md), plus decoys that must never be touched.
 */
export class FixtureBuilder {
  private readonly bucketsReady = new Set<string>();
  private readonly endpoint: string;
  constructor(endpoint: string) {
    this.endpoint = endpoint;
  }

  private clients(region: string) {
    return awsClients(this.endpoint, region);
  }

  private async ensureBucket(region: string, bucket: string): Promise<void> {
    if (this.bucketsReady.has(bucket)) return;
    const { s3 } = this.clients(region);
    try {
      await s3.send(new CreateBucketCommand({ Bucket: bucket, ...(region !== 'us-east-1' ? { CreateBucketConfiguration: { LocationConstraint: region as never } } : {}) }));
    } catch (e) {
      if ((e as Error).name !== 'BucketAlreadyOwnedByYou') throw e;
    }
    await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
    this.bucketsReady.add(bucket);
  }

  async image(opts: ImageFixtureOptions): Promise<ImageFixture> {
    const region = opts.region ?? DEFAULT_REGION;
    const version = opts.version ?? '3.13.0';
    const { ec2, cfn, s3, logs } = this.clients(region);
    const imageId = opts.imageId;
    const bucket = defaultBucket(region);
    const imageDir = `parallelcluster/${version}/images/${imageId.toLowerCase()}-${randomBytes(8).toString('hex')}`;
    const logGroup = `/aws/imagebuilder/ParallelClusterImage-${imageId}`;
    const builderArn = `arn:aws:imagebuilder:${region}:${ACCOUNT}:image/parallelclusterimage-${imageId.toLowerCase()}/${version}/1`;
    const pcTags: Record<string, string> = {
      'parallelcluster:image_id': imageId,
      'parallelcluster:image_name': imageId,
      'parallelcluster:version': version,
      'parallelcluster:build_config': `s3://${bucket}/${imageDir}/configs/image-config.yaml`,
      'parallelcluster:s3_bucket': bucket,
      'parallelcluster:s3_image_dir': imageDir,
      'parallelcluster:build_log': `arn:aws:logs:${region}:${ACCOUNT}:log-group:${logGroup}`,
      'parallelcluster:os': 'alinux2023',
    };
    const toTags = (t: Record<string, string>): { Key: string; Value: string }[] => Object.entries(t).map(([Key, Value]) => ({ Key, Value }));
    const fx: ImageFixture = { imageId, region, version, snapshotIds: [], bucket, imageDir, objectKeys: [], logGroup, instanceIds: [] };

    const amiKind = opts.ami ?? 'available';
    if (amiKind !== 'none') {
      const amiTags = amiKind === 'available' ? { ...pcTags, 'parallelcluster:build_status': 'available', Ec2ImageBuilderArn: builderArn } : { ...pcTags, Ec2ImageBuilderArn: builderArn };
      // moto's RegisterImage ignores TagSpecifications and BlockDeviceMappings: it makes one
      // snapshot of its own, which we then tag as Image Builder would
      const reg = await ec2.send(
        new RegisterImageCommand({
          Name: `${imageId} ${new Date().toISOString().replace(/[:.]/g, '-')}`,
          Description: `AWS ParallelCluster AMI for ${imageId}`,
          Architecture: 'x86_64',
          RootDeviceName: '/dev/xvda',
          VirtualizationType: 'hvm',
        }),
      );
      fx.amiId = reg.ImageId!;
      const described = (await ec2.send(new DescribeImagesCommand({ ImageIds: [fx.amiId] }))).Images?.[0];
      fx.snapshotIds = (described?.BlockDeviceMappings ?? []).flatMap((m) => (m.Ebs?.SnapshotId ? [m.Ebs.SnapshotId] : []));
      await ec2.send(new CreateTagsCommand({ Resources: [fx.amiId], Tags: toTags(amiTags) }));
      if (fx.snapshotIds.length) await ec2.send(new CreateTagsCommand({ Resources: fx.snapshotIds, Tags: toTags({ ...pcTags, 'parallelcluster:image_id': opts.snapshotOwnerTag ?? imageId }) }));
      if (opts.sharedWith?.length) {
        await ec2.send(
          new ModifyImageAttributeCommand({
            ImageId: fx.amiId,
            LaunchPermission: { Add: opts.sharedWith.map((a) => (a === 'all' ? { Group: 'all' } : { UserId: a })) },
          }),
        );
      }
      if (opts.runningInstance) {
        const run = await ec2.send(new RunInstancesCommand({ ImageId: fx.amiId, MinCount: 1, MaxCount: 1, InstanceType: 't3.micro' }));
        fx.instanceIds = (run.Instances ?? []).map((i) => i.InstanceId!);
      }
    }

    if (opts.stack !== false) {
      const stackTags = { ...pcTags, 'parallelcluster:image_id': opts.stackOwnerTag ?? imageId };
      const out = await cfn.send(new CreateStackCommand({ StackName: imageId, TemplateBody: STACK_TEMPLATE, Tags: toTags(stackTags), Capabilities: ['CAPABILITY_NAMED_IAM'] }));
      fx.stackName = imageId;
      fx.stackArn = out.StackId!;
    }

    if (opts.artifacts !== false) {
      await this.ensureBucket(region, bucket);
      for (const name of ['configs/image-config.yaml', 'configs/image-config-original.yaml', 'assets/user-data.sh']) {
        const Key = `${imageDir}/${name}`;
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: `v1 of ${name}` }));
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: `v2 of ${name}` }));
        fx.objectKeys.push(Key);
      }
      // a delete marker too: "all objects and all object versions" includes them
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: `${imageDir}/assets/user-data.sh` }));
    }

    if (opts.logGroup !== false) {
      await logs.send(new CreateLogGroupCommand({ logGroupName: logGroup }));
    }
    return fx;
  }

  /**
   * Near-identical things that belong to someone else: an AMI tagged for `<id>-old`, an untagged AMI
   * named like the image, a stack `<id>-extra` of another image, S3 objects under `<id>-…` and `<id>x-…`
   * prefixes, and log groups `/…/ParallelClusterImage-<id>-2`. Returns a fixture per decoy image.
   */
  async decoysFor(imageId: string, region = DEFAULT_REGION): Promise<{ images: ImageFixture[]; untaggedAmiId: string; strayKeys: string[] }> {
    const images = [await this.image({ imageId: `${imageId}-old`, region }), await this.image({ imageId: `${imageId}x`, region, ami: 'failed' })];
    const { ec2, s3 } = this.clients(region);
    const snap = await ec2.send(new CreateSnapshotCommand({ VolumeId: (await ec2.send(new CreateVolumeCommand({ AvailabilityZone: `${region}a`, Size: 8 }))).VolumeId! }));
    const untagged = await ec2.send(
      new RegisterImageCommand({ Name: imageId, Architecture: 'x86_64', RootDeviceName: '/dev/xvda', BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: snap.SnapshotId! } }] }),
    );
    const bucket = defaultBucket(region);
    await this.ensureBucket(region, bucket);
    const strayKeys = [`parallelcluster/3.13.0/images/${imageId.toLowerCase()}`, `parallelcluster/3.13.0/images/${imageId.toLowerCase()}-stray/keep.txt`];
    for (const Key of strayKeys) await s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: 'decoy' }));
    return { images, untaggedAmiId: untagged.ImageId!, strayKeys };
  }

  async remains(fx: ImageFixture): Promise<Remains> {
    const { ec2, cfn, s3, logs } = this.clients(fx.region);
    const ami = fx.amiId ? ((await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'image-id', Values: [fx.amiId] }] }))).Images ?? []).length > 0 : false;
    const snapshots = fx.snapshotIds.length
      ? ((await ec2.send(new DescribeSnapshotsCommand({ Filters: [{ Name: 'snapshot-id', Values: fx.snapshotIds }] }))).Snapshots ?? []).map((s) => s.SnapshotId!)
      : [];
    let stack = false;
    if (fx.stackArn) {
      const s = (await cfn.send(new DescribeStacksCommand({ StackName: fx.stackArn }))).Stacks?.[0];
      stack = s !== undefined && s.StackStatus !== 'DELETE_COMPLETE';
    }
    let objectVersions = 0;
    try {
      const v = await s3.send(new ListObjectVersionsCommand({ Bucket: fx.bucket, Prefix: `${fx.imageDir}/` }));
      objectVersions = (v.Versions?.length ?? 0) + (v.DeleteMarkers?.length ?? 0);
    } catch (e) {
      if ((e as Error).name !== 'NoSuchBucket') throw e;
    }
    const lg = await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: fx.logGroup }));
    const logGroup = (lg.logGroups ?? []).some((g) => g.logGroupName === fx.logGroup);
    return { ami, snapshots, stack, objectVersions, logGroup };
  }

  /** true when nothing of the fixture is left. */
  async gone(fx: ImageFixture): Promise<boolean> {
    const r = await this.remains(fx);
    return !r.ami && r.snapshots.length === 0 && !r.stack && r.objectVersions === 0 && !r.logGroup;
  }

  /** true when everything the fixture created is still there. */
  async intact(fx: ImageFixture): Promise<boolean> {
    const r = await this.remains(fx);
    return r.ami === (fx.amiId !== undefined) && r.snapshots.length === fx.snapshotIds.length && r.stack === (fx.stackArn !== undefined) && r.objectVersions === (fx.objectKeys.length ? 7 : 0) && r.logGroup;
  }
}
