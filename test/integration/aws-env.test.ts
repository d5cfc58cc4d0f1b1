import { spawnSync } from 'node:child_process';
import { DescribeStackResourceCommand, DescribeStacksCommand, DeleteStackCommand } from '@aws-sdk/client-cloudformation';
import { DescribeLogGroupsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeImageAttributeCommand, DescribeImagesCommand, DescribeInstancesCommand, DescribeSnapshotsCommand } from '@aws-sdk/client-ec2';
import { ListObjectVersionsCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FaultProxy } from '../env/fault-proxy.ts';
import { ACCOUNT, awsClients, FixtureBuilder } from '../env/fixtures.ts';
import { FASTER_LOOKUPS_SERVER, Moto } from '../env/moto.ts';

let moto: Moto;
let faults: FaultProxy;
let fixtures: FixtureBuilder;

beforeAll(async () => {
  moto = await Moto.start();
  faults = await new FaultProxy(moto.endpoint).start();
});
afterAll(async () => {
  await faults.stop();
  await moto.stop();
});
beforeEach(async () => {
  faults.reset();
  await moto.reset();
  fixtures = new FixtureBuilder(moto.endpoint);
});

const tagMap = (tags: { Key?: string; Value?: string }[] | undefined) => Object.fromEntries((tags ?? []).map((t) => [t.Key, t.Value]));

