// The reference's own sentences (pcluster delete-image / describe-image), so users and scripts
// that grep for them keep working.

export const notFoundMessage = (imageId: string): string => `No image or stack associated with ParallelCluster image id: ${imageId}.`;
export const inUseMessage = (imageId: string, instanceIds: readonly string[]): string => `Unable to delete image and stack: Image ${imageId} is used by instances [${instanceIds.join(', ')}].`;
export const sharedMessage = (imageId: string, accounts: readonly string[]): string => `Image ${imageId} is shared with accounts or group [${accounts.join(', ')}].`;
export const buildingMessage = (): string => 'Image cannot be deleted because EC2 ImageBuilder Image has a running workflow.';
