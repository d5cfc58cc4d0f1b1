// What happens to a CustomImage, top to bottom: live images are observed (describe-image parity);
// a deleted image is deleted in AWS in the reference's order (pcluster delete-image), with an
// ownership guard the reference lacks, and the finalizer goes last.

import type { Logger } from 'pino';
import { setCondition } from '../api/conditions.ts';
import { deletionPolicy, FINALIZER, isForced, keyOf, type CustomImage, type CustomImageStatus, type DeletionPlan, type Reason } from '../api/customimage.ts';
import { describeView } from '../domain/build-status.ts';
import { buildingMessage, inUseMessage, sharedMessage } from '../domain/messages.ts';
import { logGroupName, TAG, type ImageObservation, type StackObservation, type Tags } from '../domain/observation.ts';
import { artifactPrefix, notOwned, ownershipProblems } from '../domain/ownership.ts';
import { deletingConditionIs, errorStatus, liveStatus, sameStatus } from '../domain/status.ts';
import type { ImageStore } from '../aws/image-store.ts';
import { AwsActionError, OperatorError } from '../errors.ts';
import type { CustomImageApi } from '../kube/api.ts';
import type { EventRecorder, EventType } from '../kube/events.ts';
import { trimForCache } from '../kube/trim.ts';
import { backoffDelay } from '../runtime/backoff.ts';
import type { ReconcileResult, Reconciler } from '../runtime/controller.ts';
import { reconcileWithFinalizer, type CleanupOutcome } from '../runtime/finalizer.ts';

export interface ImageReconcilerOptions {
  defaultRegion: string;
  /** How often a live image is re-observed (status follows AWS). */
  resyncMs: number;
  /** Re-observation while an image is building. */
  buildingPollMs: number;
  /** How often a deleting stack is polled. */
  stackPollMs: number;
  /** First and last re-check delay of a blocked deletion (in use, shared, building, not ours). */
  blockedRecheckMs: number;
  blockedRecheckMaxMs: number;
  /** Backoff between DeleteStack retries after DELETE_FAILED. */
  stackRetryBaseMs: number;
  stackRetryMaxMs: number;
}

export const DEFAULT_RECONCILER_OPTIONS: Omit<ImageReconcilerOptions, 'defaultRegion'> = {
  resyncMs: 10 * 60_000,
  buildingPollMs: 60_000,
  stackPollMs: 5_000,
  blockedRecheckMs: 30_000,
  blockedRecheckMaxMs: 10 * 60_000,
  stackRetryBaseMs: 15_000,
  stackRetryMaxMs: 10 * 60_000,
};

export interface ImageReconcilerDeps {
  /** Where the latest known object comes from (the informer cache). */
  cache: { get(key: string): CustomImage | undefined };
  api: CustomImageApi;
  store: ImageStore;
  /** Live (resync) observation; may batch many images per AWS call. Default: the store, one by one. */
  liveObserver?: Pick<ImageStore, 'observe'>;
  events: EventRecorder;
  log: Logger;
  now?: () => Date;
  /** Told when a deletion ends, with its duration when AWS work was done. */
  observer?: { deletionFinished(outcome: 'deleted' | 'retained' | 'absent', seconds?: number): void };
}

/**
 * Which deletion steps this process has finished, per object uid. An optimisation only: the plan
 * in status is the durable record, and after a restart every step is re-checked (each is
 * idempotent and cheap to observe), so losing this map loses no work.
 */
interface Progress {
  ami?: boolean;
  snapshots?: boolean;
  artifacts?: boolean;
  logGroup?: boolean;
  blockedChecks?: number;
}

type Blocked = { reason: Reason; message: string; recheckMs?: number };

export class ImageReconciler implements Reconciler {
  private readonly deps: ImageReconcilerDeps;
  private readonly opts: ImageReconcilerOptions;
  private readonly now: () => Date;
  private readonly progress = new Map<string, Progress>();
  /** The object as our own last write returned it, until the informer catches up. */
  private readonly written = new Map<string, CustomImage>();

  constructor(deps: ImageReconcilerDeps, opts: ImageReconcilerOptions) {
    this.deps = deps;
    this.opts = opts;
    this.now = deps.now ?? (() => new Date());
  }

