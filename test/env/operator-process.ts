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
  /** Node.js flags before the script (the benchmarks use the container's). */
  nodeFlags?: string[];
  /** Run this script (the bundle, as the container does) instead of the TypeScript sources. */
  script?: string;
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
      ...(this.opts.nodeFlags ?? []),
      this.opts.script ?? join(repo, 'src', 'main.ts'),
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
      // free ports: several operators share one machine in the tests
      '--metrics-bind-address',
      '127.0.0.1:0',
      '--health-probe-bind-address',
      '127.0.0.1:0',
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

  /** Waits until this start serves metrics and probes (before the informer syncs); returns the ports. */
  async started(timeoutMs = 30_000): Promise<{ metrics: number; health: number }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const lines = this.logLines().filter((l) => l.msg === 'serving metrics and probes');
      const line = lines[this.starts - 1] as { ports?: { metrics: number; health: number } } | undefined;
      if (line?.ports) return line.ports;
      if (Date.now() > deadline) throw new Error(`operator did not start in ${timeoutMs} ms:\n${this.logLines().slice(-10).map((l) => JSON.stringify(l)).join('\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
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
