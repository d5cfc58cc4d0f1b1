// AWS errors sorted into what the reconciler needs to know: absent (success for a delete),
// retryable (throttling, 5xx, network), or terminal (AccessDenied and other 4xx).

export interface AwsErrorLike {
  name?: string;
  Code?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

const NOT_FOUND = new Set([
  'InvalidAMIID.NotFound',
  'InvalidAMIID.Unavailable',
  'InvalidSnapshot.NotFound',
  'NoSuchBucket',
  'NoSuchKey',
  'ResourceNotFoundException',
  'NotFound',
]);

const THROTTLING = new Set(['Throttling', 'ThrottlingException', 'RequestLimitExceeded', 'SlowDown', 'TooManyRequestsException', 'RequestThrottled', 'ProvisionedThroughputExceededException']);
const ACCESS_DENIED = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'AuthFailure', 'InvalidClientTokenId', 'ExpiredToken', 'ExpiredTokenException']);

export function errorCode(e: unknown): string {
  const err = e as AwsErrorLike;
  return err?.name ?? err?.Code ?? err?.code ?? 'Unknown';
}

export function isNotFound(e: unknown): boolean {
  const code = errorCode(e);
  if (NOT_FOUND.has(code)) return true;
  // CloudFormation answers a missing stack with a generic ValidationError
  return code === 'ValidationError' && /does not exist/.test((e as AwsErrorLike).message ?? '');
}

export function isThrottling(e: unknown): boolean {
  return THROTTLING.has(errorCode(e));
}

export function isAccessDenied(e: unknown): boolean {
  return ACCESS_DENIED.has(errorCode(e)) || (e as AwsErrorLike)?.$metadata?.httpStatusCode === 403;
}

export function isRetryable(e: unknown): boolean {
  if (isThrottling(e)) return true;
  const err = e as AwsErrorLike;
  const status = err?.$metadata?.httpStatusCode;
  if (status !== undefined && status >= 500) return true;
  if (status === undefined && !isAccessDenied(e)) return true; // network: no HTTP answer at all
  return err?.$retryable !== undefined;
}
