import { CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { GROUP, KIND, PLURAL, VERSION, type CustomImage, type CustomImageStatus } from '../api/customimage.ts';
import { KubeConflictError, KubeRequestError } from '../errors.ts';

export type JsonPatchOp = { op: 'test' | 'add' | 'replace' | 'remove'; path: string; value?: unknown };

export interface ListResult {
  items: CustomImage[];
  metadata?: { resourceVersion?: string; continue?: string };
}

/** The CustomImage calls the operator makes. Every call has a timeout and names the object in its error. */
export interface CustomImageApi {
  list(namespace: string | undefined, labelSelector: string | undefined): Promise<ListResult>;
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

  list(namespace: string | undefined, labelSelector: string | undefined): Promise<ListResult> {
    const sel = labelSelector ? { labelSelector } : {};
    return this.call(`list ${PLURAL}${namespace ? ` in ${namespace}` : ''}`, async () =>
      (namespace
        ? await this.api.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL, ...sel })
        : await this.api.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, ...sel })) as ListResult,
    );
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

