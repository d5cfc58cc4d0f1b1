// The CLI: delete-image, describe-image, list-images against the Kubernetes API through the
// kubeconfig, printing the same JSON as the HTTP API (ParallelCluster's REST shape, camelCase).

import type { KubeConfig } from '@kubernetes/client-node';
import { loadKubeConfig } from './kube/kubeconfig.ts';
import { parseArgs } from 'node:util';
import type { CustomImage } from './api/customimage.ts';
import { getCondition } from './api/conditions.ts';
import { userContext } from './image-api/user-context.ts';
import { deleteImage, describeImage, ImageApiError, isImage, listImages, type OperationContext } from './image-api/operations.ts';

/** Exit codes a script can rely on. */
export const EXIT = { ok: 0, failed: 1, usage: 2, notFound: 3, forbidden: 4, conflict: 5, blocked: 6, timeout: 7 } as const;

const BLOCKING = new Set(['ImageInUse', 'ImageShared', 'OwnershipMismatch', 'AccessDenied']);

export const CLI_USAGE = `pcluster-image-operator delete-image   --image-id ID [--region R] [--force] [--wait [--timeout S]]
pcluster-image-operator describe-image --image-id ID [--region R]
pcluster-image-operator list-images    --image-status AVAILABLE|PENDING|FAILED [--region R] [--next-token T]

Common: --kubeconfig PATH (else KUBECONFIG, ~/.kube/config), --namespace NS[,NS…] (else the context's),
        --default-region R (the operator's default region; else AWS_REGION, us-east-1)
Prints the ParallelCluster REST JSON on stdout. Exit codes: 0 ok, 2 bad request, 3 not found,
4 unauthorized or forbidden, 5 several images match, 6 deletion blocked (--wait), 7 --wait timed out, 1 other.`;

interface Io {
  out(s: string): void;
  err(s: string): void;
}

function exitFor(e: ImageApiError): number {
  switch (e.kind) {
    case 'BadRequest':
      return EXIT.usage;
    case 'NotFound':
      return EXIT.notFound;
    case 'Unauthorized':
    case 'Forbidden':
      return EXIT.forbidden;
    case 'Conflict':
      return EXIT.conflict;
    default:
      return EXIT.failed;
  }
}

/** Kubernetes errors made by the user's own identity become the API's error kinds. */
function fromKube(e: unknown): unknown {
  const code = (e as { code?: number }).code;
  if (code === 401) return new ImageApiError('Unauthorized', 'Unauthorized: the kubeconfig\'s credentials were rejected');
  if (code === 403) return new ImageApiError('Forbidden', `Forbidden: ${String((e as { body?: unknown }).body ?? (e as Error).message).slice(0, 300)}`);
  return e;
}

export async function runCli(command: string, argv: string[], io: Io = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) }): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        'image-id': { type: 'string' },
        region: { type: 'string' },
        force: { type: 'boolean' },
        wait: { type: 'boolean' },
        timeout: { type: 'string' },
        'image-status': { type: 'string' },
        'next-token': { type: 'string' },
        kubeconfig: { type: 'string' },
        namespace: { type: 'string' },
        'default-region': { type: 'string' },
        help: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    io.err(`${(e as Error).message}\n\n${CLI_USAGE}\n`);
    return EXIT.usage;
  }
  if (values.help) {
    io.out(`${CLI_USAGE}\n`);
    return EXIT.ok;
  }
  let kc: KubeConfig;
  try {
    kc = loadKubeConfig(values.kubeconfig);
  } catch (e) {
    io.err(`cannot load kubeconfig: ${(e as Error).message}\n`);
    return EXIT.usage;
  }
  const contextNs = kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';
  const namespaces = (values.namespace ?? contextNs).split(',').map((s) => s.trim()).filter(Boolean);
  const ctx = userContext(kc, namespaces, values['default-region'] ?? process.env.AWS_REGION ?? 'us-east-1');
  const region = values.region;
  const print = (v: unknown): void => io.out(`${JSON.stringify(v, null, 2)}\n`);
  try {
    switch (command) {
      case 'delete-image': {
        const imageId = values['image-id'];
        if (!imageId) throw new ImageApiError('BadRequest', 'Bad Request: --image-id is required');
        const { image } = await deleteImage(ctx, imageId, { ...(region ? { region } : {}), ...(values.force ? { force: true } : {}) });
        print({ image });
        if (!values.wait) return EXIT.ok;
        const timeoutS = Number(values.timeout ?? '1800');
        if (!Number.isFinite(timeoutS) || timeoutS <= 0) throw new ImageApiError('BadRequest', 'Bad Request: --timeout must be a positive number of seconds');
        return await follow(ctx, imageId, region, timeoutS * 1000, io);
      }
      case 'describe-image': {
        const imageId = values['image-id'];
        if (!imageId) throw new ImageApiError('BadRequest', 'Bad Request: --image-id is required');
        print(await describeImage(ctx, imageId, region ? { region } : {}));
        return EXIT.ok;
      }
      case 'list-images': {
        const imageStatus = values['image-status'];
        if (!imageStatus) throw new ImageApiError('BadRequest', 'Bad Request: --image-status is required (AVAILABLE, PENDING or FAILED)');
        print(await listImages(ctx, { imageStatus, ...(region ? { region } : {}), ...(values['next-token'] ? { nextToken: values['next-token'] } : {}) }));
        return EXIT.ok;
      }
      default:
        io.err(`unknown command ${command}\n\n${CLI_USAGE}\n`);
        return EXIT.usage;
    }
  } catch (raw) {
    const e = fromKube(raw);
    if (e instanceof ImageApiError) {
      print({ message: e.message });
      return exitFor(e);
    }
    io.err(`${command} failed: ${(e as Error).message}\n`);
    return EXIT.failed;
  }
}

/** --wait: follows the CustomImage until it is gone, printing each change of progress on stderr. */
async function follow(ctx: OperationContext, imageId: string, region: string | undefined, timeoutMs: number, io: Io): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  const started = Date.now();
  let last = '';
  for (;;) {
    const matches: CustomImage[] = [];
    for (const ns of ctx.catalog.namespaces) for (const i of await ctx.catalog.list(ns)) if (isImage(i, imageId, region, ctx.defaultRegion)) matches.push(i);
    const img = matches[0];
    const elapsed = `${Math.round((Date.now() - started) / 1000)}s`;
    if (!img) {
      io.err(`[${elapsed}] ${imageId}: DELETE_COMPLETE, gone\n`);
      return EXIT.ok;
    }
    const deleting = getCondition(img.status?.conditions, 'Deleting');
    const line = `${img.status?.imageBuildStatus ?? 'PENDING'} stack=${img.status?.cloudformationStackStatus ?? '-'}${deleting ? ` ${deleting.reason}: ${deleting.message}` : ''}`;
    if (line !== last) {
      io.err(`[${elapsed}] ${imageId}: ${line}\n`);
      last = line;
    }
    if (deleting?.status === 'False' && BLOCKING.has(deleting.reason)) return EXIT.blocked;
    if (Date.now() > deadline) {
      io.err(`[${elapsed}] ${imageId}: still deleting after ${Math.round(timeoutMs / 1000)} s\n`);
      return EXIT.timeout;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}
