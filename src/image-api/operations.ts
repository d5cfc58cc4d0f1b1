// The ParallelCluster v3 image operations (DeleteImage, DescribeImage, ListImages) mapped onto
// CustomImage resources. Shared by the HTTP API and the CLI; the caller supplies the Kubernetes
// access (the operator's or the user's) and, for adoption, an AWS view.

import { createHash } from 'node:crypto';
import { API_VERSION, FINALIZER, FORCE_ANNOTATION, IMAGE_ID_PATTERN, KIND, type CustomImage, type CustomImageStatus, type ImageBuildStatus } from '../api/customimage.ts';
import type { ImageStore } from '../aws/image-store.ts';
import { describeView } from '../domain/build-status.ts';
import { notFoundMessage } from '../domain/messages.ts';
import { isKnownRegion } from '../domain/regions.ts';

/** Kubernetes access the operations need, in the namespaces they serve. */
export interface ImageCatalog {
  namespaces: readonly string[];
  list(namespace: string): Promise<CustomImage[]>;
  create(namespace: string, body: Omit<CustomImage, 'metadata'> & { metadata: { name: string; namespace: string; annotations?: Record<string, string>; labels?: Record<string, string>; finalizers?: string[] } }): Promise<CustomImage>;
  annotate(namespace: string, name: string, annotations: Record<string, string>): Promise<CustomImage>;
  delete(namespace: string, name: string): Promise<CustomImage | undefined>;
}

export interface OperationContext {
  catalog: ImageCatalog;
  defaultRegion: string;
  /** May the caller do `verb` on customimages in `namespace`? (SubjectAccessReview for the HTTP API.) */
  can(verb: 'get' | 'list' | 'delete' | 'create' | 'patch', namespace: string): Promise<boolean>;
  /** When set, an image that exists in AWS without a CustomImage can be adopted (created, then deleted). */
  aws?: ImageStore;
  /** Namespace adopted CustomImages are created in. */
  adoptNamespace?: string;
  /** Regions accepted (default: every known AWS Region). */
  regions?: ReadonlySet<string>;
}

/** ParallelCluster's ImageInfoSummary. */
export interface ImageInfoSummary {
  imageId: string;
  ec2AmiInfo?: { amiId: string };
  region: string;
  version: string;
  cloudformationStackArn?: string;
  imageBuildStatus: ImageBuildStatus;
  cloudformationStackStatus?: string;
}

/** DescribeImage's answer: the summary plus what status knows of the AMI and conditions. */
export interface DescribeImageResponse {
  imageId: string;
  region: string;
  version: string;
  imageBuildStatus: ImageBuildStatus;
  cloudformationStackArn?: string;
  cloudformationStackStatus?: string;
  ec2AmiInfo?: { amiId: string; amiName?: string; state?: string; architecture?: string; description?: string };
  message?: string;
}

export type ImageStatusFilter = 'AVAILABLE' | 'PENDING' | 'FAILED';
const STATUS_FILTER: Record<ImageStatusFilter, ImageBuildStatus[]> = {
  AVAILABLE: ['BUILD_COMPLETE'],
  PENDING: ['BUILD_IN_PROGRESS', 'DELETE_IN_PROGRESS'],
  FAILED: ['BUILD_FAILED', 'DELETE_FAILED'],
};

export type ApiErrorKind = 'BadRequest' | 'Unauthorized' | 'Forbidden' | 'NotFound' | 'Conflict' | 'LimitExceeded' | 'Internal';
const HTTP: Record<ApiErrorKind, number> = { BadRequest: 400, Unauthorized: 401, Forbidden: 403, NotFound: 404, Conflict: 409, LimitExceeded: 429, Internal: 500 };

/** An error with the ParallelCluster API's status code and message. */
export class ImageApiError extends Error {
  readonly kind: ApiErrorKind;
  constructor(kind: ApiErrorKind, message: string) {
    super(message);
    this.name = 'ImageApiError';
    this.kind = kind;
  }
  get status(): number {
    return HTTP[this.kind];
  }
}


export function validateImageId(imageId: string): void {
  if (!IMAGE_ID_PATTERN.test(imageId)) throw new ImageApiError('BadRequest', `Bad Request: imageId "${imageId.slice(0, 140)}" must match ^[a-zA-Z][a-zA-Z0-9-]{0,127}$`);
}

export function validateRegion(region: string | undefined, accepted?: ReadonlySet<string>): void {
  if (region === undefined) return;
  if (!isKnownRegion(region)) throw new ImageApiError('BadRequest', `Bad Request: region "${region.slice(0, 40)}" is not an AWS Region`);
  if (accepted && !accepted.has(region)) throw new ImageApiError('BadRequest', `Bad Request: this API does not serve region ${region}`);
}

