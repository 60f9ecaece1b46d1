// Certificates for the TLS suites, made per test process with the openssl CLI (never committed):
// a test CA; a server certificate for localhost / 127.0.0.1 / ::1 signed by it; a second one for
// SNI (sni.test); an expired one; one for the wrong host; a self-signed one; a client certificate
// (mTLS); the server key encrypted with a passphrase; and the server's key+chain as PKCS#12.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface Pem {
  key: Buffer;
  cert: Buffer;
}

export interface TlsFixtures {
  dir: string;
  ca: Pem;
  server: Pem;
  sni: Pem;
  expired: Pem;
  wrongHost: Pem;
  selfSigned: Pem;
  client: Pem;
  /** The server key encrypted with `passphrase`. */
  encryptedKey: Buffer;
  passphrase: string;
  /** The server key, certificate and the CA as PKCS#12, protected by `passphrase`. */
  pfx: Buffer;
  /** Paths, for peers that read files (Python, NODE_EXTRA_CA_CERTS). */
  files: Record<'caCert' | 'serverCert' | 'serverKey' | 'clientCert' | 'clientKey', string>;
}

let cached: TlsFixtures | undefined;

function openssl(dir: string, args: string[]): void {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.stderr}`);
}

/** Whether the openssl CLI can run (the TLS suites need it to make certificates). */
export function opensslMissing(): string | null {
  const r = spawnSync('openssl', ['version'], { encoding: 'utf8' });
  return r.status === 0 ? null : 'the openssl CLI is not installed (apt-get install openssl)';
}

export function tlsFixtures(): TlsFixtures {
  if (cached) return cached;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockudo-ws-tls-'));
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(dir, ['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=sockudo-ws test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  const leaf = (name: string, cn: string, san: string, days: string, ext = 'serverAuth') => {
    openssl(dir, ['req', '-new', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`]);
    fs.writeFileSync(path.join(dir, `${name}.ext`), `${san ? `subjectAltName=${san}\n` : ''}extendedKeyUsage=${ext}\nbasicConstraints=CA:FALSE\n`);
    openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', days,
      '-extfile', `${name}.ext`, '-out', `${name}.pem`]);
  };
  leaf('server', 'localhost', 'DNS:localhost,IP:127.0.0.1,IP:::1', '2');
  leaf('sni', 'sni.test', 'DNS:sni.test,DNS:*.sni.test', '2');
  leaf('expired', 'localhost', 'DNS:localhost,IP:127.0.0.1', '-1');
  leaf('wrong', 'wrong.example', 'DNS:wrong.example', '2');
  leaf('client', 'sockudo-ws test client', '', '2', 'clientAuth');
  openssl(dir, ['req', '-x509', ...ec, '-keyout', 'self.key', '-out', 'self.pem', '-days', '2', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1']);
  const passphrase = 'test passphrase';
  openssl(dir, ['pkey', '-in', 'server.key', '-aes256', '-passout', `pass:${passphrase}`, '-out', 'server-enc.key']);
  openssl(dir, ['pkcs12', '-export', '-inkey', 'server.key', '-in', 'server.pem', '-certfile', 'ca.pem', '-passout', `pass:${passphrase}`, '-out', 'server.p12']);
  const read = (f: string) => fs.readFileSync(path.join(dir, f));
  const pem = (name: string): Pem => ({ key: read(`${name}.key`), cert: read(`${name}.pem`) });
  cached = {
    dir,
    ca: pem('ca'),
    server: pem('server'),
    sni: pem('sni'),
    expired: pem('expired'),
    wrongHost: pem('wrong'),
    selfSigned: pem('self'),
    client: pem('client'),
    encryptedKey: read('server-enc.key'),
    passphrase,
    pfx: read('server.p12'),
    files: {
      caCert: path.join(dir, 'ca.pem'), serverCert: path.join(dir, 'server.pem'), serverKey: path.join(dir, 'server.key'),
      clientCert: path.join(dir, 'client.pem'), clientKey: path.join(dir, 'client.key'),
    },
  };
  return cached;
}
