import { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { GROUP, keyOf, PLURAL, VERSION, type CustomImage } from './api/customimage.ts';
import { AwsClientPool } from './aws/clients.ts';
import { AwsImageStore, type ImageStore } from './aws/image-store.ts';
import type { OperatorConfig } from './config.ts';
import { DEFAULT_RECONCILER_OPTIONS, ImageReconciler } from './controller/image-reconciler.ts';
import { KubeConflictError } from './errors.ts';
import { KubeCustomImageApi } from './kube/api.ts';
import { KubeEventRecorder } from './kube/events.ts';
import { Controller } from './runtime/controller.ts';
import { SupervisedInformer } from './runtime/informer.ts';
import { WorkQueue } from './runtime/workqueue.ts';

/** What makes an update worth a reconcile: everything but status (our own writes) and resourceVersion. */
function fingerprint(o: CustomImage): string {
  const m = o.metadata;
  return JSON.stringify([m.generation, m.annotations ?? {}, m.labels ?? {}, m.finalizers ?? [], m.deletionTimestamp ?? null]);
}

export interface Operator {
  readonly informer: SupervisedInformer<CustomImage>;
  readonly queue: WorkQueue;
  readonly controller: Controller;
  stop(): Promise<void>;
}

/** Wires informer → queue → controller → reconciler for one process. */
export async function startOperator(cfg: OperatorConfig, log: Logger, overrides: { kubeConfig?: KubeConfig; store?: ImageStore } = {}): Promise<Operator> {
  const kc = overrides.kubeConfig ?? new KubeConfig();
  if (!overrides.kubeConfig) {
    if (cfg.kubeconfig) kc.loadFromFile(cfg.kubeconfig);
    else kc.loadFromDefault();
  }
  const timeoutMs = cfg.kubeTimeoutSeconds * 1000;
  const api = new KubeCustomImageApi(kc, { timeoutMs, fieldManager: 'pcluster-image-operator' });
  const events = new KubeEventRecorder(kc, { component: 'pcluster-image-operator', log, timeoutMs });
  const pool = new AwsClientPool({ maxAttempts: cfg.awsMaxAttempts, ...(cfg.awsEndpoint ? { endpoint: cfg.awsEndpoint } : {}) });
  const store = overrides.store ?? new AwsImageStore(pool);

  const queue = new WorkQueue({ baseDelayMs: 1000, maxDelayMs: 5 * 60_000 });
  const seen = new Map<string, string>();
  const path = cfg.namespace ? `/apis/${GROUP}/${VERSION}/namespaces/${cfg.namespace}/${PLURAL}` : `/apis/${GROUP}/${VERSION}/${PLURAL}`;
  const informer: SupervisedInformer<CustomImage> = new SupervisedInformer<CustomImage>(kc, {
    path,
    list: () => api.list(cfg.namespace, cfg.labelSelector),
    ...(cfg.labelSelector ? { labelSelector: cfg.labelSelector } : {}),
    log: log.child({ component: 'informer' }),
    onEvent: (type, obj) => {
      const key = keyOf(obj);
      if (type === 'delete') {
        seen.delete(key);
        return;
      }
      const fp = fingerprint(obj);
      if (type === 'update' && seen.get(key) === fp) return; // a status-only change, most likely ours
      seen.set(key, fp);
      queue.add(key);
    },
  });

  const reconciler = new ImageReconciler(
    {
      cache: {
        get: (key) => {
          const [ns, name] = key.split('/');
          return informer.get(name!, ns);
        },
      },
      api,
      store,
      events,
      log,
    },
    {
      ...DEFAULT_RECONCILER_OPTIONS,
      defaultRegion: cfg.defaultRegion,
      resyncMs: cfg.resyncSeconds * 1000,
      stackPollMs: cfg.stackPollSeconds * 1000,
      buildingPollMs: cfg.buildingPollSeconds * 1000,
      blockedRecheckMs: cfg.blockedRecheckSeconds * 1000,
      stackRetryBaseMs: cfg.stackRetrySeconds * 1000,
    },
  );
  const controller = new Controller(queue, reconciler, log, { name: 'customimage', concurrency: cfg.concurrency, isQuickRetry: (e) => e instanceof KubeConflictError });

  await informer.start();
  controller.start();
  log.info({ namespace: cfg.namespace ?? '(all)', labelSelector: cfg.labelSelector, concurrency: cfg.concurrency, defaultRegion: cfg.defaultRegion, awsEndpoint: cfg.awsEndpoint }, 'operator started');

  return {
    informer,
    queue,
    controller,
    async stop() {
      await informer.stop();
      const finished = await controller.stop(cfg.shutdownTimeoutSeconds * 1000);
      if (!finished) log.warn('shutdown timeout: some reconciles were still running');
      pool.destroy();
    },
  };
}
