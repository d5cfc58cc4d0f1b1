import { TAG, type ImageObservation, type Tags } from './observation.ts';

/**
 * The guard the reference lacks: a stack, AMI or snapshot is ours only when its
 * parallelcluster:image_id tag names this image. Returns a human sentence per foreign resource.
 */
export function ownershipProblems(imageId: string, obs: ImageObservation, snapshotTags: ReadonlyMap<string, Tags>): string[] {
  const problems: string[] = [];
  const owner = (tags: Tags): string | undefined => tags[TAG.imageId];
  if (obs.stack && owner(obs.stack.tags) !== imageId) {
    problems.push(`stack ${obs.stack.stackName} is tagged ${TAG.imageId}=${owner(obs.stack.tags) ?? '(none)'}, not ${imageId}`);
  }
  if (obs.ami && owner(obs.ami.tags) !== imageId) {
    problems.push(`AMI ${obs.ami.amiId} is tagged ${TAG.imageId}=${owner(obs.ami.tags) ?? '(none)'}, not ${imageId}`);
  }
  for (const id of obs.ami?.snapshotIds ?? []) {
    const tags = snapshotTags.get(id);
    if (tags && owner(tags) !== imageId) problems.push(`snapshot ${id} is tagged ${TAG.imageId}=${owner(tags) ?? '(none)'}, not ${imageId}`);
  }
  return problems;
}

/**
 * The S3 prefix the artifacts live under, or undefined when the tag does not look like
 * ParallelCluster's `parallelcluster/<version>/images/<imageId>-<suffix>`: a blank or short
 * prefix would otherwise delete far more than this image's artifacts.
 */
export function artifactPrefix(imageId: string, imageDir: string | undefined): string | undefined {
  if (!imageDir) return undefined;
  const dir = imageDir.replace(/\/+$/, '');
  const m = /^(?:[^/]+\/)*parallelcluster\/[^/]+\/images\/([^/]+)$/.exec(dir);
  if (!m) return undefined;
  const leaf = m[1]!;
  if (leaf.toLowerCase() !== imageId.toLowerCase() && !leaf.toLowerCase().startsWith(`${imageId.toLowerCase()}-`)) return undefined;
  return `${dir}/`;
}