describe('fixture builder', () => {
  it('lays out an image as ParallelCluster does: tagged AMI and snapshot, stack, S3 versions, log group', async () => {
    const fx = await fixtures.image({ imageId: 'Alinux-Base1', version: '3.13.0' });
    const { ec2, cfn, s3, logs } = awsClients(moto.endpoint);
    const ami = (await ec2.send(new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: 'tag:parallelcluster:image_id', Values: ['Alinux-Base1'] }, { Name: 'tag:parallelcluster:build_status', Values: ['available'] }] }))).Images ?? [];
    expect(ami.map((i) => i.ImageId)).toEqual([fx.amiId]);
    const tags = tagMap(ami[0]!.Tags);
    for (const k of ['image_id', 'image_name', 'version', 'build_status', 'build_config', 's3_bucket', 's3_image_dir', 'build_log', 'os']) expect(tags[`parallelcluster:${k}`], k).toBeTruthy();
    expect(tags['parallelcluster:s3_image_dir']).toMatch(/^parallelcluster\/3\.13\.0\/images\/alinux-base1-[0-9a-f]+$/);
    expect(tags['parallelcluster:s3_bucket']).toMatch(/^parallelcluster-[0-9a-f]+-v1-do-not-delete$/);
    expect(tags.Ec2ImageBuilderArn).toBe(`arn:aws:imagebuilder:us-east-1:${ACCOUNT}:image/parallelclusterimage-alinux-base1/3.13.0/1`);

    const snaps = (await ec2.send(new DescribeSnapshotsCommand({ Filters: [{ Name: 'snapshot-id', Values: fx.snapshotIds }] }))).Snapshots ?? [];
    expect(snaps).toHaveLength(1);
    expect(ami[0]!.BlockDeviceMappings?.[0]?.Ebs?.SnapshotId).toBe(fx.snapshotIds[0]);
    expect(tagMap(snaps[0]!.Tags)['parallelcluster:image_id']).toBe('Alinux-Base1');

    const stack = (await cfn.send(new DescribeStacksCommand({ StackName: 'Alinux-Base1' }))).Stacks?.[0];
    expect(stack?.StackId).toBe(fx.stackArn);
    expect(tagMap(stack?.Tags)['parallelcluster:image_id']).toBe('Alinux-Base1');
    expect(tagMap(stack?.Tags)['parallelcluster:build_status']).toBeUndefined();
    const res = await cfn.send(new DescribeStackResourceCommand({ StackName: 'Alinux-Base1', LogicalResourceId: 'ParallelClusterImage' }));
    expect(res.StackResourceDetail?.ResourceStatus).toBe('CREATE_COMPLETE');

    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: fx.bucket, Prefix: `${fx.imageDir}/` }));
    expect(versions.Versions).toHaveLength(6); // three objects, two versions each
    expect(versions.DeleteMarkers).toHaveLength(1);
    const groups = await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: '/aws/imagebuilder/ParallelClusterImage-Alinux-Base1' }));
    expect(groups.logGroups?.map((g) => g.logGroupName)).toEqual(['/aws/imagebuilder/ParallelClusterImage-Alinux-Base1']);
  });

  it('builds the variants: failed-build AMI, AMI only, stack only, shared, in use', async () => {
    const { ec2, cfn } = awsClients(moto.endpoint);
    const failed = await fixtures.image({ imageId: 'failed1', ami: 'failed' });
    const failedTags = tagMap((await ec2.send(new DescribeImagesCommand({ ImageIds: [failed.amiId!] }))).Images?.[0]?.Tags);
    expect(failedTags['parallelcluster:build_status']).toBeUndefined();
    expect(failedTags.Ec2ImageBuilderArn).toContain('image/parallelclusterimage-failed1/');

    const amiOnly = await fixtures.image({ imageId: 'amionly', stack: false });
    expect(amiOnly.stackArn).toBeUndefined();
    await expect(cfn.send(new DescribeStacksCommand({ StackName: 'amionly' }))).rejects.toThrow(/does not exist/);

    const stackOnly = await fixtures.image({ imageId: 'stackonly', ami: 'none' });
    expect(stackOnly.amiId).toBeUndefined();
    expect(stackOnly.stackArn).toBeTruthy();

    const shared = await fixtures.image({ imageId: 'shared1', sharedWith: ['111122223333', 'all'] });
    const perms = await ec2.send(new DescribeImageAttributeCommand({ ImageId: shared.amiId!, Attribute: 'launchPermission' }));
    expect(perms.LaunchPermissions).toEqual(expect.arrayContaining([{ UserId: '111122223333' }, { Group: 'all' }]));

    const used = await fixtures.image({ imageId: 'used1', runningInstance: true });
    const inst = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'image-id', Values: [used.amiId!] }, { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] }] }));
    expect(inst.Reservations?.flatMap((r) => r.Instances ?? []).map((i) => i.InstanceId)).toEqual(used.instanceIds);
  });

  it('makes decoys that look alike but are not the image', async () => {
    const fx = await fixtures.image({ imageId: 'decoyed' });
    const d = await fixtures.decoysFor('decoyed');
    const { ec2 } = awsClients(moto.endpoint);
    const mine = (await ec2.send(new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: 'tag:parallelcluster:image_id', Values: ['decoyed'] }] }))).Images ?? [];
    expect(mine.map((i) => i.ImageId)).toEqual([fx.amiId]);
    expect(d.images.map((i) => i.imageId)).toEqual(['decoyed-old', 'decoyedx']);
    expect(await fixtures.intact(d.images[0]!)).toBe(true);
    expect(d.untaggedAmiId).toMatch(/^ami-/);
  });
});

