// Client-side token buckets per region and API action, sized like EC2's published request-rate
// limits, so a mass deletion runs at what AWS allows instead of into RequestLimitExceeded.

export interface BucketSpec {
  capacity: number;
  refillPerSecond: number;
}

/** EC2 API throttling (docs: "Request throttling for the Amazon EC2 API"), plus conservative others. */
export const DEFAULT_BUCKETS: Record<string, BucketSpec> = {
  'ec2:DeregisterImage': { capacity: 100, refillPerSecond: 5 },
  'ec2:DeleteSnapshot': { capacity: 100, refillPerSecond: 5 },
  'ec2:DescribeImages': { capacity: 100, refillPerSecond: 20 },
  'ec2:DescribeImageAttribute': { capacity: 100, refillPerSecond: 20 },
  'ec2:DescribeInstances': { capacity: 100, refillPerSecond: 20 },
  'ec2:DescribeSnapshots': { capacity: 100, refillPerSecond: 20 },
  'cloudformation:*': { capacity: 50, refillPerSecond: 10 },
};

class Bucket {
  private tokens: number;
  private last: number;
  private readonly spec: BucketSpec;
  private readonly waiters: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(spec: BucketSpec) {
    this.spec = spec;
    this.tokens = spec.capacity;
    this.last = Date.now();
  }

  private refill(): void {
    const now = Date.now();
    this.tokens = Math.min(this.spec.capacity, this.tokens + ((now - this.last) / 1000) * this.spec.refillPerSecond);
    this.last = now;
  }

  take(): Promise<void> {
    this.refill();
    if (this.waiters.length === 0 && this.tokens >= 1) {
      this.tokens -= 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.schedule();
    });
  }

  // FIFO: waiters are served in order as tokens arrive
  private schedule(): void {
    if (this.timer) return;
    this.refill();
    while (this.waiters.length > 0 && this.tokens >= 1) {
      this.tokens -= 1;
      this.waiters.shift()!();
    }
    if (this.waiters.length === 0) return;
    const waitMs = Math.ceil(((1 - this.tokens) / this.spec.refillPerSecond) * 1000);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.schedule();
    }, Math.max(1, waitMs));
  }
}

/** Parses "ec2:DeregisterImage=100/5,cloudformation:*=50/10" (capacity/refill per second). */
export function parseBucketSpecs(text: string): Record<string, BucketSpec> {
  const out: Record<string, BucketSpec> = {};
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([a-z0-9-]+:(?:\*|[A-Za-z]+))=(\d+(?:\.\d+)?)\/(\d+(?:\.\d+)?)$/.exec(part);
    if (!m) throw new Error(`rate limit "${part}" must look like service:Action=capacity/refillPerSecond`);
    out[m[1]!] = { capacity: Number(m[2]), refillPerSecond: Number(m[3]) };
  }
  return out;
}

export class RateLimiter {
  private readonly specs: Record<string, BucketSpec>;
  private readonly buckets = new Map<string, Bucket>();

  constructor(specs: Record<string, BucketSpec> = DEFAULT_BUCKETS) {
    this.specs = specs;
  }

  /** Waits for a token for this region/service/action; actions without a bucket pass at once. */
  async acquire(region: string, service: string, action: string): Promise<void> {
    const specKey = this.specs[`${service}:${action}`] ? `${service}:${action}` : this.specs[`${service}:*`] ? `${service}:*` : undefined;
    if (!specKey) return;
    const key = `${region}/${specKey}`;
    let b = this.buckets.get(key);
    if (!b) {
      b = new Bucket(this.specs[specKey]!);
      this.buckets.set(key, b);
    }
    await b.take();
  }
}
