import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestPki {
  caCert: string;
  caKey: string;
  adminCert: string;
  adminKey: string;
  saKey: string;
  saPub: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Client certificate signed by the test CA; `groups` become O= entries (Kubernetes groups). */
export function issueClientCert(pki: TestPki, dir: string, name: string, user: string, groups: string[]): { cert: string; key: string } {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.crt`);
  const subj = `/CN=${user}` + groups.map((g) => `/O=${g}`).join('');
  openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', subj], dir);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n');
  openssl(['x509', '-req', '-in', csr, '-CA', pki.caCert, '-CAkey', pki.caKey, '-CAcreateserial', '-days', '2', '-out', cert, '-extfile', ext], dir);
  return { cert, key };
}

/** A throwaway CA, an admin (system:masters) client certificate and service-account signing keys. */
export function makeTestPki(dir: string): TestPki {
  const caKey = join(dir, 'ca.key');
  const caCert = join(dir, 'ca.crt');
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', caKey, '-out', caCert, '-days', '2', '-subj', '/CN=pio-test-ca'], dir);
  const saKey = join(dir, 'sa.key');
  const saPub = join(dir, 'sa.pub');
  openssl(['genrsa', '-out', saKey, '2048'], dir);
  openssl(['rsa', '-in', saKey, '-pubout', '-out', saPub], dir);
  const partial = { caCert, caKey, adminCert: '', adminKey: '', saKey, saPub };
  const admin = issueClientCert(partial, dir, 'admin', 'pio-admin', ['system:masters']);
  return { ...partial, adminCert: admin.cert, adminKey: admin.key };
}
