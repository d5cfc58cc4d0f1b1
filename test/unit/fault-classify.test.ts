import { describe, expect, it } from 'vitest';
import { classify } from '../../test/env/fault-proxy.ts';

const auth = (svc: string) => `AWS4-HMAC-SHA256 Credential=AKID/20261204/us-east-1/${svc}/aws4_request, SignedHeaders=host, Signature=x`;

describe('fault layer request classification', () => {
  it('reads query-protocol actions from the form body', () => {
    const c = classify({ method: 'POST', url: '/', headers: { authorization: auth('ec2'), 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' } }, Buffer.from('Action=DeregisterImage&ImageId=ami-1'));
    expect(c.service).toBe('ec2');
    expect(c.action).toBe('DeregisterImage');
    expect(c.params.get('ImageId')).toBe('ami-1');
  });
  it('reads JSON-protocol actions from X-Amz-Target', () => {
    expect(classify({ method: 'POST', url: '/', headers: { authorization: auth('logs'), 'x-amz-target': 'Logs_20140328.DeleteLogGroup' } }, Buffer.alloc(0)).action).toBe('DeleteLogGroup');
  });
  it('names S3 REST operations', () => {
    const s3 = (method: string, url: string) => classify({ method, url, headers: { authorization: auth('s3') } }, Buffer.alloc(0)).action;
    expect(s3('GET', '/bucket?versions&prefix=a%2F')).toBe('ListObjectVersions');
    expect(s3('POST', '/bucket?delete')).toBe('DeleteObjects');
    expect(s3('PUT', '/bucket/key')).toBe('PutObject');
    expect(s3('PUT', '/bucket')).toBe('CreateBucket');
  });
});
