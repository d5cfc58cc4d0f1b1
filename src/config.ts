import { AWS_REGIONS, isKnownRegion } from './domain/regions.ts';
import { parseArgs } from 'node:util';

export interface OperatorConfig {
  kubeconfig?: string;
  namespace?: string;
  labelSelector?: string;
  concurrency: number;
  resyncSeconds: number;
  defaultRegion: string;
  awsEndpoint?: string;
  awsMaxAttempts: number;
  stackPollSeconds: number;
  buildingPollSeconds: number;
  blockedRecheckSeconds: number;
  stackRetrySeconds: number;
  logLevel: string;
  shutdownTimeoutSeconds: number;
  kubeTimeoutSeconds: number;
  metricsBindAddress: string;
  healthProbeBindAddress: string;
  leaderElect: boolean;
  leaderElectionNamespace: string;
  leaderElectionId: string;
  leaseDurationSeconds: number;
  renewDeadlineSeconds: number;
  retryPeriodSeconds: number;
  /** "default", "none", or service:Action=capacity/refill,... */
  awsRateLimits: string;
  apiBindAddress: string;
  apiTlsCertFile?: string;
  apiTlsKeyFile?: string;
  apiAllowInsecureHttp: boolean;
  apiNamespaces: string[];
  /** undefined: adoption off. */
  apiAdoptNamespace?: string;
  apiRatePerSecond: number;
  /** Regions the image API accepts (default: every AWS Region the SDK knows). */
  apiRegions: string[];
  /** Observe live images in bulk (one DescribeImages per 200 ids, one stack listing per region). */
  batchObservation: boolean;
}

/** Flag name → [env var, default]. Flags win over env, env over defaults. */
const SPEC = {
  kubeconfig: ['KUBECONFIG', undefined],
  namespace: ['PIO_NAMESPACE', undefined],
  'label-selector': ['PIO_LABEL_SELECTOR', undefined],
  concurrency: ['PIO_CONCURRENCY', '8'],
  'resync-period': ['PIO_RESYNC_PERIOD', '600'],
  'default-region': ['AWS_REGION', 'us-east-1'],
  'aws-endpoint': ['AWS_ENDPOINT_URL', undefined],
  'aws-max-attempts': ['PIO_AWS_MAX_ATTEMPTS', '3'],
  'stack-poll-interval': ['PIO_STACK_POLL_INTERVAL', '5'],
  'building-poll-interval': ['PIO_BUILDING_POLL_INTERVAL', '60'],
  'blocked-recheck-interval': ['PIO_BLOCKED_RECHECK_INTERVAL', '30'],
  'stack-retry-interval': ['PIO_STACK_RETRY_INTERVAL', '15'],
  'log-level': ['LOG_LEVEL', 'info'],
  'shutdown-timeout': ['PIO_SHUTDOWN_TIMEOUT', '25'],
  'kube-timeout': ['PIO_KUBE_TIMEOUT', '30'],
  'metrics-bind-address': ['PIO_METRICS_BIND_ADDRESS', ':8080'],
  'health-probe-bind-address': ['PIO_HEALTH_PROBE_BIND_ADDRESS', ':8081'],
  'leader-elect': ['PIO_LEADER_ELECT', 'false'],
  'leader-election-namespace': ['POD_NAMESPACE', 'default'],
  'leader-election-id': ['PIO_LEADER_ELECTION_ID', 'pcluster-image-operator'],
  'leader-election-lease-duration': ['PIO_LEASE_DURATION', '15'],
  'leader-election-renew-deadline': ['PIO_RENEW_DEADLINE', '10'],
  'leader-election-retry-period': ['PIO_RETRY_PERIOD', '2'],
  'aws-rate-limits': ['PIO_AWS_RATE_LIMITS', 'default'],
  'api-bind-address': ['PIO_API_BIND_ADDRESS', '0'],
  'api-tls-cert-file': ['PIO_API_TLS_CERT_FILE', undefined],
  'api-tls-key-file': ['PIO_API_TLS_KEY_FILE', undefined],
  'api-allow-insecure-http': ['PIO_API_ALLOW_INSECURE_HTTP', 'false'],
  'api-namespaces': ['PIO_API_NAMESPACES', undefined],
  'api-adopt-namespace': ['PIO_API_ADOPT_NAMESPACE', undefined],
  'api-rate-limit': ['PIO_API_RATE_LIMIT', '20'],
  'api-regions': ['PIO_API_REGIONS', undefined],
  'batch-observation': ['PIO_BATCH_OBSERVATION', 'true'],
} as const satisfies Record<string, readonly [string, string | undefined]>;

export const USAGE = `pcluster-image-operator [run] [flags]

Runs the CustomImage operator against the cluster of --kubeconfig / KUBECONFIG, or in-cluster config.

Flags (environment variable in brackets):
${Object.entries(SPEC)
  .map(([flag, [env, def]]) => `  --${flag.padEnd(22)} [${env}]${def !== undefined ? ` default ${def}` : ''}`)
  .join('\n')}
  --help
Durations are in seconds. A bind address of 0 disables that server.`;

const BOOL_FLAGS = new Set(['leader-elect', 'api-allow-insecure-http', 'batch-observation']);

