import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import openapi from '../../api/openapi.json' with { type: 'json' };
import type { ImageStore } from '../aws/image-store.ts';
import { parseBindAddress } from '../observability/http.ts';
import type { Caller, KubeAuthorizer } from './auth.ts';
import { deleteImage, describeImage, ImageApiError, listImages, validateRegion, type ImageCatalog, type OperationContext } from './operations.ts';

export interface ImageApiServerOptions {
  bindAddress: string;
  tlsCertFile?: string;
  tlsKeyFile?: string;
  /** Plain HTTP on a non-loopback address only when this is set. */
  allowInsecureHttp: boolean;
  catalog: ImageCatalog;
  authorizer: Pick<KubeAuthorizer, 'authenticate' | 'allowed'>;
  defaultRegion: string;
  store?: ImageStore;
  adoptNamespace?: string;
  maxBodyBytes: number;
  /** Regions served; /openapi.json lists exactly these. */
  regions: readonly string[];
  /** Per client address: sustained requests per second, and burst. */
  ratePerSecond: number;
  rateBurst: number;
  log: Logger;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

class ClientBuckets {
  private readonly buckets = new Map<string, { tokens: number; last: number }>();
  private readonly rate: number;
  private readonly burst: number;
  constructor(rate: number, burst: number) {
    this.rate = rate;
    this.burst = burst;
  }
  take(client: string): boolean {
    const now = Date.now();
    const b = this.buckets.get(client) ?? { tokens: this.burst, last: now };
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.last) / 1000) * this.rate);
    b.last = now;
    this.buckets.set(client, b);
    if (this.buckets.size > 10_000) this.buckets.clear(); // bounded memory under address churn
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const json = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json), 'cache-control': 'no-store' });
  res.end(json);
}

