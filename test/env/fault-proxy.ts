import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the fault layer knows about one AWS request. */
export interface AwsCall {
  service: string; // signing name: ec2, cloudformation, s3, logs, sts, ...
  action: string; // API operation name, e.g. DescribeImages
  params: URLSearchParams; // query-protocol parameters (EC2, CloudFormation); empty otherwise
}

export type FaultKind = 'throttle' | 'server-error' | 'latency';

export interface FaultRule {
  kind: FaultKind;
  service?: string;
  action?: string;
  /** Fire at most this many times (default: unlimited). */
  times?: number;
  /** Fire with this probability per matching call (default 1). */
  probability?: number;
  /** For latency: fixed delay plus uniform jitter. */
  latencyMs?: number;
  jitterMs?: number;
}

/** One scripted DeleteStack: the stack reports DELETE_IN_PROGRESS for `inProgressPolls` describes, then the outcome. */
export interface StackDeletionPhase {
  inProgressPolls: number;
  outcome: 'DELETE_FAILED' | 'DELETE_COMPLETE';
}

export interface TokenBucket {
  capacity: number;
  refillPerSecond: number;
}

interface Bucket extends TokenBucket {
  tokens: number;
  last: number;
}

interface StackState {
  pending: StackDeletionPhase[];
  current?: StackDeletionPhase & { polls: number };
  failed: boolean;
}

const XMLNS: Record<string, string> = {
  cloudformation: 'http://cloudformation.amazonaws.com/doc/2010-05-15/',
};

/**
 * An HTTP layer in front of moto that tests control: latency, throttling, 5xx, token-bucket rate
 * limits, scripted CloudFormation stack deletions and Image Builder "still building", and a count of
 * requests per service and action. moto itself never throttles and deletes stacks at once.
 */
export class FaultProxy {
  readonly counts = new Map<string, number>();
  readonly injected = new Map<string, number>();
  private rules: (FaultRule & { fired: number })[] = [];
  private buckets = new Map<string, Bucket>();
  private stacks = new Map<string, StackState>();
  private building = new Set<string>();
  private server?: Server;
  endpoint = '';
  /** When set, every request's key, start and duration are recorded (the latency benchmark reads them). */
  timeline?: { key: string; start: number; ms: number }[];

  private readonly upstream: string;

  constructor(upstream: string) {
    this.upstream = upstream;
  }

