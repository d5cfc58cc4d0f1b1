import type { Logger } from 'pino';
import { randomUUID } from 'node:crypto';
import type { WorkQueue } from './workqueue.ts';

/** What a reconcile asks for: run again after a delay, or wait for the next change. */
export interface ReconcileResult {
  requeueAfterMs?: number;
}

/** Level-based: told only which key, never why it runs. Throw to be retried with backoff. */
export interface Reconciler {
  reconcile(key: string, ctx: { reconcileId: string; log: Logger }): Promise<ReconcileResult>;
}

export interface ControllerMetrics {
  onReconcile?(result: 'success' | 'error' | 'requeue' | 'requeue_after', seconds: number): void;
  onActiveWorkers?(n: number): void;
}

export interface ControllerOptions {
  name: string;
  concurrency: number;
  /** Errors that ask to be retried at once (conflicts) rather than with backoff. */
  isQuickRetry?: (e: unknown) => boolean;
}

/**
 * Workers that take keys from the queue and hand them to the reconciler, after
 * controller-runtime's processNextWorkItem/reconcileHandler: one switch maps each outcome to a
 * queue action and a metric; a throw (or a rejected promise) never kills a worker.
 */
export class Controller {
  private readonly workers: Promise<void>[] = [];
  private active = 0;
  private readonly queue: WorkQueue;
  private readonly reconciler: Reconciler;
  private readonly log: Logger;
  private readonly opts: ControllerOptions;
  private readonly metrics: ControllerMetrics;

  constructor(queue: WorkQueue, reconciler: Reconciler, log: Logger, opts: ControllerOptions, metrics: ControllerMetrics = {}) {
    this.queue = queue;
    this.reconciler = reconciler;
    this.log = log;
    this.opts = opts;
    this.metrics = metrics;
  }

  start(): void {
    for (let i = 0; i < this.opts.concurrency; i++) this.workers.push(this.worker());
  }

  /** Stops taking work and waits for in-flight reconciles to finish (up to timeoutMs). */
  async stop(timeoutMs: number): Promise<boolean> {
    this.queue.shutDown();
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      Promise.all(this.workers).then(() => true),
      new Promise<boolean>((r) => {
        timer = setTimeout(() => r(false), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    return finished;
  }

  private async worker(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      this.active++;
      this.metrics.onActiveWorkers?.(this.active);
      try {
        await this.processOne(key);
      } finally {
        this.active--;
        this.metrics.onActiveWorkers?.(this.active);
        this.queue.done(key);
      }
    }
  }

  private async processOne(key: string): Promise<void> {
    const reconcileId = randomUUID();
    const log = this.log.child({ controller: this.opts.name, key, reconcileId });
    const started = performance.now();
    let result: ReconcileResult | undefined;
    let error: unknown;
    try {
      result = await this.reconciler.reconcile(key, { reconcileId, log });
    } catch (e) {
      error = e;
    }
    const seconds = (performance.now() - started) / 1000;
    if (error !== undefined) {
      if (this.opts.isQuickRetry?.(error)) {
        this.metrics.onReconcile?.('requeue', seconds);
        log.debug({ err: (error as Error).message }, 'conflict; requeued');
        this.queue.addAfter(key, 50);
        return;
      }
      this.metrics.onReconcile?.('error', seconds);
      const delay = this.queue.addRateLimited(key);
      log.error({ err: (error as Error).message, code: (error as { code?: string }).code, retryInMs: delay, attempt: this.queue.failureCount(key) }, 'reconcile failed');
      return;
    }
    this.queue.forget(key);
    if (result?.requeueAfterMs !== undefined) {
      this.metrics.onReconcile?.('requeue_after', seconds);
      this.queue.addAfter(key, result.requeueAfterMs);
      log.info({ requeueAfterMs: result.requeueAfterMs, ms: Math.round(seconds * 1000) }, 'reconciled');
      return;
    }
    this.metrics.onReconcile?.('success', seconds);
    log.info({ ms: Math.round(seconds * 1000) }, 'reconciled');
  }
}
