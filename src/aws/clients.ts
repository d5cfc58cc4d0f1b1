import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { EC2Client } from '@aws-sdk/client-ec2';
import { S3Client } from '@aws-sdk/client-s3';

import { isThrottling } from './errors.ts';
import type { RateLimiter } from './rate-limiter.ts';

export type AwsOutcome = 'success' | 'throttled' | 'error';

export interface AwsClientOptions {
  /** Client-side token buckets per region and action (every attempt, retries included, takes a token). */
  limiter?: RateLimiter;
  /** Told about every HTTP attempt (metrics). */
  onRequest?(service: string, operation: string, outcome: AwsOutcome): void;
  /** One endpoint for every service (an emulator, or a proxy); VPC endpoints per service are not modelled yet. */
  endpoint?: string;
  /** SDK attempts per call in standard retry mode (with its own backoff and retry quota). */
  maxAttempts: number;
}

export interface AwsClients {
  region: string;
  ec2: EC2Client;
  cloudformation: CloudFormationClient;
  s3: S3Client;
  logs: CloudWatchLogsClient;
}

/** One client set per region, created on first use; credentials from the SDK's default chain (env, IRSA, EKS Pod Identity, profile). */
export class AwsClientPool {
  private readonly byRegion = new Map<string, AwsClients>();
  private readonly opts: AwsClientOptions;
  constructor(opts: AwsClientOptions) {
    this.opts = opts;
  }

  forRegion(region: string): AwsClients {
    let set = this.byRegion.get(region);
    if (!set) {
      const common = {
        region,
        maxAttempts: this.opts.maxAttempts,
        retryMode: 'standard' as const,
        ...(this.opts.endpoint ? { endpoint: this.opts.endpoint } : {}),
      };
      set = {
        region,
        ec2: this.instrument(new EC2Client(common), region, 'ec2'),
        cloudformation: this.instrument(new CloudFormationClient(common), region, 'cloudformation'),
        // emulators and proxies on one host cannot serve virtual-hosted bucket names
        s3: this.instrument(new S3Client({ ...common, forcePathStyle: this.opts.endpoint !== undefined }), region, 's3'),
        logs: this.instrument(new CloudWatchLogsClient(common), region, 'logs'),
      };
      this.byRegion.set(region, set);
    }
    return set;
  }

  /**
   * Inside the SDK's retry loop (deserialize step), so each attempt waits for a token and is
   * counted once.
   */
  private instrument<C extends { middlewareStack: { add: (...a: never[]) => unknown } }>(client: C, region: string, service: string): C {
    const { limiter, onRequest } = this.opts;
    if (!limiter && !onRequest) return client;
    const stack = client.middlewareStack as unknown as {
      add(mw: (next: (a: unknown) => Promise<unknown>, ctx: { commandName?: string }) => (a: unknown) => Promise<unknown>, o: { step: string; name: string; priority: string }): void;
    };
    stack.add(
      (next, ctx) => async (args) => {
        const op = (ctx.commandName ?? 'Unknown').replace(/Command$/, '');
        if (limiter) await limiter.acquire(region, service, op);
        try {
          const out = await next(args);
          onRequest?.(service, op, 'success');
          return out;
        } catch (e) {
          onRequest?.(service, op, isThrottling(e) ? 'throttled' : 'error');
          throw e;
        }
      },
      { step: 'deserialize', name: 'pioRateLimitAndCount', priority: 'high' },
    );
    return client;
  }

  destroy(): void {
    for (const set of this.byRegion.values()) {
      set.ec2.destroy();
      set.cloudformation.destroy();
      set.s3.destroy();
      set.logs.destroy();
    }
    this.byRegion.clear();
  }
}
