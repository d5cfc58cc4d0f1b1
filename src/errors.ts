// One catalogue of the operator's errors. Each has a stable code (documented in the README's
// "Errors" table; a test checks they match) and says whether retrying can help.

import { errorCode, isAccessDenied, isNotFound, isRetryable } from './aws/errors.ts';

export const ERROR_CODES = {
  AWS_ACCESS_DENIED: 'the operator\'s AWS identity may not perform an action; fix IAM, the operator retries slowly',
  AWS_RETRYABLE: 'throttling, a 5xx or a network error from AWS after the SDK\'s own retries; retried with backoff',
  AWS_FAILED: 'AWS refused a request for another reason (a 4xx); retried with backoff, surfaced in conditions',
  KUBE_CONFLICT: 'the CustomImage changed under us (resourceVersion or JSON-patch test failed); requeued at once',
  KUBE_REQUEST_FAILED: 'a Kubernetes API request failed; retried with backoff',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class OperatorError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  constructor(code: ErrorCode, message: string, retryable: boolean, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OperatorError';
    this.code = code;
    this.retryable = retryable;
  }
}

/** An AWS call that failed, naming the action and the resource it was for. */
export class AwsActionError extends OperatorError {
  readonly action: string;
  readonly awsCode: string;
  constructor(action: string, resource: string, cause: unknown) {
    const awsCode = errorCode(cause);
    const code: ErrorCode = isAccessDenied(cause) ? 'AWS_ACCESS_DENIED' : isRetryable(cause) ? 'AWS_RETRYABLE' : 'AWS_FAILED';
    const msg = (cause as Error)?.message ?? String(cause);
    super(code, `${action} on ${resource} failed: ${awsCode}: ${msg}`, code !== 'AWS_ACCESS_DENIED', { cause });
    this.name = 'AwsActionError';
    this.action = action;
    this.awsCode = awsCode;
  }
}

export class KubeConflictError extends OperatorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('KUBE_CONFLICT', message, true, options);
    this.name = 'KubeConflictError';
  }
}

export class KubeRequestError extends OperatorError {
  readonly statusCode?: number;
  constructor(message: string, statusCode?: number, options?: { cause?: unknown }) {
    super('KUBE_REQUEST_FAILED', message, true, options);
    this.name = 'KubeRequestError';
    if (statusCode !== undefined) this.statusCode = statusCode;
  }
}

/** Runs an AWS call; NotFound becomes `undefined`, anything else an AwsActionError naming action and resource. */
export async function awsCall<T>(action: string, resource: string, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw new AwsActionError(action, resource, e);
  }
}
