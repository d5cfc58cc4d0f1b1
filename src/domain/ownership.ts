import { TAG, type ImageObservation, type Tags } from './observation.ts';

/**
 * The guard the reference lacks: a stack, AMI or snapshot is ours only when its
 * parallelcluster:image_id tag names this image. Returns a human sentence per foreign resource.
 */
export function ownershipProblems(imageId: string, obs: ImageObservation, snapshotTags: ReadonlyMap<string, Tags>): string[] {
  const problems = [
    obs.stack ? notOwned(imageId, `stack ${obs.stack.stackName}`, obs.stack.tags) : undefined,
    obs.ami ? notOwned(imageId, `AMI ${obs.ami.amiId}`, obs.ami.tags) : undefined,
    ...(obs.ami?.snapshotIds ?? []).map((id) => {
      const tags = snapshotTags.get(id);
      return tags ? notOwned(imageId, `snapshot ${id}`, tags) : undefined;
    }),
  ];
  return problems.filter((p): p is string => p !== undefined);
}

/** Why `what` is not this image's, or undefined when its parallelcluster:image_id tag names it. */
export function notOwned(imageId: string, what: string, tags: Tags): string | undefined {
  const owner = tags[TAG.imageId];
  return owner === imageId ? undefined : `${what} is tagged ${TAG.imageId}=${owner ?? '(none)'}, not ${imageId}`;
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