  async start(port = 0): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`fault proxy: ${String(e)}`);
      });
    });
    this.server.keepAliveTimeout = 30_000;
    await new Promise<void>((r) => this.server!.listen(port, '127.0.0.1', r));
    this.endpoint = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  /** Clears rules, scripts, buckets and counters. */
  reset(): void {
    this.rules = [];
    this.buckets.clear();
    this.stacks.clear();
    this.building.clear();
    this.counts.clear();
    this.injected.clear();
  }

  addRule(rule: FaultRule): void {
    this.rules.push({ ...rule, fired: 0 });
  }

  clearRules(): void {
    this.rules = [];
  }

  /** Enforces a token bucket for service:action (answers throttling errors when empty). */
  rateLimit(service: string, action: string, bucket: TokenBucket): void {
    this.buckets.set(`${service}:${action}`, { ...bucket, tokens: bucket.capacity, last: Date.now() });
  }

  scriptStackDeletion(stackName: string, phases: StackDeletionPhase[]): void {
    this.stacks.set(stackName, { pending: [...phases], failed: false });
  }

  /** While set, DescribeStackResource(stack, ParallelClusterImage) reports CREATE_IN_PROGRESS. */
  setImageBuilding(stackName: string, building: boolean): void {
    if (building) this.building.add(stackName);
    else this.building.delete(stackName);
  }

  count(service: string, action?: string): number {
    if (action) return this.counts.get(`${service}:${action}`) ?? 0;
    let n = 0;
    for (const [k, v] of this.counts) if (k.startsWith(`${service}:`)) n += v;
    return n;
  }

  countsObject(): Record<string, number> {
    return Object.fromEntries([...this.counts.entries()].sort());
  }

  private bump(map: Map<string, number>, key: string): void {
    map.set(key, (map.get(key) ?? 0) + 1);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const start = performance.now();
    const body = await readBody(req);
    const call = classify(req, body);
    const key = `${call.service}:${call.action}`;
    this.bump(this.counts, key);
    if (this.timeline) {
      const timeline = this.timeline;
      res.once('finish', () => timeline.push({ key, start, ms: performance.now() - start }));
    }

    for (const rule of this.rules) {
      if (rule.service && rule.service !== call.service) continue;
      if (rule.action && rule.action !== call.action) continue;
      if (rule.times !== undefined && rule.fired >= rule.times) continue;
      if (rule.probability !== undefined && Math.random() >= rule.probability) continue;
      rule.fired++;
      if (rule.kind === 'latency') {
        await sleep((rule.latencyMs ?? 0) + Math.random() * (rule.jitterMs ?? 0));
        continue;
      }
      this.bump(this.injected, `${rule.kind}:${key}`);
      return rule.kind === 'throttle' ? sendThrottle(res, call) : sendServerError(res, call);
    }

    const bucket = this.buckets.get(key);
    if (bucket && !takeToken(bucket)) {
      this.bump(this.injected, `throttle:${key}`);
      return sendThrottle(res, call);
    }

    if (call.service === 'cloudformation') {
      const handled = await this.cloudFormation(call, req, body, res);
      if (handled) return;
    }
    const up = await forward(this.upstream, req, body);
    sendUpstream(res, up);
  }

  private stackNameOf(call: AwsCall): string | undefined {
    const ref = call.params.get('StackName');
    if (!ref) return undefined;
    const arn = /^arn:[^:]+:cloudformation:[^:]*:[^:]*:stack\/([^/]+)\//.exec(ref);
    return arn ? arn[1] : ref;
  }

  /** Scripted stack behaviour; returns true when the response was written here. */
  private async cloudFormation(call: AwsCall, req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<boolean> {
    const name = this.stackNameOf(call);
    if (!name) return false;
    const state = this.stacks.get(name);

    if (call.action === 'DeleteStack' && state) {
      const phase = state.pending.shift();
      if (!phase) {
        this.stacks.delete(name);
        return false; // script exhausted: moto deletes it for real
      }
      state.current = { ...phase, polls: 0 };
      state.failed = false;
      sendXml(res, 200, `<DeleteStackResponse xmlns="${XMLNS.cloudformation}"><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></DeleteStackResponse>`);
      return true;
    }

    if (call.action === 'DescribeStacks' && state && (state.current || state.failed)) {
      const cur = state.current;
      if (cur && cur.polls < cur.inProgressPolls) {
        cur.polls++;
        return this.rewrite(req, body, res, /<StackStatus>[^<]*<\/StackStatus>/, '<StackStatus>DELETE_IN_PROGRESS</StackStatus>');
      }
      if (cur && cur.outcome === 'DELETE_COMPLETE') {
        state.current = undefined;
        if (state.pending.length === 0) this.stacks.delete(name);
        await forward(this.upstream, req, cfnBody('DeleteStack', name), 'POST');
        return false; // the describe now sees moto's real post-delete answer
      }
      state.current = undefined;
      state.failed = true;
      return this.rewrite(
        req,
        body,
        res,
        /<StackStatus>[^<]*<\/StackStatus>/,
        '<StackStatus>DELETE_FAILED</StackStatus><StackStatusReason>The following resource(s) failed to delete: [InfrastructureRole]. (injected by fault layer)</StackStatusReason>',
      );
    }

    if (call.action === 'DescribeStackResource' && this.building.has(name) && call.params.get('LogicalResourceId') === 'ParallelClusterImage') {
      return this.rewrite(req, body, res, /<ResourceStatus>[^<]*<\/ResourceStatus>/, '<ResourceStatus>CREATE_IN_PROGRESS</ResourceStatus>');
    }
    return false;
  }

  private async rewrite(req: IncomingMessage, body: Buffer, res: ServerResponse, pattern: RegExp, replacement: string): Promise<boolean> {
    const up = await forward(this.upstream, req, body);
    const text = up.body.toString('utf8');
    sendUpstream(res, { ...up, body: Buffer.from(text.replace(pattern, replacement)) });
    return true;
  }
}

