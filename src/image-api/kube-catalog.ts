import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION, type CustomImage } from '../api/customimage.ts';
import { KubeCustomImageApi, withTimeout } from '../kube/api.ts';
import { trimForCache } from '../kube/trim.ts';
import type { ImageCatalog } from './operations.ts';

/** The catalog through the Kubernetes API, as whichever identity the KubeConfig holds. */
export class KubeImageCatalog implements ImageCatalog {
  readonly namespaces: readonly string[];
  private readonly api: CustomObjectsApi;
  private readonly images: KubeCustomImageApi;
  private readonly timeoutMs: number;

  constructor(kc: KubeConfig, namespaces: readonly string[], timeoutMs: number) {
    this.api = kc.makeApiClient(CustomObjectsApi);
    this.images = new KubeCustomImageApi(kc, { timeoutMs, fieldManager: 'pcluster-image-api' });
    this.namespaces = namespaces;
    this.timeoutMs = timeoutMs;
  }

  /** Paged and trimmed like the informer's list: every API request lists, and a namespace may hold thousands. */
  async list(namespace: string): Promise<CustomImage[]> {
    return (await this.images.list(namespace, undefined, trimForCache)).items;
  }

  async create(namespace: string, body: unknown): Promise<CustomImage> {
    return (await withTimeout(`create customimage in ${namespace}`, this.timeoutMs, this.api.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL, body }))) as CustomImage;
  }

  async annotate(namespace: string, name: string, annotations: Record<string, string>): Promise<CustomImage> {
    return (await withTimeout(
      `annotate customimage ${namespace}/${name}`,
      this.timeoutMs,
      this.api.patchNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL, name, body: { metadata: { annotations } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch)),
    )) as CustomImage;
  }

  async delete(namespace: string, name: string): Promise<CustomImage | undefined> {
    try {
      const out = (await withTimeout(`delete customimage ${namespace}/${name}`, this.timeoutMs, this.api.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL, name }))) as CustomImage | { kind?: string };
      // a finalizer holds it: the apiserver answers with the object, deletionTimestamp set
      return (out as CustomImage).spec ? (out as CustomImage) : undefined;
    } catch (e) {
      if ((e as { code?: number }).code === 404) return undefined;
      throw e;
    }
  }
}