function bool(flag: string, raw: string): boolean {
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new Error(`--${flag} must be true or false, got "${raw}"`);
}

function positiveInt(flag: string, raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${flag} must be a positive whole number, got "${raw}"`);
  return n;
}

export function parseConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): OperatorConfig | 'help' {
  // a boolean flag alone means true (--leader-elect), as controller-runtime's flags
  const args = argv.map((a, i) => (BOOL_FLAGS.has(a.slice(2)) && (argv[i + 1] === undefined || argv[i + 1]!.startsWith('--')) ? `${a}=true` : a));
  const { values } = parseArgs({
    args,
    options: { ...Object.fromEntries(Object.keys(SPEC).map((k) => [k, { type: 'string' as const }])), help: { type: 'boolean' } },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return 'help';
  const get = (flag: keyof typeof SPEC): string | undefined => {
    const v = (values as Record<string, unknown>)[flag];
    if (typeof v === 'string' && v !== '') return v;
    const [envName, def] = SPEC[flag];
    const e = env[envName];
    return e !== undefined && e !== '' ? e : def;
  };
  const cfg: OperatorConfig = {
    concurrency: positiveInt('concurrency', get('concurrency')!),
    resyncSeconds: positiveInt('resync-period', get('resync-period')!),
    defaultRegion: get('default-region')!,
    awsMaxAttempts: positiveInt('aws-max-attempts', get('aws-max-attempts')!),
    stackPollSeconds: positiveInt('stack-poll-interval', get('stack-poll-interval')!),
    buildingPollSeconds: positiveInt('building-poll-interval', get('building-poll-interval')!),
    blockedRecheckSeconds: positiveInt('blocked-recheck-interval', get('blocked-recheck-interval')!),
    stackRetrySeconds: positiveInt('stack-retry-interval', get('stack-retry-interval')!),
    logLevel: get('log-level')!,
    shutdownTimeoutSeconds: positiveInt('shutdown-timeout', get('shutdown-timeout')!),
    kubeTimeoutSeconds: positiveInt('kube-timeout', get('kube-timeout')!),
    metricsBindAddress: get('metrics-bind-address')!,
    healthProbeBindAddress: get('health-probe-bind-address')!,
    leaderElect: bool('leader-elect', get('leader-elect')!),
    leaderElectionNamespace: get('leader-election-namespace')!,
    leaderElectionId: get('leader-election-id')!,
    leaseDurationSeconds: positiveInt('leader-election-lease-duration', get('leader-election-lease-duration')!),
    renewDeadlineSeconds: positiveInt('leader-election-renew-deadline', get('leader-election-renew-deadline')!),
    retryPeriodSeconds: positiveInt('leader-election-retry-period', get('leader-election-retry-period')!),
    awsRateLimits: get('aws-rate-limits')!,
    apiBindAddress: get('api-bind-address')!,
    apiAllowInsecureHttp: bool('api-allow-insecure-http', get('api-allow-insecure-http')!),
    apiNamespaces: (get('api-namespaces') ?? get('namespace') ?? 'default').split(',').map((n) => n.trim()).filter(Boolean),
    apiRatePerSecond: positiveInt('api-rate-limit', get('api-rate-limit')!),
    batchObservation: bool('batch-observation', get('batch-observation')!),
    apiRegions: get('api-regions')?.split(',').map((r) => r.trim()).filter(Boolean) ?? [...AWS_REGIONS],
  };
  for (const r of cfg.apiRegions) if (!isKnownRegion(r)) throw new Error(`--api-regions: "${r}" is not an AWS Region`);
  const cert = get('api-tls-cert-file');
  const key = get('api-tls-key-file');
  if ((cert === undefined) !== (key === undefined)) throw new Error('--api-tls-cert-file and --api-tls-key-file go together');
  if (cert && key) {
    cfg.apiTlsCertFile = cert;
    cfg.apiTlsKeyFile = key;
  }
  const adopt = get('api-adopt-namespace') ?? cfg.apiNamespaces[0];
  if (adopt && adopt !== 'none') cfg.apiAdoptNamespace = adopt;
  if (cfg.namespace && cfg.apiNamespaces.some((n) => n !== cfg.namespace)) throw new Error(`--api-namespaces must lie within --namespace ${cfg.namespace}: the operator only reconciles there`);
  if (!(cfg.retryPeriodSeconds < cfg.renewDeadlineSeconds && cfg.renewDeadlineSeconds < cfg.leaseDurationSeconds)) {
    throw new Error('leader election needs retry period < renew deadline < lease duration');
  }
  const optional = { kubeconfig: get('kubeconfig'), namespace: get('namespace'), labelSelector: get('label-selector'), awsEndpoint: get('aws-endpoint') };
  for (const [k, v] of Object.entries(optional)) if (v !== undefined) (cfg as unknown as Record<string, string>)[k] = v;
  if (!/^[a-z]{2}(-[a-z]+)+-[0-9]+$/.test(cfg.defaultRegion)) throw new Error(`--default-region "${cfg.defaultRegion}" is not an AWS region name`);
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(cfg.logLevel)) throw new Error(`--log-level "${cfg.logLevel}" is not one of fatal, error, warn, info, debug, trace, silent`);
  return cfg;
}