  async reconcile(key: string, ctx: { log: Logger }): Promise<ReconcileResult> {
    const image = this.latest(key);
    if (!image) {
      this.written.delete(key);
      return {};
    }
    const outcome = await reconcileWithFinalizer(image, FINALIZER, {
      apply: (img) => this.observe(img),
      cleanup: (img) => this.delete(img, ctx.log),
      patch: (img, ops) => this.deps.api.patch(img.metadata.namespace, img.metadata.name, ops),
    });
    switch (outcome.kind) {
      case 'applied':
        return outcome.result;
      case 'cleanup-pending':
        return outcome.requeueAfterMs !== undefined ? { requeueAfterMs: outcome.requeueAfterMs } : {};
      case 'finalizer-removed':
        this.progress.delete(image.metadata.uid);
        this.written.delete(key);
        return {};
      default:
        return {};
    }
  }

  // ---- live images ---------------------------------------------------------------------------

  private async observe(image: CustomImage): Promise<ReconcileResult> {
    const region = this.regionOf(image);
    const observer = this.deps.liveObserver ?? this.deps.store;
    const obs = await this.guard(image, () => observer.observe(image.spec.imageId, region));
    const status = liveStatus(image, obs, this.now());
    await this.writeStatus(image, status);
    return { requeueAfterMs: status.imageBuildStatus === 'BUILD_IN_PROGRESS' ? this.opts.buildingPollMs : this.opts.resyncMs };
  }

  // ---- deletion ------------------------------------------------------------------------------

  /**
   * Orphan → wait for other finalizers → check (ownership, building, in use, shared) → record the
   * plan (status: DELETE_IN_PROGRESS) → delete stack, AMI, snapshots, artifacts, log group → follow
   * the stack until it is gone → DELETE_COMPLETE. Returns done only when nothing is left.
   */
  private async delete(image: CustomImage, log: Logger): Promise<CleanupOutcome> {
    if (deletionPolicy(image) === 'Retain') {
      await this.event(image, 'Normal', 'Retained', `deletionPolicy is Retain: image ${image.spec.imageId} is left in AWS`);
      this.deps.observer?.deletionFinished('retained');
      return { done: true };
    }
    const others = (image.metadata.finalizers ?? []).filter((f) => f !== FINALIZER);
    if (others.length > 0) {
      // their removal is an update event, which brings us back here
      await this.setDeleting(image, 'WaitingForFinalizers', `waiting for finalizers [${others.join(', ')}] before deleting in AWS`, 'Normal');
      return { done: false };
    }

    const region = this.regionOf(image);
    let plan = image.status?.deletion;
    let obs: ImageObservation | undefined;
    let checkedSnapshots: Map<string, Tags> | undefined;
    if (!plan) {
      obs = await this.guard(image, () => this.deps.store.observe(image.spec.imageId, region));
      if (!obs.ami && !obs.stack) {
        await this.event(image, 'Normal', 'Deleted', `nothing of image ${image.spec.imageId} exists in ${region}; nothing to delete`);
        this.deps.observer?.deletionFinished('absent');
        return { done: true };
      }
      const { blocked, snapshotTags } = await this.checks(image, obs);
      if (blocked) return this.block(image, blocked);
      checkedSnapshots = snapshotTags;
      plan = this.planFrom(image, obs);
      image = await this.writeStatus(image, this.startedStatus(image, obs, plan));
      await this.event(image, 'Normal', 'DeletionStarted', describePlan(image.spec.imageId, plan));
      log.info({ plan }, 'deletion started');
    }

    const p = this.progressOf(image);
    const stackStep = plan.stackArn ? await this.stackStep(image, plan, obs?.stack) : undefined;
    if (plan.amiId && !p.ami) {
      const ami = obs?.ami?.amiId === plan.amiId ? obs.ami : await this.guard(image, () => this.deps.store.describeAmi(region, plan.amiId!));
      if (ami) await this.guard(image, () => this.deps.store.deregisterImage(region, plan.amiId!));
      p.ami = true;
    }
    if (!p.snapshots) {
      const existing = checkedSnapshots ?? (await this.guard(image, () => this.deps.store.snapshots(region, plan.snapshotIds)));
      for (const [id, tags] of existing) {
        // re-checked here too: a plan resumed after a restart must still never delete a stranger's snapshot
        const foreign = notOwned(image.spec.imageId, `snapshot ${id}`, tags);
        if (foreign) return this.block(image, { reason: 'OwnershipMismatch', message: foreign });
        await this.guard(image, () => this.deps.store.deleteSnapshot(region, id));
      }
      p.snapshots = true;
    }
    if (!p.artifacts) {
      await this.artifactsStep(image, plan);
      p.artifacts = true;
    }
    if (!p.logGroup) {
      await this.warnOnTerminal(image, () => this.deps.store.deleteLogGroup(region, plan.logGroup));
      p.logGroup = true;
    }

    if (stackStep?.stack && stackStep.stack.status !== 'DELETE_COMPLETE') {
      // after a DeleteStack request, look again; otherwise this pass's observation is current
      const after = stackStep.requested ? await this.guard(image, () => this.deps.store.describeStack(region, plan.stackArn!)) : stackStep.stack;
      if (after && after.status === 'DELETE_FAILED') return this.stackFailed(image, plan, after);
      if (after && after.status !== 'DELETE_COMPLETE') {
        await this.writeStatus(image, { ...image.status, imageBuildStatus: 'DELETE_IN_PROGRESS', cloudformationStackStatus: after.status });
        return { done: false, requeueAfterMs: this.opts.stackPollMs };
      }
    }

    await this.writeStatus(image, this.completedStatus(image, plan));
    await this.event(image, 'Normal', 'Deleted', `image ${image.spec.imageId} deleted from ${region}`);
    this.deps.observer?.deletionFinished('deleted', (this.now().getTime() - Date.parse(plan.startedAt)) / 1000);
    return { done: true };
  }

