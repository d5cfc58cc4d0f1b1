import { Watch } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { FINALIZER, GROUP, PLURAL, VERSION, type CustomImage } from '../../src/api/customimage.ts';
import { World } from '../env/world.ts';

// Economy: no AWS call the semantics don't need, and at most three Kubernetes writes from the
// start of a deletion to the resource's disappearance.
let w: World;
beforeAll(async () => {
  w = await World.start(inject('kubeconfig'), 'economy');
});
afterAll(async () => {
  await w?.stop();
});

describe('call economy of one deletion', () => {
  it('makes exactly the AWS calls pcluster delete-image needs, plus the ownership check, and three writes', async () => {
    await w.reset();
    await w.fixtures.image({ imageId: 'thrifty' });
    await w.apply('thrifty', { imageId: 'thrifty' });
    await w.waitFor('thrifty', (o) => o?.metadata.finalizers?.includes(FINALIZER) === true && o.status?.imageBuildStatus === 'BUILD_COMPLETE', 30_000);
    await new Promise((r) => setTimeout(r, 300));
    w.faults.counts.clear();

    const deleted = (await w.custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: w.namespace, plural: PLURAL, name: 'thrifty' })) as CustomImage;
    const phases: string[] = [];
    const done = new Promise<void>((resolve, reject) => {
      void new Watch(w.kc).watch(
        `/apis/${GROUP}/${VERSION}/namespaces/${w.namespace}/${PLURAL}`,
        { fieldSelector: 'metadata.name=thrifty', resourceVersion: deleted.metadata.resourceVersion },
        (phase) => {
          phases.push(phase);
          if (phase === 'DELETED') resolve();
        },
        (err) => (err ? reject(err) : undefined),
      );
    });
    await done;
    // after the user's delete: status DELETE_IN_PROGRESS, status DELETE_COMPLETE, finalizer removal
    expect(phases).toEqual(['MODIFIED', 'MODIFIED', 'DELETED']);
    expect(w.faults.countsObject()).toEqual({
      'cloudformation:DeleteStack': 1,
      'cloudformation:DescribeStackResource': 1,
      'cloudformation:DescribeStacks': 2,
      'ec2:DeleteSnapshot': 1,
      'ec2:DeregisterImage': 1,
      'ec2:DescribeImageAttribute': 1,
      'ec2:DescribeImages': 1,
      'ec2:DescribeInstances': 1,
      'ec2:DescribeSnapshots': 1,
      'logs:DeleteLogGroup': 1,
      's3:DeleteObjects': 1,
      's3:ListObjectVersions': 1,
    });
  });
});
