import { describe, expect, it } from 'vitest';
import { parseBucketSpecs, RateLimiter } from '../../src/aws/rate-limiter.ts';

describe('client-side AWS rate limiter', () => {
  it('lets a full bucket through at once, then paces at the refill rate, in order', async () => {
    const rl = new RateLimiter({ 'ec2:DeregisterImage': { capacity: 3, refillPerSecond: 20 } });
    const t0 = performance.now();
    const order: number[] = [];
    await Promise.all(Array.from({ length: 7 }, (_, i) => rl.acquire('us-east-1', 'ec2', 'DeregisterImage').then(() => order.push(i))));
    const elapsed = performance.now() - t0;
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6]);
    // 4 tokens beyond the burst at 20/s: about 200 ms
    expect(elapsed).toBeGreaterThanOrEqual(180);
  });

  it('keeps buckets apart per region and action, and lets unlisted actions pass', async () => {
    const rl = new RateLimiter({ 'ec2:DeregisterImage': { capacity: 1, refillPerSecond: 0.001 }, 'cloudformation:*': { capacity: 1, refillPerSecond: 0.001 } });
    await rl.acquire('us-east-1', 'ec2', 'DeregisterImage');
    await rl.acquire('eu-west-1', 'ec2', 'DeregisterImage');
    await rl.acquire('us-east-1', 's3', 'DeleteObjects');
    await rl.acquire('us-east-1', 'cloudformation', 'DeleteStack');
    let waited = true;
    void rl.acquire('us-east-1', 'cloudformation', 'DescribeStacks').then(() => (waited = false));
    await new Promise((r) => setTimeout(r, 50));
    expect(waited).toBe(true); // the wildcard bucket is shared by the service's actions
  });

  it('parses the flag and names a malformed entry', () => {
    expect(parseBucketSpecs('ec2:DeregisterImage=100/5, cloudformation:*=50/10')).toEqual({ 'ec2:DeregisterImage': { capacity: 100, refillPerSecond: 5 }, 'cloudformation:*': { capacity: 50, refillPerSecond: 10 } });
    expect(() => parseBucketSpecs('ec2:Deregister=fast')).toThrow(/rate limit "ec2:Deregister=fast" must look like service:Action=capacity\/refillPerSecond/);
  });
});