  /** The reference's checks, plus ownership. Returns why deletion may not start, or undefined. */
  private async checks(image: CustomImage, obs: ImageObservation): Promise<{ blocked?: Blocked; snapshotTags: Map<string, Tags> }> {
    const snapshotTags = obs.ami ? await this.guard(image, () => this.deps.store.snapshots(obs.region, obs.ami!.snapshotIds)) : new Map<string, Tags>();
    const blocked = await this.blockingReason(image, obs, snapshotTags);
    return { ...(blocked ? { blocked } : {}), snapshotTags };
  }

  private async blockingReason(image: CustomImage, obs: ImageObservation, snapshotTags: Map<string, Tags>): Promise<Blocked | undefined> {
    const { imageId } = image.spec;
    const problems = ownershipProblems(imageId, obs, snapshotTags);
    if (problems.length > 0) return { reason: 'OwnershipMismatch', message: `not deleting anything: ${problems.join('; ')}` };
    if (obs.stack && !obs.stack.status.startsWith('DELETE_')) {
      const building = await this.guard(image, () => this.deps.store.isImageBuilding(obs.region, obs.stack!.stackName));
      if (building) return { reason: 'ImageBuilding', message: buildingMessage(), recheckMs: this.opts.buildingPollMs };
    }
    if (isForced(image) || !obs.ami) return undefined;
    const instances = await this.guard(image, () => this.deps.store.instancesUsing(obs.region, obs.ami!.amiId));
    if (instances.length > 0) return { reason: 'ImageInUse', message: inUseMessage(imageId, instances) };
    const shared = await this.guard(image, () => this.deps.store.launchPermissions(obs.region, obs.ami!.amiId));
    if (shared.length > 0) return { reason: 'ImageShared', message: sharedMessage(imageId, shared) };
    return undefined;
  }

  private async block(image: CustomImage, b: Blocked): Promise<CleanupOutcome> {
    await this.setDeleting(image, b.reason, b.message, 'Warning');
    const p = this.progressOf(image);
    p.blockedChecks = (p.blockedChecks ?? 0) + 1;
    return { done: false, requeueAfterMs: b.recheckMs ?? backoffDelay(p.blockedChecks, this.opts.blockedRecheckMs, this.opts.blockedRecheckMaxMs) };
  }

  /**
   * Requests the stack's deletion unless it is already deleting or gone. A DELETE_FAILED stack is
   * retried only once that failure has been recorded and its retry delay has passed.
   */
  private async stackStep(image: CustomImage, plan: DeletionPlan, observed: StackObservation | undefined): Promise<{ stack: StackObservation | undefined; requested: boolean }> {
    const region = this.regionOf(image);
    const stack = observed ?? (await this.guard(image, () => this.deps.store.describeStack(region, plan.stackArn!)));
    if (!stack || stack.status === 'DELETE_COMPLETE' || stack.status === 'DELETE_IN_PROGRESS') return { stack, requested: false };
    if (stack.status === 'DELETE_FAILED' && !this.retryDue(plan)) return { stack, requested: false };
    await this.guard(image, () => this.deps.store.deleteStack(region, plan.stackArn!));
    return { stack, requested: true };
  }

  private retryDue(plan: DeletionPlan): boolean {
    const notBefore = Date.parse(plan.stackRetryNotBefore ?? '');
    return !Number.isNaN(notBefore) && this.now().getTime() >= notBefore;
  }