function readBody(req: IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > max) {
      reject(new ImageApiError('BadRequest', `Bad Request: request body larger than ${max} bytes`));
      req.resume();
      return;
    }
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        reject(new ImageApiError('BadRequest', `Bad Request: request body larger than ${max} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseBool(name: string, v: string | undefined): boolean | undefined {
  if (v === undefined) return undefined;
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new ImageApiError('BadRequest', `Bad Request: ${name} must be true or false`);
}

/** DELETE's force and region may come as query parameters (service model) or a JSON body (seed page). */
function deleteParams(query: URLSearchParams, bodyText: string, regions: ReadonlySet<string>): { region?: string; force?: boolean } {
  let body: Record<string, unknown> = {};
  if (bodyText.trim() !== '') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(bodyText);
    } catch {
      throw new ImageApiError('BadRequest', 'Bad Request: the request body is not valid JSON');
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new ImageApiError('BadRequest', 'Bad Request: the request body must be a JSON object');
    body = parsed as Record<string, unknown>;
    for (const k of Object.keys(body)) if (k !== 'force' && k !== 'region') throw new ImageApiError('BadRequest', `Bad Request: unknown field ${k.slice(0, 40)} in the request body`);
    if (body.force !== undefined && typeof body.force !== 'boolean') throw new ImageApiError('BadRequest', 'Bad Request: force must be a boolean');
    if (body.region !== undefined && typeof body.region !== 'string') throw new ImageApiError('BadRequest', 'Bad Request: region must be a string');
  }
  const qForce = parseBool('force', query.get('force') ?? undefined);
  const qRegion = query.get('region') ?? undefined;
  const bForce = body.force as boolean | undefined;
  const bRegion = body.region as string | undefined;
  // the service model's query parameters win over the seed page's body when both are given;
  // both must be valid
  if (bRegion !== undefined) validateRegion(bRegion, regions);
  const force = qForce ?? bForce;
  const region = qRegion ?? bRegion;
  return { ...(region !== undefined ? { region } : {}), ...(force !== undefined ? { force } : {}) };
}

function onlyParams(query: URLSearchParams, allowed: string[]): void {
  for (const k of query.keys()) if (!allowed.includes(k)) throw new ImageApiError('BadRequest', `Bad Request: unknown query parameter ${k.slice(0, 40)}`);
  for (const k of allowed) if (query.getAll(k).length > 1) throw new ImageApiError('BadRequest', `Bad Request: ${k} given more than once`);
}

/**
 * The ParallelCluster v3 image API over HTTP(S): DeleteImage, DescribeImage, ListImages, plus
 * /openapi.json. Every /v3 request needs a bearer token (TokenReview) and is authorized per
 * namespace with SubjectAccessReviews for the verb it needs. Client input never yields a 5xx.
 */
export async function startImageApiServer(opts: ImageApiServerOptions): Promise<{ server: Server; port: number }> {
  const { host, port } = parseBindAddress(opts.bindAddress);
  const tls = opts.tlsCertFile && opts.tlsKeyFile;
  if (!tls && !LOOPBACK.has(host) && !opts.allowInsecureHttp) {
    throw new Error(`refusing plain HTTP for the image API on ${opts.bindAddress}: give --api-tls-cert-file and --api-tls-key-file, bind to loopback, or pass --api-allow-insecure-http`);
  }
  const buckets = new ClientBuckets(opts.ratePerSecond, opts.rateBurst);
  const regions = new Set(opts.regions);
  const contract = { ...openapi, components: { ...openapi.components, schemas: { ...openapi.components.schemas, Region: { type: 'string', enum: [...opts.regions] } } } };
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const started = performance.now();
    const requestId = randomUUID();
    res.setHeader('x-request-id', requestId);
    let user: string | undefined;
    handle(req, res, (c) => (user = c.username))
      .catch((e: unknown) => {
        if (e instanceof ImageApiError) return send(res, e.status, { message: e.message });
        opts.log.error({ requestId, err: (e as Error).message, user }, 'api request failed');
        send(res, 500, { message: `Internal service error (request ${requestId})` });
      })
      .finally(() => opts.log.info({ requestId, method: req.method, path: (req.url ?? '').split('?')[0], status: res.statusCode, user, ms: Math.round(performance.now() - started) }, 'api request'));
  };

  async function handle(req: IncomingMessage, res: ServerResponse, identify: (c: Caller) => void): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://api');
    const path = url.pathname;
    if (path === '/openapi.json' && req.method === 'GET') return send(res, 200, contract);
    const isCollection = path === '/v3/images/custom';
    const m = /^\/v3\/images\/custom\/([^/]+)$/.exec(path);
    if (!isCollection && !m) throw new ImageApiError('NotFound', 'Not found');
    const allowedMethods = isCollection ? ['GET'] : ['GET', 'DELETE'];
    if (!allowedMethods.includes(req.method ?? '')) {
      res.setHeader('allow', allowedMethods.join(', '));
      return send(res, 405, { message: `Method ${String(req.method).slice(0, 10)} not allowed` });
    }
    if (!buckets.take(req.socket.remoteAddress ?? 'unknown')) throw new ImageApiError('LimitExceeded', 'Too many requests; slow down');

    const auth = req.headers.authorization ?? '';
    const token = /^Bearer ([^\s]+)$/.exec(auth)?.[1];
    if (!token) throw new ImageApiError('Unauthorized', 'Unauthorized: a bearer token is required (Authorization: Bearer <token>)');
    const caller = await opts.authorizer.authenticate(token);
    if (!caller) throw new ImageApiError('Unauthorized', 'Unauthorized: the bearer token is not valid');
    identify(caller);
    const memo = new Map<string, Promise<boolean>>();
    const ctx: OperationContext = {
      catalog: opts.catalog,
      defaultRegion: opts.defaultRegion,
      can: (verb, ns) => {
        const k = `${verb}/${ns}`;
        if (!memo.has(k)) memo.set(k, opts.authorizer.allowed(caller, verb, ns));
        return memo.get(k)!;
      },
      ...(opts.store ? { aws: opts.store } : {}),
      ...(opts.adoptNamespace ? { adoptNamespace: opts.adoptNamespace } : {}),
      regions,
    };

    if (isCollection) {
      onlyParams(url.searchParams, ['imageStatus', 'region', 'nextToken']);
      const imageStatus = url.searchParams.get('imageStatus');
      if (imageStatus === null) throw new ImageApiError('BadRequest', 'Bad Request: imageStatus is required (AVAILABLE, PENDING or FAILED)');
      const region = url.searchParams.get('region') ?? undefined;
      const nextToken = url.searchParams.get('nextToken') ?? undefined;
      return send(res, 200, await listImages(ctx, { imageStatus, ...(region !== undefined ? { region } : {}), ...(nextToken !== undefined ? { nextToken } : {}) }));
    }
    let imageId: string;
    try {
      imageId = decodeURIComponent(m![1]!);
    } catch {
      throw new ImageApiError('BadRequest', 'Bad Request: imageId is not valid URL encoding');
    }
    if (req.method === 'GET') {
      onlyParams(url.searchParams, ['region']);
      const region = url.searchParams.get('region') ?? undefined;
      return send(res, 200, await describeImage(ctx, imageId, region !== undefined ? { region } : {}));
    }
    onlyParams(url.searchParams, ['region', 'force']);
    const body = await readBody(req, opts.maxBodyBytes);
    const params = deleteParams(url.searchParams, body, regions);
    const { image } = await deleteImage(ctx, imageId, params);
    return send(res, 202, { image });
  }

  const server = tls ? createHttpsServer({ cert: readFileSync(opts.tlsCertFile!), key: readFileSync(opts.tlsKeyFile!) }, handler) : createHttpServer(handler);
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  server.maxHeadersCount = 100;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return { server, port: (server.address() as AddressInfo).port };
}
