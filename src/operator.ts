import type { KubeConfig } from '@kubernetes/client-node';
import type { Server } from 'node:http';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { GROUP, keyOf, PLURAL, VERSION, type CustomImage } from './api/customimage.ts';
import { AwsClientPool } from './aws/clients.ts';
import { BatchObserver } from './aws/batch-observer.ts';
import { AwsImageStore, type ImageStore } from './aws/image-store.ts';
import { DEFAULT_BUCKETS, parseBucketSpecs, RateLimiter } from './aws/rate-limiter.ts';
import type { OperatorConfig } from './config.ts';
import { DEFAULT_RECONCILER_OPTIONS, ImageReconciler } from './controller/image-reconciler.ts';
import { KubeConflictError } from './errors.ts';
import { KubeCustomImageApi } from './kube/api.ts';
import { KubeEventRecorder } from './kube/events.ts';
import { loadKubeConfig, pooledConnections } from './kube/kubeconfig.ts';
import { KubeAuthorizer } from './image-api/auth.ts';
import { KubeImageCatalog } from './image-api/kube-catalog.ts';
import { startImageApiServer } from './image-api/server.ts';
import { startObservabilityServer } from './observability/http.ts';
import { OperatorMetrics } from './observability/metrics.ts';
import { Controller } from './runtime/controller.ts';
import { SupervisedInformer } from './runtime/informer.ts';
import { LeaderElector } from './runtime/leader-election.ts';
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
  readonly metrics: OperatorMetrics;
  readonly ports: { metrics?: number; health?: number; api?: number };
  stop(): Promise<void>;
}

export interface OperatorHooks {
  kubeConfig?: KubeConfig;
  store?: ImageStore;
  /** Leadership lost: the process must stop working at once (main exits). */
  onLeadershipLost?(): void;
}

function rateLimiter(spec: string): RateLimiter | undefined {
  if (spec === 'none') return undefined;
  return new RateLimiter(spec === 'default' ? DEFAULT_BUCKETS : parseBucketSpecs(spec));
}

