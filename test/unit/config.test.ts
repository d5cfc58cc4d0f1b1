import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.ts';

describe('parseConfig', () => {
  it('takes flags over env over defaults', () => {
    const cfg = parseConfig(['--concurrency', '3'], { PIO_CONCURRENCY: '5', AWS_REGION: 'eu-west-1', PIO_NAMESPACE: 'team-a' });
    expect(cfg).toMatchObject({ concurrency: 3, defaultRegion: 'eu-west-1', namespace: 'team-a', resyncSeconds: 600, awsMaxAttempts: 3 });
  });
  it.each([
    [['--concurrency', '0'], /--concurrency must be a positive whole number, got "0"/],
    [['--resync-period', 'soon'], /--resync-period must be a positive whole number/],
    [['--default-region', 'mars'], /--default-region "mars" is not an AWS region name/],
    [['--log-level', 'loud'], /--log-level "loud" is not one of/],
    [['--no-such-flag'], /Unknown option '--no-such-flag'/],
  ])('rejects %j with a clear message', (argv, msg) => {
    expect(() => parseConfig(argv, {})).toThrow(msg);
  });
});