describe('fault layer', () => {
  it('counts requests per service and action', async () => {
    const { ec2, cfn } = awsClients(faults.endpoint);
    await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }));
    await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }));
    await expect(cfn.send(new DescribeStacksCommand({ StackName: 'nope' }))).rejects.toThrow(/does not exist/);
    expect(faults.count('ec2', 'DescribeImages')).toBe(2);
    expect(faults.count('cloudformation', 'DescribeStacks')).toBe(1);
    expect(faults.count('ec2')).toBe(2);
  });

  it('injects throttling with each service\'s own error code, exactly as many times as asked', async () => {
    faults.addRule({ kind: 'throttle', service: 'ec2', action: 'DescribeImages', times: 2 });
    faults.addRule({ kind: 'throttle', service: 'cloudformation', times: 1 });
    const ec2 = awsClients(faults.endpoint, 'us-east-1', 1).ec2;
    await expect(ec2.send(new DescribeImagesCommand({ Owners: ['self'] }))).rejects.toMatchObject({ name: 'RequestLimitExceeded' });
    await expect(ec2.send(new DescribeImagesCommand({ Owners: ['self'] }))).rejects.toMatchObject({ name: 'RequestLimitExceeded' });
    await expect(ec2.send(new DescribeImagesCommand({ Owners: ['self'] }))).resolves.toBeTruthy();
    const { cfn } = awsClients(faults.endpoint, 'us-east-1', 1);
    await expect(cfn.send(new DescribeStacksCommand({}))).rejects.toMatchObject({ name: 'Throttling' });
    expect(faults.injected.get('throttle:ec2:DescribeImages')).toBe(2);
    expect(faults.injected.get('throttle:cloudformation:DescribeStacks')).toBe(1);
  });

  it('injects 5xx that the SDK sees as server errors, and latency', async () => {
    faults.addRule({ kind: 'server-error', service: 'ec2', times: 1 });
    faults.addRule({ kind: 'latency', service: 'ec2', latencyMs: 150 });
    const ec2 = awsClients(faults.endpoint, 'us-east-1', 1).ec2;
    await expect(ec2.send(new DescribeImagesCommand({ Owners: ['self'] }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 500 } });
    const t = performance.now();
    await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }));
    expect(performance.now() - t).toBeGreaterThanOrEqual(140);
  });

  it('enforces a token bucket per action', async () => {
    faults.rateLimit('ec2', 'DescribeImages', { capacity: 3, refillPerSecond: 0.001 });
    const ec2 = awsClients(faults.endpoint, 'us-east-1', 1).ec2;
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => ec2.send(new DescribeImagesCommand({ Owners: ['self'] }))));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(2);
  });

  it('scripts a stack deletion: DELETE_IN_PROGRESS for N polls, then DELETE_FAILED, then gone on retry', async () => {
    const fx = await fixtures.image({ imageId: 'scripted' });
    faults.scriptStackDeletion('scripted', [{ inProgressPolls: 2, outcome: 'DELETE_FAILED' }, { inProgressPolls: 1, outcome: 'DELETE_COMPLETE' }]);
    const { cfn } = awsClients(faults.endpoint);
    const status = async () => (await cfn.send(new DescribeStacksCommand({ StackName: fx.stackArn }))).Stacks?.[0]?.StackStatus;
    await cfn.send(new DeleteStackCommand({ StackName: fx.stackArn }));
    expect([await status(), await status(), await status(), await status()]).toEqual(['DELETE_IN_PROGRESS', 'DELETE_IN_PROGRESS', 'DELETE_FAILED', 'DELETE_FAILED']);
    await cfn.send(new DeleteStackCommand({ StackName: 'scripted' }));
    expect(await status()).toBe('DELETE_IN_PROGRESS');
    expect(await status()).toBe('DELETE_COMPLETE');
    await expect(cfn.send(new DescribeStacksCommand({ StackName: 'scripted' }))).rejects.toThrow(/does not exist/);
  });

  it('reports Image Builder as still building when told to', async () => {
    await fixtures.image({ imageId: 'building1' });
    faults.setImageBuilding('building1', true);
    const { cfn } = awsClients(faults.endpoint);
    const r = await cfn.send(new DescribeStackResourceCommand({ StackName: 'building1', LogicalResourceId: 'ParallelClusterImage' }));
    expect(r.StackResourceDetail?.ResourceStatus).toBe('CREATE_IN_PROGRESS');
  });
});

describe("the benchmarks' moto with faster lookups", () => {
  it("answers tag queries and version listings exactly as moto's own code does", () => {
    const out = spawnSync('python3', [FASTER_LOOKUPS_SERVER, '--self-check'], { encoding: 'utf8' });
    expect(out.stderr).toBe('');
    expect(out.status).toBe(0);
    expect(out.stdout).toMatch(/agree with moto's own on \d+ tag queries and \d+ version listings/);
  });
});
