import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isAccessDenied, isNotFound, isRetryable } from '../../src/aws/errors.ts';
import { AwsActionError, ERROR_CODES } from '../../src/errors.ts';

describe('error catalogue', () => {
  it('documents every code in the README table, with the same meaning', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    for (const [code, meaning] of Object.entries(ERROR_CODES)) expect(readme, code).toContain(`| \`${code}\` | ${meaning} |`);
  });

  it.each([
    [{ name: 'RequestLimitExceeded', $metadata: { httpStatusCode: 503 } }, 'AWS_RETRYABLE', true],
    [{ name: 'Throttling', $metadata: { httpStatusCode: 400 } }, 'AWS_RETRYABLE', true],
    [{ name: 'InternalError', $metadata: { httpStatusCode: 500 } }, 'AWS_RETRYABLE', true],
    [{ name: 'UnauthorizedOperation', $metadata: { httpStatusCode: 403 } }, 'AWS_ACCESS_DENIED', false],
    [{ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }, 'AWS_ACCESS_DENIED', false],
    [{ name: 'InvalidParameterValue', $metadata: { httpStatusCode: 400 } }, 'AWS_FAILED', true],
  ])('sorts %o as %s', (cause, code, retryable) => {
    const e = new AwsActionError('DeleteStack', 'stack x', Object.assign(new Error('m'), cause));
    expect(e.code).toBe(code);
    expect(e.retryable).toBe(retryable);
    expect(e.message).toMatch(/^DeleteStack on stack x failed: /);
  });

  it('treats the services\' NotFound answers as absence', () => {
    expect(isNotFound({ name: 'ValidationError', message: 'Stack with id x does not exist' })).toBe(true);
    expect(isNotFound({ name: 'ValidationError', message: 'Template format error' })).toBe(false);
    expect(isNotFound({ name: 'InvalidSnapshot.NotFound' })).toBe(true);
    expect(isNotFound({ name: 'ResourceNotFoundException' })).toBe(true);
    expect(isRetryable({ name: 'TimeoutError' })).toBe(true);
    expect(isAccessDenied({ name: 'Foo', $metadata: { httpStatusCode: 403 } })).toBe(true);
  });
});
