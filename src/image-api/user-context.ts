import { AuthorizationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { loadKubeConfig } from '../kube/kubeconfig.ts';
import { GROUP, PLURAL } from '../api/customimage.ts';
import { KubeImageCatalog } from './kube-catalog.ts';
import { deleteImage, describeImage, listImages, type OperationContext } from './operations.ts';

/** Operations as the kubeconfig's own identity; permission checks are SelfSubjectAccessReviews. */
export function userContext(kc: KubeConfig, namespaces: readonly string[], defaultRegion: string, timeoutMs = 30_000): OperationContext {
  const authz = kc.makeApiClient(AuthorizationV1Api);
  return {
    catalog: new KubeImageCatalog(kc, namespaces, timeoutMs),
    defaultRegion,
    can: async (verb, namespace) => {
      const r = await authz.createSelfSubjectAccessReview({ body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { group: GROUP, resource: PLURAL, verb, namespace } } } });
      return r.status?.allowed === true;
    },
  };
}

export interface ImageClientOptions {
  /** A kubeconfig path; default: KUBECONFIG, ~/.kube/config, or in-cluster. */
  kubeconfig?: string;
  /** Namespaces to look in; default: the current context's. */
  namespaces?: string[];
  /** The operator's default region (for CustomImages without spec.region); default AWS_REGION or us-east-1. */
  defaultRegion?: string;
}

/** `const images = imageClient(); await images.deleteImage('my-image', { force: true })` */
export function imageClient(opts: ImageClientOptions = {}) {
  const kc = loadKubeConfig(opts.kubeconfig);
  const ns = opts.namespaces ?? [kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default'];
  const ctx = userContext(kc, ns, opts.defaultRegion ?? process.env.AWS_REGION ?? 'us-east-1');
  return {
    deleteImage: (imageId: string, o: { region?: string; force?: boolean } = {}) => deleteImage(ctx, imageId, o).then((r) => ({ image: r.image })),
    describeImage: (imageId: string, o: { region?: string } = {}) => describeImage(ctx, imageId, o),
    listImages: (o: { imageStatus: 'AVAILABLE' | 'PENDING' | 'FAILED'; region?: string; nextToken?: string }) => listImages(ctx, o),
  };
}