/** Wires informer → queue → controller → reconciler for one process, behind leader election if asked. */
export async function startOperator(cfg: OperatorConfig, log: Logger, hooks: OperatorHooks = {}): Promise<Operator> {
  const kc = hooks.kubeConfig ? pooledConnections(hooks.kubeConfig) : loadKubeConfig(cfg.kubeconfig);
  const metrics = new OperatorMetrics();
  const timeoutMs = cfg.kubeTimeoutSeconds * 1000;
  const api = new KubeCustomImageApi(kc, { timeoutMs, fieldManager: 'pcluster-image-operator' });
  const events = new KubeEventRecorder(kc, { component: 'pcluster-image-operator', log, timeoutMs });
  const limiter = rateLimiter(cfg.awsRateLimits);
  const pool = new AwsClientPool({
    maxAttempts: cfg.awsMaxAttempts,
    ...(cfg.awsEndpoint ? { endpoint: cfg.awsEndpoint } : {}),
    ...(limiter ? { limiter } : {}),
    onRequest: (service, operation, outcome) => metrics.awsRequests.inc({ service, operation, outcome }),
  });
  const store = hooks.store ?? new AwsImageStore(pool);
  const liveObserver = cfg.batchObservation && !hooks.store ? new BatchObserver(pool, store, { windowMs: 100, stackIndexTtlMs: 5_000 }) : store;

  const queue = new WorkQueue({ baseDelayMs: 1000, maxDelayMs: 5 * 60_000 }, metrics.queue('customimage'));
  const seen = new Map<string, string>();
  const path = cfg.namespace ? `/apis/${GROUP}/${VERSION}/namespaces/${cfg.namespace}/${PLURAL}` : `/apis/${GROUP}/${VERSION}/${PLURAL}`;
  const informer: SupervisedInformer<CustomImage> = new SupervisedInformer<CustomImage>(kc, {
    path,
    list: (keep) => api.list(cfg.namespace, cfg.labelSelector, keep),
    ...(cfg.labelSelector ? { labelSelector: cfg.labelSelector } : {}),
    log: log.child({ component: 'informer' }),
    onEvent: (type, obj) => {
      const key = keyOf(obj);
      if (type === 'delete') {
        seen.delete(key);
        return;
      }
      reconciler.informerCaughtUp(key, obj.metadata.resourceVersion);
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
      liveObserver,
      events,
      log,
      observer: {
        deletionFinished: (outcome, seconds) => {
          metrics.deletions.inc({ outcome });
          if (seconds !== undefined) metrics.deletionDuration.observe(seconds);
        },
      },
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
  const controller = new Controller(queue, reconciler, log, { name: 'customimage', concurrency: cfg.concurrency, isQuickRetry: (e) => e instanceof KubeConflictError }, metrics.controller('customimage'));

  const servers: Server[] = [];
  const ports: { metrics?: number; health?: number; api?: number } = {};
  const probes = { ready: () => informer.hasSynced };
  if (cfg.metricsBindAddress !== '0') {
    const s = await startObservabilityServer(cfg.metricsBindAddress, metrics.registry, probes);
    servers.push(s.server);
    ports.metrics = s.port;
  }
  if (cfg.healthProbeBindAddress !== '0' && cfg.healthProbeBindAddress !== cfg.metricsBindAddress) {
    const s = await startObservabilityServer(cfg.healthProbeBindAddress, metrics.registry, probes);
    servers.push(s.server);
    ports.health = s.port;
  } else if (cfg.healthProbeBindAddress !== '0') {
    ports.health = ports.metrics;
  }

  if (cfg.apiBindAddress !== '0') {
    const api = await startImageApiServer({
      bindAddress: cfg.apiBindAddress,
      ...(cfg.apiTlsCertFile && cfg.apiTlsKeyFile ? { tlsCertFile: cfg.apiTlsCertFile, tlsKeyFile: cfg.apiTlsKeyFile } : {}),
      allowInsecureHttp: cfg.apiAllowInsecureHttp,
      catalog: new KubeImageCatalog(kc, cfg.apiNamespaces, timeoutMs),
      authorizer: new KubeAuthorizer(kc, timeoutMs),
      defaultRegion: cfg.defaultRegion,
      store,
      ...(cfg.apiAdoptNamespace ? { adoptNamespace: cfg.apiAdoptNamespace } : {}),
      maxBodyBytes: 16 * 1024,
      regions: cfg.apiRegions,
      ratePerSecond: cfg.apiRatePerSecond,
      rateBurst: cfg.apiRatePerSecond * 2,
      log: log.child({ component: 'image-api' }),
    });
    servers.push(api.server);
    ports.api = api.port;
  }
  log.info({ ports }, 'serving metrics and probes');

  // every replica keeps a warm cache; only the leader's workers take from the queue
  await informer.start();
  let elector: LeaderElector | undefined;
  if (cfg.leaderElect) {
    const identity = `${process.env.POD_NAME ?? hostname()}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
    elector = new LeaderElector(kc, {
      namespace: cfg.leaderElectionNamespace,
      name: cfg.leaderElectionId,
      identity,
      leaseDurationMs: cfg.leaseDurationSeconds * 1000,
      renewDeadlineMs: cfg.renewDeadlineSeconds * 1000,
      retryPeriodMs: cfg.retryPeriodSeconds * 1000,
      log: log.child({ component: 'leader-election' }),
      onStatus: (leading) => metrics.leaderStatus.set({ name: cfg.leaderElectionId }, leading ? 1 : 0),
      onStartedLeading: () => controller.start(),
      onStoppedLeading: () => {
        // another replica may already be acting: do not finish anything, stop now
        queue.shutDown();
        hooks.onLeadershipLost?.();
      },
    });
    elector.start();
  } else {
    metrics.leaderStatus.set({ name: cfg.leaderElectionId }, 1);
    controller.start();
  }
  log.info(
    { namespace: cfg.namespace ?? '(all)', labelSelector: cfg.labelSelector, concurrency: cfg.concurrency, defaultRegion: cfg.defaultRegion, awsEndpoint: cfg.awsEndpoint, leaderElect: cfg.leaderElect, ports },
    'operator started',
  );

  return {
    informer,
    queue,
    controller,
    metrics,
    ports,
    async stop() {
      await informer.stop();
      const finished = await controller.stop(cfg.shutdownTimeoutSeconds * 1000);
      if (!finished) log.warn('shutdown timeout: some reconciles were still running');
      // release only after in-flight steps are done, so the successor never overlaps them
      await elector?.stop();
      for (const s of servers) s.close();
      pool.destroy();
    },
  };
}
