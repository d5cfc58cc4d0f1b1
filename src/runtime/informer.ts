import { ListWatch, Watch, type Informer, type KubeConfig, type KubernetesObject, type ObjectCache } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { trimForCache, type Trimmable } from '../kube/trim.ts';
import { backoffDelay } from './backoff.ts';

export type InformerEventType = 'add' | 'update' | 'delete';

/** Custom resources arrive as plain JSON (timestamps are strings), so only name and namespace are assumed. */
export type ListedObject = { metadata: { name: string; namespace?: string } & Trimmable['metadata'] };

export interface SupervisedInformerOptions<T extends ListedObject> {
  path: string;
  /** Lists every object, passing each through `keep` (trimForCache) as it arrives. */
  list: (keep: (o: T) => T) => Promise<{ items: T[]; metadata?: { resourceVersion?: string } }>;
  labelSelector?: string;
  log: Logger;
  onEvent(type: InformerEventType, obj: T): void;
}

/**
 * An informer that never stays dead: client-node's informer stops on any watch or list error, so
 * this restarts it with backoff. A 410 Gone makes client-node relist itself; any other failure
 * restarts from the last resourceVersion, and the informer relists when that is too old.
 */
export class SupervisedInformer<T extends ListedObject> {
  private readonly informer: Informer<KubernetesObject> & ObjectCache<KubernetesObject>;
  private readonly opts: SupervisedInformerOptions<T>;
  private restarts = 0;
  private stopped = false;
  private synced = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private connectedAt = 0;
  private static readonly STABLE_MS = 30_000;

  constructor(kc: KubeConfig, opts: SupervisedInformerOptions<T>) {
    this.opts = opts;
    // synced means a list really succeeded: client-node's start() resolves even when the list fails
    const list = async () => {
      const out = await opts.list(trimForCache);
      this.markSynced();
      return out;
    };
    // client-node's informer (makeInformer) caches whatever the watch delivers; its ListWatch
    // takes the Watch as a parameter, so a Watch that trims each object keeps the cache small
    const watch = new Watch(kc);
    const trimming = {
      watch: (path: string, query: Record<string, string | number | boolean | undefined>, cb: (phase: string, obj: unknown, raw?: unknown) => void, done: (err: unknown) => void) =>
        watch.watch(path, query, (phase, obj: T) => cb(phase, phase === 'ERROR' || !obj?.metadata ? obj : trimForCache(obj)), done),
    } as unknown as Watch;
    this.informer = new ListWatch(opts.path, trimming, list as never, false, opts.labelSelector);
    this.informer.on('add', (o) => opts.onEvent('add', o as unknown as T));
    this.informer.on('update', (o) => opts.onEvent('update', o as unknown as T));
    this.informer.on('delete', (o) => opts.onEvent('delete', o as unknown as T));
    // a (re)connect is not yet health: only a watch that stayed up a while resets the backoff,
    // so a watch that fails at once (e.g. RBAC allows list but not watch) cannot become a relist loop
    this.informer.on('connect', () => {
      this.connectedAt = Date.now();
    });
    this.informer.on('error', (err: unknown) => this.onError(err));
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  async start(): Promise<void> {
    this.stopped = false;
    for (;;) {
      try {
        await this.informer.start();
        return;
      } catch (err) {
        if (this.stopped) return;
        const delay = backoffDelay(++this.restarts, 500, 30_000);
        this.opts.log.warn({ err: (err as Error).message, retryInMs: delay }, 'informer start failed');
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  private markSynced(): void {
    // the list's items reach the cache right after this returns; a reconcile of them waits for the queue anyway
    this.synced = true;
  }

  private onError(err: unknown): void {
    if (this.stopped || this.restartTimer) return;
    if (this.connectedAt > 0 && Date.now() - this.connectedAt > SupervisedInformer.STABLE_MS) this.restarts = 0;
    const delay = backoffDelay(++this.restarts, 500, 30_000);
    this.opts.log.warn({ err: (err as Error)?.message ?? String(err), retryInMs: delay, restarts: this.restarts }, 'informer stopped; restarting');
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopped) return;
      this.informer.start().catch((e: unknown) => this.onError(e));
    }, delay);
  }

  list(): readonly T[] {
    return this.informer.list() as unknown as T[];
  }

  get(name: string, namespace?: string): T | undefined {
    return this.informer.get(name, namespace) as unknown as T | undefined;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    await this.informer.stop();
  }
}
