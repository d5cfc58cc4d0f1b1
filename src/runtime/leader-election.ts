import { CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { withTimeout } from '../kube/api.ts';

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  log: Logger;
  onStartedLeading(): void;
  /** Called once when leadership is lost (not on a graceful release). Stop all work at once. */
  onStoppedLeading(): void;
  onStatus?(leading: boolean): void;
}

/**
 * Leader election on a coordination.k8s.io/v1 Lease, after client-go's leaderelection: try to
 * acquire or renew every retry period; a lease held by another is taken only once it has not
 * changed for a whole lease duration *as observed locally* (no trust in remote clocks); a leader
 * that cannot renew within the renew deadline gives up; a graceful stop releases the lease so a
 * successor takes over within one retry period. Writes use resourceVersion preconditions (replace),
 * so two candidates never both win.
 */
export class LeaderElector {
  private readonly api: CoordinationV1Api;
  private readonly opts: LeaderElectionOptions;
  private leading = false;
  private stopped = false;
  private observed?: { record: string; at: number };
  private lastRenew = 0;
  private timer?: NodeJS.Timeout;

  constructor(kc: KubeConfig, opts: LeaderElectionOptions) {
    this.api = kc.makeApiClient(CoordinationV1Api);
    this.opts = opts;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    this.opts.onStatus?.(false);
    void this.loop();
  }

  private async loop(): Promise<void> {
    if (this.stopped) return;
    const ok = await this.tryAcquireOrRenew().catch((e: unknown) => {
      this.opts.log.warn({ err: (e as Error).message, lease: `${this.opts.namespace}/${this.opts.name}` }, 'lease update failed');
      return false;
    });
    const now = Date.now();
    if (ok) {
      this.lastRenew = now;
      if (!this.leading) {
        this.leading = true;
        this.opts.log.info({ identity: this.opts.identity, lease: `${this.opts.namespace}/${this.opts.name}` }, 'became leader');
        this.opts.onStatus?.(true);
        this.opts.onStartedLeading();
      }
    } else if (this.leading && now - this.lastRenew > this.opts.renewDeadlineMs) {
      this.leading = false;
      this.opts.log.error({ identity: this.opts.identity }, 'leader election lost: could not renew within the renew deadline');
      this.opts.onStatus?.(false);
      this.opts.onStoppedLeading();
      return;
    }
    if (!this.stopped) {
      this.timer = setTimeout(() => void this.loop(), this.opts.retryPeriodMs);
    }
  }

  private call<T>(what: string, p: Promise<T>): Promise<T> {
    return withTimeout(`${what} lease ${this.opts.namespace}/${this.opts.name}`, Math.max(1000, this.opts.retryPeriodMs * 2), p);
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity } = this.opts;
    const now = new V1MicroTime(Date.now());
    let lease: V1Lease | undefined;
    try {
      lease = await this.call('read', this.api.readNamespacedLease({ name, namespace }));
    } catch (e) {
      if ((e as { code?: number }).code !== 404) throw e;
    }
    const leaseDurationSeconds = Math.ceil(this.opts.leaseDurationMs / 1000);
    if (!lease) {
      await this.call('create', this.api.createNamespacedLease({ namespace, body: { metadata: { name, namespace }, spec: { holderIdentity: identity, leaseDurationSeconds, acquireTime: now, renewTime: now, leaseTransitions: 0 } } }));
      return true;
    }
    const spec = lease.spec ?? {};
    const record = JSON.stringify([spec.holderIdentity, spec.renewTime, spec.leaseDurationSeconds]);
    if (!this.observed || this.observed.record !== record) this.observed = { record, at: Date.now() };
    const holder = spec.holderIdentity ?? '';
    const heldByOther = holder !== '' && holder !== identity;
    const duration = (spec.leaseDurationSeconds ?? leaseDurationSeconds) * 1000;
    if (heldByOther && Date.now() - this.observed.at < duration) return false;

    const transitions = (spec.leaseTransitions ?? 0) + (holder === identity ? 0 : 1);
    await this.call(
      'update',
      this.api.replaceNamespacedLease({
        name,
        namespace,
        body: { ...lease, spec: { ...spec, holderIdentity: identity, leaseDurationSeconds, renewTime: now, acquireTime: holder === identity ? spec.acquireTime ?? now : now, leaseTransitions: transitions } },
      }),
    );
    return true;
  }

  /** Stops campaigning; if leading, releases the lease so a successor need not wait for expiry. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    if (!this.leading) return;
    this.leading = false;
    this.opts.onStatus?.(false);
    try {
      const lease = await this.call('read', this.api.readNamespacedLease({ name: this.opts.name, namespace: this.opts.namespace }));
      if (lease.spec?.holderIdentity !== this.opts.identity) return;
      await this.call(
        'release',
        this.api.replaceNamespacedLease({ name: this.opts.name, namespace: this.opts.namespace, body: { ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: new V1MicroTime(Date.now()) } } }),
      );
      this.opts.log.info('released the lease');
    } catch (e) {
      this.opts.log.warn({ err: (e as Error).message }, 'could not release the lease');
    }
  }
}
