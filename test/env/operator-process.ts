import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startManaged, type Managed } from './processes.ts';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface OperatorProcessOptions {
  kubeconfig: string;
  awsEndpoint: string;
  namespace?: string;
  logFile: string;
  extraArgs?: string[];
  env?: NodeJS.ProcessEnv;
}

/** The operator as a real process (`node src/main.ts`), as a user would run it. */
export class OperatorProcess {
  proc?: Managed;
  starts = 0;
  private readonly opts: OperatorProcessOptions;

  constructor(opts: OperatorProcessOptions) {
    this.opts = opts;
  }

  start(): this {
    const args = [
      join(repo, 'src', 'main.ts'),
      '--kubeconfig',
      this.opts.kubeconfig,
      '--aws-endpoint',
      this.opts.awsEndpoint,
      '--stack-poll-interval',
      '1',
      '--building-poll-interval',
      '1',
      '--blocked-recheck-interval',
      '1',
      '--stack-retry-interval',
      '1',
      '--log-level',
      'debug',
      ...(this.opts.namespace ? ['--namespace', this.opts.namespace] : []),
      ...(this.opts.extraArgs ?? []),
    ];
    this.proc = startManaged('operator', process.execPath, args, this.opts.logFile, {
      ...process.env,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_REGION: 'us-east-1',
      ...this.opts.env,
    });
    this.starts++;
    return this;
  }

  async kill(): Promise<void> {
    await this.proc?.stop('SIGKILL', 1000);
  }

  async stop(): Promise<void> {
    await this.proc?.stop('SIGTERM', 10_000);
  }

  async restart(): Promise<void> {
    await this.kill();
    this.start();
  }

  /** The operator's log lines as parsed JSON (non-JSON lines kept as {raw}). */
  logLines(): Record<string, unknown>[] {
    let text = '';
    try {
      text = readFileSync(this.opts.logFile, 'utf8');
    } catch {
      return [];
    }
    return text
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        try {
          return JSON.parse(l) as Record<string, unknown>;
        } catch {
          return { raw: l };
        }
      });
  }
}