  private async stackFailed(image: CustomImage, plan: DeletionPlan, stack: StackObservation): Promise<CleanupOutcome> {
    const notBefore = Date.parse(plan.stackRetryNotBefore ?? '');
    const waiting = !Number.isNaN(notBefore) && !this.retryDue(plan);
    // this failure is already recorded: wait out its delay without another write
    if (waiting && image.status?.cloudformationStackStatus === 'DELETE_FAILED') return { done: false, requeueAfterMs: notBefore - this.now().getTime() };
    const attempts = (plan.stackDeleteAttempts ?? 0) + 1;
    const delay = backoffDelay(attempts, this.opts.stackRetryBaseMs, this.opts.stackRetryMaxMs);
    const message = `stack ${stack.stackName} DELETE_FAILED (attempt ${attempts}): ${stack.statusReason ?? 'no reason given'}; retrying in ${Math.round(delay / 1000)} s`;
    const gen = image.metadata.generation;
    const status: CustomImageStatus = {
      ...image.status,
      imageBuildStatus: 'DELETE_FAILED',
      cloudformationStackStatus: 'DELETE_FAILED',
      message,
      deletion: { ...plan, stackDeleteAttempts: attempts, stackRetryNotBefore: new Date(this.now().getTime() + delay).toISOString() },
      conditions: setCondition(image.status?.conditions, 'Deleting', 'False', 'StackDeleteFailed', message, gen, this.now()),
    };
    await this.writeStatus(image, status);
    await this.event(image, 'Warning', 'StackDeleteFailed', message);
    return { done: false, requeueAfterMs: delay };
  }

  private async artifactsStep(image: CustomImage, plan: DeletionPlan): Promise<void> {
    if (!plan.s3Bucket || !plan.s3ImageDir) return;
    const prefix = artifactPrefix(image.spec.imageId, plan.s3ImageDir);
    if (!prefix) {
      await this.event(image, 'Warning', 'ArtifactCleanupWarning', `not deleting s3://${plan.s3Bucket}/${plan.s3ImageDir}: it does not look like this image's ParallelCluster image dir`);
      return;
    }
    const out = await this.warnOnTerminal(image, () => this.deps.store.deleteArtifacts(this.regionOf(image), plan.s3Bucket!, prefix));
    if (out?.bucketMissing) await this.event(image, 'Warning', 'ArtifactCleanupWarning', `bucket ${plan.s3Bucket} does not exist; no artifacts to delete`);
  }

  // ---- status, events, helpers ---------------------------------------------------------------

  private planFrom(image: CustomImage, obs: ImageObservation): DeletionPlan {
    const tags = { ...(obs.ami?.tags ?? {}), ...(obs.stack?.tags ?? {}) };
    return {
      startedAt: this.now().toISOString(),
      forced: isForced(image),
      ...(obs.ami ? { amiId: obs.ami.amiId } : {}),
      snapshotIds: obs.ami?.snapshotIds ?? [],
      ...(obs.stack && obs.stack.status !== 'DELETE_COMPLETE' ? { stackArn: obs.stack.stackId } : {}),
      ...(tags[TAG.s3Bucket] ? { s3Bucket: tags[TAG.s3Bucket] } : {}),
      ...(tags[TAG.s3ImageDir] ? { s3ImageDir: tags[TAG.s3ImageDir] } : {}),
      logGroup: logGroupName(image.spec.imageId),
    };
  }

  private startedStatus(image: CustomImage, obs: ImageObservation, plan: DeletionPlan): CustomImageStatus {
    const gen = image.metadata.generation;
    const now = this.now();
    const message = `deleting image ${image.spec.imageId}${plan.forced ? ' (forced)' : ''}`;
    let conditions = setCondition(image.status?.conditions, 'Deleting', 'True', 'DeletionInProgress', message, gen, now);
    conditions = setCondition(conditions, 'Ready', 'False', 'DeletionInProgress', message, gen, now);
    conditions = setCondition(conditions, 'Synced', 'True', 'ReconcileSuccess', 'AWS observed', gen, now);
    return {
      ...describeView(obs),
      imageBuildStatus: 'DELETE_IN_PROGRESS',
      ...(plan.stackArn ? { cloudformationStackStatus: 'DELETE_IN_PROGRESS' } : {}),
      message,
      observedGeneration: gen,
      conditions,
      deletion: plan,
    };
  }

