import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { startImageApiServer, type ImageApiServerOptions } from '../../src/image-api/server.ts';

// The server's own rules, with a catalog and authorizer that refuse everything.
const base = (over: Partial<ImageApiServerOptions>): ImageApiServerOptions => ({
  bindAddress: '127.0.0.1:0',
  allowInsecureHttp: false,
  catalog: { namespaces: ['ns'], list: async () => [], create: async () => Promise.reject(new Error('no')), annotate: async () => Promise.reject(new Error('no')), delete: async () => undefined },
  authorizer: { authenticate: async () => undefined, allowed: async () => false },
  defaultRegion: 'us-east-1',
  maxBodyBytes: 1024,
  regions: ['us-east-1'],
  ratePerSecond: 1,
  rateBurst: 3,
  log: pino({ level: 'silent' }),
  ...over,
});

describe('image API server', () => {
  it('refuses plain HTTP off loopback unless explicitly allowed', async () => {
    await expect(startImageApiServer(base({ bindAddress: '0.0.0.0:0' }))).rejects.toThrow(/refusing plain HTTP for the image API on 0\.0\.0\.0:0/);
    const { server } = await startImageApiServer(base({ bindAddress: '0.0.0.0:0', allowInsecureHttp: true }));
    server.close();
  });

  it('serves TLS from the given certificate and key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pio-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-keyout', join(dir, 'tls.key'), '-out', join(dir, 'tls.crt')], { stdio: 'ignore' });
    const { server, port } = await startImageApiServer(base({ bindAddress: '0.0.0.0:0', tlsCertFile: join(dir, 'tls.crt'), tlsKeyFile: join(dir, 'tls.key') }));
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/v3/images/custom/x', rejectUnauthorized: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(401);
    server.close();
  });

  it('answers 405 with Allow for other methods, 404 elsewhere, and 429 past the per-client rate', async () => {
    const { server, port } = await startImageApiServer(base({}));
    const url = `http://127.0.0.1:${port}`;
    const put = await fetch(`${url}/v3/images/custom/x`, { method: 'PUT' });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, DELETE');
    expect((await fetch(`${url}/nope`)).status).toBe(404);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await fetch(`${url}/v3/images/custom/x`)).status);
    expect(statuses.slice(0, 3)).toEqual([401, 401, 401]);
    expect(statuses.slice(3)).toEqual([429, 429]);
    server.close();
  });
});
