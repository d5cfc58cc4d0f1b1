import type { CustomImageStatus, ImageBuildStatus } from '../api/customimage.ts';
import { TAG, type ImageObservation } from './observation.ts';

const BY_STACK_STATUS: Record<string, ImageBuildStatus> = {};
function map(status: ImageBuildStatus, stackStatuses: string[]): void {
  for (const s of stackStatuses) BY_STACK_STATUS[s] = status;
}
// The reference's table (docs/parallelcluster-image-deletion.md, "Status mapping").
map('BUILD_IN_PROGRESS', ['CREATE_IN_PROGRESS', 'UPDATE_IN_PROGRESS', 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', 'UPDATE_ROLLBACK_IN_PROGRESS', 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS', 'REVIEW_IN_PROGRESS', 'IMPORT_IN_PROGRESS', 'IMPORT_ROLLBACK_IN_PROGRESS']);
map('BUILD_FAILED', ['ROLLBACK_IN_PROGRESS', 'CREATE_FAILED', 'ROLLBACK_FAILED', 'ROLLBACK_COMPLETE', 'UPDATE_ROLLBACK_FAILED', 'UPDATE_ROLLBACK_COMPLETE', 'IMPORT_ROLLBACK_FAILED', 'IMPORT_ROLLBACK_COMPLETE']);
map('BUILD_COMPLETE', ['CREATE_COMPLETE', 'UPDATE_COMPLETE', 'IMPORT_COMPLETE']);
map('DELETE_IN_PROGRESS', ['DELETE_IN_PROGRESS']);
map('DELETE_FAILED', ['DELETE_FAILED']);
map('DELETE_COMPLETE', ['DELETE_COMPLETE']);

export function buildStatusForStack(stackStatus: string): ImageBuildStatus | undefined {
  return BY_STACK_STATUS[stackStatus];
}

/**
 * The describe-image view of an observation: what `pcluster describe-image` would report. The stack
 * decides the build status while it exists; an AMI alone means the build completed (or, for a
 * failed-build AMI, failed). Returns undefined when AWS has neither.
 */
export function describeView(obs: ImageObservation): Pick<CustomImageStatus, 'imageId' | 'region' | 'version' | 'ec2AmiInfo' | 'cloudformationStackArn' | 'cloudformationStackStatus' | 'imageBuildStatus'> | undefined {
  const { ami, stack } = obs;
  if (!ami && !stack) return undefined;
  let imageBuildStatus: ImageBuildStatus | undefined = stack ? buildStatusForStack(stack.status) : undefined;
  if (!imageBuildStatus) imageBuildStatus = ami?.kind === 'failed' ? 'BUILD_FAILED' : 'BUILD_COMPLETE';
  const version = stack?.tags[TAG.version] ?? ami?.tags[TAG.version];
  return {
    imageId: obs.imageId,
    region: obs.region,
    ...(version !== undefined ? { version } : {}),
    ...(ami
      ? {
          ec2AmiInfo: {
            amiId: ami.amiId,
            ...(ami.name !== undefined ? { amiName: ami.name } : {}),
            ...(ami.state !== undefined ? { state: ami.state } : {}),
            ...(ami.architecture !== undefined ? { architecture: ami.architecture } : {}),
            ...(ami.description !== undefined ? { description: ami.description } : {}),
          },
        }
      : {}),
    ...(stack ? { cloudformationStackArn: stack.stackId, cloudformationStackStatus: stack.status } : {}),
    imageBuildStatus,
  };
}
