import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, onExit, startManaged, waitFor, type Managed } from './processes.ts';

export const FASTER_LOOKUPS_SERVER = join(import.meta.dirname, 'moto', 'faster_lookups_server.py');
const INSTALL_HINT = "moto's server is required for the AWS emulator: install it with `pip install 'moto[server]'` (Python 3.9+), so that `moto_server` is on PATH";

/** Stock moto, or (for the benchmarks) moto with two lookups made proportional: test/env/moto/faster_lookups_server.py. */
function motoCommand(fasterLookups: boolean): { cmd: string; args: string[] } {
  const pythonHasMoto = () => spawnSync('python3', ['-c', 'import moto.server, flask'], { encoding: 'utf8' }).status === 0;
  if (fasterLookups) {
    if (pythonHasMoto()) return { cmd: 'python3', args: [FASTER_LOOKUPS_SERVER] };
  } else {
    if (spawnSync('sh', ['-c', 'command -v moto_server'], { encoding: 'utf8' }).status === 0) return { cmd: 'moto_server', args: [] };
    if (pythonHasMoto()) return { cmd: 'python3', args: ['-m', 'moto.server'] };
  }
  throw new Error(INSTALL_HINT);
}

/** moto's AWS server on a free loopback port. */
export class Moto {
  readonly endpoint: string;
  private readonly proc: Managed;
  private readonly dir: string;

  private constructor(endpoint: string, proc: Managed, dir: string) {
    this.endpoint = endpoint;
    this.proc = proc;
    this.dir = dir;
  }

  static async start(opts: { fasterLookups?: boolean } = {}): Promise<Moto> {
    const { cmd, args } = motoCommand(opts.fasterLookups === true);
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'pio-moto-'));
    onExit(() => rmSync(dir, { recursive: true, force: true }));
    // without moto's ~1,200 default public AMIs, every DescribeImages is not a scan of all of them
    // (with them, moto served under 10 requests per second once it held a few hundred images)
    const proc = startManaged('moto_server', cmd, [...args, '-H', '127.0.0.1', '-p', String(port)], join(dir, 'moto.log'), { ...process.env, MOTO_EC2_LOAD_DEFAULT_AMIS: 'false' });
    const endpoint = `http://127.0.0.1:${port}`;
    await waitFor('moto_server', async () => (await fetch(`${endpoint}/moto-api/data.json`)).ok, 30_000, 150, proc);
    return new Moto(endpoint, proc, dir);
  }

  /** Forgets every resource in every service. */
  async reset(): Promise<void> {
    const res = await fetch(`${this.endpoint}/moto-api/reset`, { method: 'POST' });
    if (!res.ok) throw new Error(`moto reset failed: HTTP ${res.status}`);
  }

  async stop(): Promise<void> {
    await this.proc.stop('SIGTERM', 3000);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
