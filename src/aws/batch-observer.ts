import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeImagesCommand, type Image } from '@aws-sdk/client-ec2';
import { awsCall } from '../errors.ts';
import { TAG, tagsOf, type AmiObservation, type ImageObservation, type StackObservation } from '../domain/observation.ts';
import type { AwsClientPool } from './clients.ts';
import { amiFrom, imageBuilderArnPattern, type ImageStore } from './image-store.ts';

/** EC2 takes at most 200 values per filter. */
const FILTER_VALUES = 200;

export interface BatchObserverOptions {
  /** How long to collect observations before asking AWS once for all of them. */
  windowMs: number;
  /** How long one listing of all stacks serves a region (live status tolerates this staleness). */
  stackIndexTtlMs: number;
}

interface Pending {
  imageId: string;
  resolve(o: ImageObservation): void;
  reject(e: unknown): void;
}

/**
 * Live observation in bulk: observations requested within a short window are answered by one
 * DescribeImages per 200 image ids (tag filter) and a per-region index of all stacks, instead of two
 * or three calls per image. Used only for live status (resync); deletion always observes one image
 * directly and fresh.
 */
export class BatchObserver {
  private readonly pool: AwsClientPool;
  private readonly direct: ImageStore;
  private readonly opts: BatchObserverOptions;
  private readonly pending = new Map<string, Pending[]>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly stackIndex = new Map<string, { at: number; stacks: Promise<Map<string, StackObservation>> }>();

  constructor(pool: AwsClientPool, direct: ImageStore, opts: BatchObserverOptions) {
    this.pool = pool;
    this.direct = direct;
    this.opts = opts;
  }

  observe(imageId: string, region: string): Promise<ImageObservation> {
    return new Promise((resolve, reject) => {
      const list = this.pending.get(region) ?? [];
      list.push({ imageId, resolve, reject });
      this.pending.set(region, list);
      if (!this.timers.has(region)) {
        const t = setTimeout(() => void this.flush(region), this.opts.windowMs);
        t.unref();
        this.timers.set(region, t);
      }
    });
  }

  private async flush(region: string): Promise<void> {
    this.timers.delete(region);
    const batch = this.pending.get(region) ?? [];
    this.pending.delete(region);
    if (batch.length === 0) return;
    if (batch.length === 1) {
      // nothing to share: one direct observation is cheaper than a stack listing
      const p = batch[0]!;
      this.direct.observe(p.imageId, region).then(p.resolve, p.reject);
      return;
    }
    try {
      const ids = [...new Set(batch.map((p) => p.imageId))];
      const [amis, stacks] = await Promise.all([this.amis(region, ids), this.stacks(region)]);
      for (const p of batch) {
        const ami = amis.get(p.imageId);
        const stack = stacks.get(p.imageId);
        p.resolve({ imageId: p.imageId, region, ...(ami ? { ami } : {}), ...(stack ? { stack } : {}) });
      }
    } catch (e) {
      for (const p of batch) p.reject(e);
    }
  }

  private async describe(region: string, what: string, filters: { Name: string; Values: string[] }[]): Promise<Image[]> {
    const { ec2 } = this.pool.forRegion(region);
    const out: Image[] = [];
    let NextToken: string | undefined;
    do {
      const page = await awsCall('DescribeImages', `${what} in ${region}`, () => ec2.send(new DescribeImagesCommand({ Owners: ['self'], Filters: filters, ...(NextToken ? { NextToken } : {}) })));
      out.push(...(page?.Images ?? []));
      NextToken = page?.NextToken;
    } while (NextToken);
    return out;
  }

  /** Available AMIs by tag, then failed-build AMIs by Image Builder ARN for the ids still missing. */
  private async amis(region: string, ids: string[]): Promise<Map<string, AmiObservation>> {
    const found = new Map<string, AmiObservation>();
    for (let i = 0; i < ids.length; i += FILTER_VALUES) {
      const chunk = ids.slice(i, i + FILTER_VALUES);
      const images = await this.describe(region, `${chunk.length} images`, [
        { Name: `tag:${TAG.imageId}`, Values: chunk },
        { Name: `tag:${TAG.buildStatus}`, Values: ['available'] },
      ]);
      for (const img of images) {
        const id = tagsOf(img.Tags)[TAG.imageId];
        if (id && !found.has(id)) found.set(id, amiFrom(img, 'available'));
      }
    }
    const missing = ids.filter((id) => !found.has(id));
    const byLower = new Map<string, string[]>();
    for (const id of missing) byLower.set(id.toLowerCase(), [...(byLower.get(id.toLowerCase()) ?? []), id]);
    for (let i = 0; i < missing.length; i += FILTER_VALUES) {
      const chunk = missing.slice(i, i + FILTER_VALUES);
      const images = await this.describe(region, `failed-build AMIs of ${chunk.length} images`, [{ Name: `tag:${TAG.imageBuilderArn}`, Values: chunk.map((id) => imageBuilderArnPattern(region, id)) }]);
      for (const img of images) {
        const arn = tagsOf(img.Tags)[TAG.imageBuilderArn] ?? '';
        const lower = /image\/parallelclusterimage-([^/]+)\//.exec(arn)?.[1];
        const candidates = lower ? (byLower.get(lower) ?? []) : [];
        // ids that differ only in case share an ARN: the image_id tag decides, as in a direct lookup
        const id = candidates.length === 1 ? candidates[0] : candidates.find((c) => tagsOf(img.Tags)[TAG.imageId] === c);
        if (id && !found.has(id)) found.set(id, amiFrom(img, 'failed'));
      }
    }
    return found;
  }

  /** All stacks of the region by name (deleted ones left out), listed at most once per TTL. */
  private stacks(region: string): Promise<Map<string, StackObservation>> {
    const cached = this.stackIndex.get(region);
    if (cached && Date.now() - cached.at < this.opts.stackIndexTtlMs) return cached.stacks;
    const stacks = this.listStacks(region);
    this.stackIndex.set(region, { at: Date.now(), stacks });
    stacks.catch(() => this.stackIndex.delete(region));
    return stacks;
  }

  private async listStacks(region: string): Promise<Map<string, StackObservation>> {
    const { cloudformation } = this.pool.forRegion(region);
    const out = new Map<string, StackObservation>();
    let NextToken: string | undefined;
    do {
      const page = await awsCall('DescribeStacks', `all stacks in ${region}`, () => cloudformation.send(new DescribeStacksCommand({ ...(NextToken ? { NextToken } : {}) })));
      for (const s of page?.Stacks ?? []) {
        if (!s.StackName || s.StackStatus === 'DELETE_COMPLETE') continue;
        out.set(s.StackName, { stackId: s.StackId!, stackName: s.StackName, status: s.StackStatus!, ...(s.StackStatusReason ? { statusReason: s.StackStatusReason } : {}), tags: tagsOf(s.Tags) });
      }
      NextToken = page?.NextToken;
    } while (NextToken);
    return out;
  }
}