function takeToken(b: Bucket): boolean {
  const now = Date.now();
  b.tokens = Math.min(b.capacity, b.tokens + ((now - b.last) / 1000) * b.refillPerSecond);
  b.last = now;
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function cfnBody(action: string, stackName: string): Buffer {
  return Buffer.from(new URLSearchParams({ Action: action, Version: '2010-05-15', StackName: stackName }).toString());
}

const S3_SUBRESOURCES: [string, string, string][] = [
  ['GET', 'versions', 'ListObjectVersions'],
  ['POST', 'delete', 'DeleteObjects'],
  ['PUT', 'versioning', 'PutBucketVersioning'],
  ['GET', 'versioning', 'GetBucketVersioning'],
  ['PUT', 'tagging', 'PutObjectTagging'],
];

/** Names the service (from the SigV4 credential scope) and the operation of an AWS request. */
export function classify(req: { method?: string; url?: string; headers: IncomingHttpHeaders }, body: Buffer): AwsCall {
  const auth = String(req.headers.authorization ?? '');
  const scope = /Credential=[^/]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/.exec(auth);
  const service = scope?.[1] ?? 'unknown';
  const url = new URL(req.url ?? '/', 'http://x');
  const target = req.headers['x-amz-target'];
  if (typeof target === 'string') return { service, action: target.split('.').pop() ?? target, params: new URLSearchParams() };
  const contentType = String(req.headers['content-type'] ?? '');
  if (contentType.includes('x-www-form-urlencoded') || url.searchParams.has('Action')) {
    const params = new URLSearchParams(contentType.includes('x-www-form-urlencoded') ? body.toString('utf8') : url.search);
    return { service, action: params.get('Action') ?? 'unknown', params };
  }
  if (service === 's3') {
    const method = req.method ?? 'GET';
    for (const [m, q, action] of S3_SUBRESOURCES) if (method === m && url.searchParams.has(q)) return { service, action, params: new URLSearchParams() };
    const parts = url.pathname.split('/').filter(Boolean);
    const onObject = parts.length > 1;
    const byMethod: Record<string, [string, string]> = {
      GET: ['ListObjects', 'GetObject'],
      PUT: ['CreateBucket', 'PutObject'],
      DELETE: ['DeleteBucket', 'DeleteObject'],
      HEAD: ['HeadBucket', 'HeadObject'],
    };
    const pair = byMethod[method];
    return { service, action: pair ? pair[onObject ? 1 : 0] : method, params: new URLSearchParams() };
  }
  return { service, action: 'unknown', params: new URLSearchParams() };
}

interface Upstream {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

async function forward(upstream: string, req: IncomingMessage, body: Buffer, method?: string): Promise<Upstream> {
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined || ['host', 'connection', 'content-length', 'transfer-encoding', 'expect'].includes(k)) continue;
    headers.set(k, Array.isArray(v) ? v.join(', ') : v);
  }
  if (method) headers.set('content-type', 'application/x-www-form-urlencoded');
  const res = await fetch(upstream + (method ? '/' : (req.url ?? '/')), {
    method: method ?? req.method,
    headers,
    body: body.length > 0 || method ? body : undefined,
    redirect: 'manual',
  });
  const out: Record<string, string> = {};
  res.headers.forEach((v, k) => {
    if (!['content-length', 'transfer-encoding', 'connection', 'content-encoding', 'keep-alive'].includes(k)) out[k] = v;
  });
  return { status: res.status, headers: out, body: Buffer.from(await res.arrayBuffer()) };
}

function sendUpstream(res: ServerResponse, up: Upstream): void {
  res.writeHead(up.status, { ...up.headers, 'content-length': String(up.body.length) });
  res.end(up.body);
}

function sendXml(res: ServerResponse, status: number, xml: string): void {
  res.writeHead(status, { 'content-type': 'text/xml', 'content-length': String(Buffer.byteLength(xml)) });
  res.end(xml);
}

function sendJson(res: ServerResponse, status: number, type: string, message: string): void {
  const json = JSON.stringify({ __type: type, message });
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': type, 'content-length': String(Buffer.byteLength(json)) });
  res.end(json);
}

function ec2Error(res: ServerResponse, status: number, code: string, message: string): void {
  sendXml(res, status, `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>${code}</Code><Message>${message}</Message></Error></Errors><RequestID>${randomUUID()}</RequestID></Response>`);
}

function queryError(res: ServerResponse, status: number, service: string, code: string, message: string, type: string): void {
  sendXml(res, status, `<ErrorResponse xmlns="${XMLNS[service] ?? ''}"><Error><Type>${type}</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`);
}

function s3Error(res: ServerResponse, status: number, code: string, message: string): void {
  sendXml(res, status, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message><RequestId>${randomUUID()}</RequestId></Error>`);
}

/** The throttling error each service really answers. */
function sendThrottle(res: ServerResponse, call: AwsCall): void {
  switch (call.service) {
    case 'ec2':
      return ec2Error(res, 503, 'RequestLimitExceeded', 'Request limit exceeded.');
    case 's3':
      return s3Error(res, 503, 'SlowDown', 'Please reduce your request rate.');
    case 'logs':
      return sendJson(res, 400, 'ThrottlingException', 'Rate exceeded');
    default:
      return queryError(res, 400, call.service, 'Throttling', 'Rate exceeded', 'Sender');
  }
}

function sendServerError(res: ServerResponse, call: AwsCall): void {
  switch (call.service) {
    case 'ec2':
      return ec2Error(res, 500, 'InternalError', 'An internal error has occurred (injected).');
    case 's3':
      return s3Error(res, 500, 'InternalError', 'We encountered an internal error (injected).');
    case 'logs':
      return sendJson(res, 500, 'ServiceUnavailableException', 'Service unavailable (injected)');
    default:
      return queryError(res, 500, call.service, 'InternalFailure', 'Internal failure (injected)', 'Receiver');
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