/** Whether a CustomImage is the ParallelCluster image `imageId` (in `region`, when given). */
export function isImage(img: CustomImage, imageId: string, region: string | undefined, defaultRegion: string): boolean {
  return img.spec.imageId === imageId && (region === undefined || (img.spec.region ?? defaultRegion) === region);
}

/** CustomImages for imageId (and region) in the namespaces the caller may `verb` in. */
async function find(ctx: OperationContext, imageId: string, region: string | undefined, verb: 'get' | 'delete'): Promise<{ matches: CustomImage[]; allowed: string[] }> {
  const allowed: string[] = [];
  for (const ns of ctx.catalog.namespaces) if (await ctx.can(verb, ns)) allowed.push(ns);
  if (allowed.length === 0) throw new ImageApiError('Forbidden', `Forbidden: you may not ${verb} customimages in ${ctx.catalog.namespaces.join(', ')}`);
  const matches: CustomImage[] = [];
  for (const ns of allowed) {
    for (const img of await ctx.catalog.list(ns)) {
      if (isImage(img, imageId, region, ctx.defaultRegion)) matches.push(img);
    }
  }
  return { matches, allowed };
}

function single(imageId: string, matches: CustomImage[]): CustomImage | undefined {
  if (matches.length > 1) {
    throw new ImageApiError('Conflict', `Several CustomImages match image id ${imageId}: ${matches.map((m) => `${m.metadata.namespace}/${m.metadata.name} (${m.spec.region ?? 'default region'})`).join(', ')}; give region to choose`);
  }
  return matches[0];
}

export function summaryOf(img: CustomImage, defaultRegion: string, buildStatus?: ImageBuildStatus): ImageInfoSummary {
  const s: CustomImageStatus = img.status ?? {};
  return {
    imageId: img.spec.imageId,
    ...(s.ec2AmiInfo?.amiId ? { ec2AmiInfo: { amiId: s.ec2AmiInfo.amiId } } : {}),
    region: img.spec.region ?? s.region ?? defaultRegion,
    version: s.version ?? '',
    ...(s.cloudformationStackArn ? { cloudformationStackArn: s.cloudformationStackArn } : {}),
    imageBuildStatus: buildStatus ?? s.imageBuildStatus ?? 'BUILD_IN_PROGRESS',
    ...(s.cloudformationStackStatus ? { cloudformationStackStatus: s.cloudformationStackStatus } : {}),
  };
}

/** A Kubernetes name for an image id: lowercase, plus a short hash when lowercasing changed it. */
export function resourceNameFor(imageId: string): string {
  const lower = imageId.toLowerCase();
  if (lower === imageId) return imageId;
  return `${lower.slice(0, 119)}-${createHash('sha256').update(imageId).digest('hex').slice(0, 8)}`;
}

/**
 * DeleteImage: deletes the CustomImage (the operator then deletes in AWS) and answers at once with
 * DELETE_IN_PROGRESS, as ParallelCluster's API does. Idempotent: an image already deleting answers
 * its current status. force=true sets the force annotation first.
 */
export async function deleteImage(ctx: OperationContext, imageId: string, opts: { region?: string; force?: boolean } = {}): Promise<{ image: ImageInfoSummary; adopted: boolean }> {
  validateImageId(imageId);
  validateRegion(opts.region, ctx.regions);
  const { matches } = await find(ctx, imageId, opts.region, 'delete');
  let img = single(imageId, matches);
  let adopted = false;
  if (!img) {
    img = await adopt(ctx, imageId, opts.region ?? ctx.defaultRegion, opts.force === true);
    adopted = true;
  }
  const { namespace, name } = img.metadata;
  if (img.metadata.deletionTimestamp) {
    if (opts.force && img.metadata.annotations?.[FORCE_ANNOTATION] !== 'true') await ctx.catalog.annotate(namespace, name, { [FORCE_ANNOTATION]: 'true' });
    return { image: summaryOf(img, ctx.defaultRegion), adopted };
  }
  if (opts.force && !adopted && img.metadata.annotations?.[FORCE_ANNOTATION] !== 'true') {
    if (!(await ctx.can('patch', namespace))) throw new ImageApiError('Forbidden', `Forbidden: force needs permission to patch customimages in ${namespace}`);
    img = await ctx.catalog.annotate(namespace, name, { [FORCE_ANNOTATION]: 'true' });
  }
  const deleted = await ctx.catalog.delete(namespace, name);
  // an adopted image has no status yet: answer from the AWS observation made while adopting
  const summary = summaryOf(adopted || !deleted ? img : deleted, ctx.defaultRegion, 'DELETE_IN_PROGRESS');
  if (summary.cloudformationStackArn) summary.cloudformationStackStatus = 'DELETE_IN_PROGRESS';
  else delete summary.cloudformationStackStatus;
  return { image: summary, adopted };
}

