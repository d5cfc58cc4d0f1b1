import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface ProbeState {
  /** Live unless the process is wedged: answering at all is the signal. */
  ready(): boolean;
}

/** Parses "host:port" / ":port" (as controller-runtime's bind-address flags). */
export function parseBindAddress(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(':');
  if (i < 0) throw new Error(`bind address "${addr}" must be host:port or :port`);
  const host = addr.slice(0, i) || '0.0.0.0';
  const port = Number(addr.slice(i + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`bind address "${addr}" has no valid port`);
  return { host: host.replace(/^\[|\]$/g, ''), port };
}

/** /metrics, /healthz and /readyz on one small server. */
export async function startObservabilityServer(addr: string, registry: Registry, probes: ProbeState): Promise<{ server: Server; port: number }> {
  const { host, port } = parseBindAddress(addr);
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (e: unknown) => res.writeHead(500).end(String(e)),
      );
      return;
    }
    if (path === '/healthz' || path === '/livez') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      return;
    }
    if (path === '/readyz') {
      const ok = probes.ready();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ok' : 'informer not synced');
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  });
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return { server, port: (server.address() as AddressInfo).port };
}