  private completedStatus(image: CustomImage, plan: DeletionPlan): CustomImageStatus {
    const gen = image.metadata.generation;
    const message = `image ${image.spec.imageId} deleted`;
    return {
      ...image.status,
      imageBuildStatus: 'DELETE_COMPLETE',
      ...(plan.stackArn ? { cloudformationStackStatus: 'DELETE_COMPLETE' } : {}),
      message,
      conditions: setCondition(image.status?.conditions, 'Deleting', 'True', 'Deleted', message, gen, this.now()),
    };
  }

  /** Sets the Deleting condition; writes and emits an event only when reason or message change. */
  private async setDeleting(image: CustomImage, reason: Reason, message: string, type: EventType): Promise<void> {
    if (deletingConditionIs(image, reason, message)) return;
    const gen = image.metadata.generation;
    await this.writeStatus(image, { ...image.status, message, conditions: setCondition(image.status?.conditions, 'Deleting', 'False', reason, message, gen, this.now()) });
    await this.event(image, type, reason, message);
  }

  private async writeStatus(image: CustomImage, status: CustomImageStatus): Promise<CustomImage> {
    if (sameStatus(image.status, status)) return image;
    const updated = await this.deps.api.replaceStatus(image.metadata.namespace, image.metadata.name, status);
    this.written.set(keyOf(image), trimForCache(updated));
    return updated;
  }

  private event(image: CustomImage, type: EventType, reason: Reason, message: string): Promise<void> {
    return this.deps.events.record(image, type, reason, message);
  }

  /** Runs an AWS call; on failure records Synced=False (AccessDenied names the action) and rethrows. */
  private async guard<T>(image: CustomImage, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      await this.recordFailure(image, e);
      throw e;
    }
  }

  private async recordFailure(image: CustomImage, e: unknown): Promise<void> {
    if (!(e instanceof OperatorError)) return;
    const reason: Reason = e.code === 'AWS_ACCESS_DENIED' ? 'AccessDenied' : 'ReconcileError';
    try {
      await this.writeStatus(image, errorStatus(image, reason, e.message, this.now()));
    } catch (writeErr) {
      this.deps.log.warn({ key: keyOf(image), err: (writeErr as Error).message }, 'could not record the error in status');
    }
  }

  /** Like the reference: a terminal failure on artifacts or logs is a warning; a retryable one is retried. */
  private async warnOnTerminal<T>(image: CustomImage, fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof AwsActionError && e.code !== 'AWS_RETRYABLE') {
        await this.event(image, 'Warning', 'ArtifactCleanupWarning', e.message);
        return undefined;
      }
      await this.recordFailure(image, e);
      throw e;
    }
  }

  private regionOf(image: CustomImage): string {
    return image.spec.region ?? this.opts.defaultRegion;
  }

  private progressOf(image: CustomImage): Progress {
    let p = this.progress.get(image.metadata.uid);
    if (!p) {
      p = {};
      this.progress.set(image.metadata.uid, p);
    }
    return p;
  }

  /** The informer's object, or the one our last write returned if that is newer. */
  private latest(key: string): CustomImage | undefined {
    const cached = this.deps.cache.get(key);
    const mine = this.written.get(key);
    if (!cached) return undefined;
    if (!mine || mine.metadata.uid !== cached.metadata.uid) return cached;
    if (isNewer(mine.metadata.resourceVersion, cached.metadata.resourceVersion)) return mine;
    this.written.delete(key);
    return cached;
  }

  /**
   * The informer delivered this version: once it is as new as our last write, that copy is no
   * longer needed (otherwise every image would be held twice until its next reconcile).
   */
  informerCaughtUp(key: string, resourceVersion: string): void {
    const mine = this.written.get(key);
    if (mine && !isNewer(mine.metadata.resourceVersion, resourceVersion)) this.written.delete(key);
  }

}

/** resourceVersions are opaque, but etcd's are integers; when they are not, the informer's copy wins. */
function isNewer(a: string, b: string): boolean {
  try {
    return BigInt(a) > BigInt(b);
  } catch {
    return false;
  }
}

function describePlan(imageId: string, plan: DeletionPlan): string {
  const parts = [
    plan.stackArn ? `stack ${plan.stackArn.split('/')[1] ?? plan.stackArn}` : undefined,
    plan.amiId ? `AMI ${plan.amiId}` : undefined,
    plan.snapshotIds.length ? `snapshots ${plan.snapshotIds.join(', ')}` : undefined,
    plan.s3Bucket && plan.s3ImageDir ? `s3://${plan.s3Bucket}/${plan.s3ImageDir}/` : undefined,
    `log group ${plan.logGroup}`,
  ].filter(Boolean);
  return `deleting image ${imageId}${plan.forced ? ' (forced)' : ''}: ${parts.join('; ')}`;
}
