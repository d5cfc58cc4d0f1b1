// The package's library surface: the ParallelCluster image operations as typed functions (shared
// by the CLI and the HTTP API), and the API types.
export { deleteImage, describeImage, listImages, ImageApiError, type DescribeImageResponse, type ImageCatalog, type ImageInfoSummary, type OperationContext } from './image-api/operations.ts';
export { KubeImageCatalog } from './image-api/kube-catalog.ts';
export * from './api/customimage.ts';
export { imageClient, userContext, type ImageClientOptions } from './image-api/user-context.ts';
