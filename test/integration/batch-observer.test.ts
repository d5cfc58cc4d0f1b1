import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchObserver } from '../../src/aws/batch-observer.ts';
import { AwsClientPool } from '../../src/aws/clients.ts';
import { AwsImageStore } from '../../src/aws/image-store.ts';
import { FaultProxy } from '../env/fault-proxy.ts';
import { FixtureBuilder } from '../env/fixtures.ts';
import { Moto } from '../env/moto.ts';

// Bulk live observation must see exactly what one-by-one observation sees, for far fewer calls.
let moto: Moto;
let faults: FaultProxy;
beforeAll(async () => {
  process.env.AWS_ACCESS_KEY_ID = 'testing';
  process.env.AWS_SECRET_ACCESS_KEY = 'testing';
  moto = await Moto.start();
  faults = await new FaultProxy(moto.endpoint).start();
});
afterAll(async () => {
  await faults.stop();
  await moto.stop();
});

describe('BatchObserver', () => {
  it('answers like the direct observation for every kind of image, with a handful of calls', async () => {
    const fx = new FixtureBuilder(moto.endpoint);
    const kinds = [
      { imageId: 'b-full' },
      { imageId: 'b-amionly', stack: false },
      { imageId: 'b-stackonly', ami: 'none' as const },
      { imageId: 'b-failed', ami: 'failed' as const, stack: false },
      { imageId: 'B-Case' },
      { imageId: 'b-case-decoy', ami: 'failed' as const },
    ];
    for (const k of kinds) await fx.image(k);
    await fx.decoysFor('b-full');
    for (let i = 0; i < 40; i++) await fx.image({ imageId: `b-many-${i}`, stack: false, artifacts: false, logGroup: false });
    const ids = [...kinds.map((k) => k.imageId), 'b-absent', 'b-ful', ...Array.from({ length: 40 }, (_, i) => `b-many-${i}`)];

    const pool = new AwsClientPool({ endpoint: faults.endpoint, maxAttempts: 3 });
    const direct = new AwsImageStore(pool);
    const expected = await Promise.all(ids.map((id) => direct.observe(id, 'us-east-1')));
    const directCalls = [...faults.counts.values()].reduce((a, b) => a + b, 0);
    faults.counts.clear();
    const batch = new BatchObserver(pool, direct, { windowMs: 50, stackIndexTtlMs: 10_000 });
    const got = await Promise.all(ids.map((id) => batch.observe(id, 'us-east-1')));
    const batchCalls = [...faults.counts.values()].reduce((a, b) => a + b, 0);
    expect(got).toEqual(expected);
    expect(expected.find((o) => o.imageId === 'b-failed')?.ami?.kind).toBe('failed');
    expect(expected.find((o) => o.imageId === 'b-absent')).toEqual({ imageId: 'b-absent', region: 'us-east-1' });
    expect(batchCalls).toBeLessThanOrEqual(4);
    expect(directCalls).toBeGreaterThan(ids.length * 2);
    pool.destroy();
  });
});