async function adopt(ctx: OperationContext, imageId: string, region: string, force: boolean): Promise<CustomImage> {
  const target = ctx.adoptNamespace;
  if (!ctx.aws || !target) throw new ImageApiError('NotFound', notFoundMessage(imageId));
  const obs = await ctx.aws.observe(imageId, region);
  const view = describeView(obs);
  if (!view) throw new ImageApiError('NotFound', notFoundMessage(imageId));
  if (!(await ctx.can('create', target))) throw new ImageApiError('NotFound', notFoundMessage(imageId));
  const created = await ctx.catalog.create(target, {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: {
      name: resourceNameFor(imageId),
      namespace: target,
      labels: { 'pcluster.imageops.dev/adopted': 'true' },
      // present from the start: the delete below must never find it without one, or AWS is forgotten
      finalizers: [FINALIZER],
      ...(force ? { annotations: { [FORCE_ANNOTATION]: 'true' } } : {}),
    },
    spec: { imageId, region },
  });
  // the operator has not observed it yet; answer from what AWS just said
  return { ...created, status: { ...view } };
}

export async function describeImage(ctx: OperationContext, imageId: string, opts: { region?: string } = {}): Promise<DescribeImageResponse> {
  validateImageId(imageId);
  validateRegion(opts.region, ctx.regions);
  const { matches } = await find(ctx, imageId, opts.region, 'get');
  const img = single(imageId, matches);
  // no status yet, or the operator found nothing in AWS: the same 404 ParallelCluster gives
  if (!img?.status?.imageBuildStatus) throw new ImageApiError('NotFound', notFoundMessage(imageId));
  const s = img.status ?? {};
  return {
    ...summaryOf(img, ctx.defaultRegion),
    ...(s.ec2AmiInfo ? { ec2AmiInfo: s.ec2AmiInfo } : {}),
    ...(s.message ? { message: s.message } : {}),
  };
}

export const LIST_PAGE_SIZE = 50;

export async function listImages(ctx: OperationContext, opts: { imageStatus: string; region?: string; nextToken?: string }): Promise<{ images: ImageInfoSummary[]; nextToken?: string }> {
  if (!(opts.imageStatus in STATUS_FILTER)) throw new ImageApiError('BadRequest', `Bad Request: imageStatus must be one of AVAILABLE, PENDING, FAILED`);
  validateRegion(opts.region, ctx.regions);
  const after = opts.nextToken === undefined ? undefined : decodeToken(opts.nextToken);
  const wanted = STATUS_FILTER[opts.imageStatus as ImageStatusFilter];
  const allowed: string[] = [];
  for (const ns of ctx.catalog.namespaces) if (await ctx.can('list', ns)) allowed.push(ns);
  if (allowed.length === 0) throw new ImageApiError('Forbidden', `Forbidden: you may not list customimages in ${ctx.catalog.namespaces.join(', ')}`);
  const all: ImageInfoSummary[] = [];
  for (const ns of allowed) {
    for (const img of await ctx.catalog.list(ns)) {
      const summary = summaryOf(img, ctx.defaultRegion);
      if (!img.status?.imageBuildStatus || !wanted.includes(summary.imageBuildStatus)) continue;
      if (opts.region !== undefined && summary.region !== opts.region) continue;
      all.push(summary);
    }
  }
  all.sort(compareKeys);
  // a cursor, not an offset: the page after the last key returned, stable while images come and go
  const start = after === undefined ? 0 : all.findIndex((i) => compareKeys(i, after) > 0);
  const page = start < 0 ? [] : all.slice(start, start + LIST_PAGE_SIZE);
  const last = page[page.length - 1];
  const more = start >= 0 && start + LIST_PAGE_SIZE < all.length;
  return { images: page, ...(more && last ? { nextToken: encodeToken(last) } : {}) };
}

type Key = { imageId: string; region: string };

function compareKeys(a: Key, b: Key): number {
  return a.imageId < b.imageId ? -1 : a.imageId > b.imageId ? 1 : a.region < b.region ? -1 : a.region > b.region ? 1 : 0;
}

function encodeToken(k: Key): string {
  return Buffer.from(`${k.imageId}\n${k.region}`, 'utf8').toString('base64url');
}

/** Any string decodes to some cursor; one this API never gave out just starts somewhere harmless. */
function decodeToken(token: string): Key {
  const [imageId = '', region = ''] = Buffer.from(token, 'base64url').toString('utf8').split('\n');
  return { imageId, region };
}
