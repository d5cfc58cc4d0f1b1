import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { EC2Client } from '@aws-sdk/client-ec2';
import { S3Client } from '@aws-sdk/client-s3';

export interface AwsClientOptions {
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
        ec2: new EC2Client(common),
        cloudformation: new CloudFormationClient(common),
        // emulators and proxies on one host cannot serve virtual-hosted bucket names
        s3: new S3Client({ ...common, forcePathStyle: this.opts.endpoint !== undefined }),
        logs: new CloudWatchLogsClient(common),
      };
      this.byRegion.set(region, set);
    }
    return set;
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
