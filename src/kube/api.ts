import { CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { GROUP, KIND, PLURAL, VERSION, type CustomImage, type CustomImageStatus } from '../api/customimage.ts';
import { KubeConflictError, KubeRequestError } from '../errors.ts';

export type JsonPatchOp = { op: 'test' | 'add' | 'replace' | 'remove'; path: string; value?: unknown };

/** Bounds the list's peak memory: at 10,000 CustomImages one unpaged answer is ~30 MB of JSON. */
export const LIST_PAGE_SIZE = 500;

export interface ListResult {
  items: CustomImage[];
  metadata?: { resourceVersion?: string; continue?: string };
}

/** The CustomImage calls the operator makes. Every call has a timeout and names the object in its error. */
export interface CustomImageApi {
  /**
   * Every CustomImage, in pages of LIST_PAGE_SIZE (one consistent snapshot: the pages share the
   * first page's resourceVersion); `keep` trims each item as its page arrives, so the untrimmed
   * objects of only one page are alive at a time.
   */
  list(namespace: string | undefined, labelSelector: string | undefined, keep?: (o: CustomImage) => CustomImage): Promise<ListResult>;
  /** JSON patch on the object (metadata); a failed `test` or resourceVersion is a KubeConflictError. */
  patch(namespace: string, name: string, ops: JsonPatchOp[]): Promise<CustomImage>;
  /** Replaces status through the status subresource. */
  replaceStatus(namespace: string, name: string, status: CustomImageStatus): Promise<CustomImage>;
}

function statusCode(e: unknown): number | undefined {
  const x = e as { code?: number; statusCode?: number };
  return typeof x?.code === 'number' ? x.code : x?.statusCode;
}

export async function withTimeout<T>(what: string, ms: number, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new KubeRequestError(`${what}: timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function wrap(what: string, e: unknown): Error {
  const code = statusCode(e);
  const body = (e as { body?: unknown })?.body;
  const detail = typeof body === 'string' ? body : body ? JSON.stringify(body) : (e as Error)?.message;
  // 409: resourceVersion conflict; 422 with "test": a JSON-patch test op failed (someone else changed it)
  if (code === 409 || (code === 422 && /test/i.test(String(detail)))) return new KubeConflictError(`${what}: conflict: ${detail}`, { cause: e });
  return new KubeRequestError(`${what}: HTTP ${code ?? '?'}: ${detail}`, code, { cause: e });
}

export class KubeCustomImageApi implements CustomImageApi {
  private readonly api: CustomObjectsApi;
  private readonly timeoutMs: number;
  private readonly fieldManager: string;

  constructor(kc: KubeConfig, opts: { timeoutMs: number; fieldManager: string }) {
    this.api = kc.makeApiClient(CustomObjectsApi);
    this.timeoutMs = opts.timeoutMs;
    this.fieldManager = opts.fieldManager;
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await withTimeout(what, this.timeoutMs, fn());
    } catch (e) {
      if (e instanceof KubeRequestError || e instanceof KubeConflictError) throw e;
      throw wrap(what, e);
    }
  }

  async list(namespace: string | undefined, labelSelector: string | undefined, keep: (o: CustomImage) => CustomImage = (o) => o): Promise<ListResult> {
    const what = `list ${PLURAL}${namespace ? ` in ${namespace}` : ''}`;
    const items: CustomImage[] = [];
    let resourceVersion: string | undefined;
    let cont: string | undefined;
    do {
      const q = { group: GROUP, version: VERSION, plural: PLURAL, limit: LIST_PAGE_SIZE, ...(labelSelector ? { labelSelector } : {}), ...(cont ? { _continue: cont } : {}) };
      const page = await this.call(what, async () => (namespace ? await this.api.listNamespacedCustomObject({ ...q, namespace }) : await this.api.listClusterCustomObject(q)) as ListResult);
      for (const o of page.items) items.push(keep(o));
      resourceVersion ??= page.metadata?.resourceVersion;
      cont = page.metadata?.continue || undefined;
    } while (cont);
    return { items, metadata: resourceVersion ? { resourceVersion } : {} };
  }

  patch(namespace: string, name: string, ops: JsonPatchOp[]): Promise<CustomImage> {
    return this.call(`patch ${KIND} ${namespace}/${name}`, async () =>
      (await this.api.patchNamespacedCustomObject(
        { group: GROUP, version: VERSION, namespace, plural: PLURAL, name, body: ops, fieldManager: this.fieldManager },
        setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
      )) as CustomImage,
    );
  }

  replaceStatus(namespace: string, name: string, status: CustomImageStatus): Promise<CustomImage> {
    const ops: JsonPatchOp[] = [{ op: 'add', path: '/status', value: status }];
    return this.call(`update status of ${KIND} ${namespace}/${name}`, async () =>
      (await this.api.patchNamespacedCustomObjectStatus(
        { group: GROUP, version: VERSION, namespace, plural: PLURAL, name, body: ops, fieldManager: this.fieldManager },
        setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
      )) as CustomImage,
    );
  }
}

