/** Paths of the committed test-only TLS material (fixtures/tls/, made by scripts/make-test-cert.sh). */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { REPO_ROOT } from './script.js';

export const TEST_TLS_DIR = resolve(REPO_ROOT, 'fixtures', 'tls');
export const TEST_CA_PATH = resolve(TEST_TLS_DIR, 'ca.pem');

export interface TlsMaterial {
  cert: string;
  key: string;
}

export function loadTestServerTls(): TlsMaterial {
  return {
    cert: readFileSync(resolve(TEST_TLS_DIR, 'server.pem'), 'utf8'),
    key: readFileSync(resolve(TEST_TLS_DIR, 'server-key.pem'), 'utf8'),
  };
}

export function loadTestCa(): string {
  return readFileSync(TEST_CA_PATH, 'utf8');
}
