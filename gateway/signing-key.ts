/**
 * The gateway's Ed25519 signing key: read from SIGNING_KEY_FILE, or generated there (0600) on
 * first start. Processes that share a database publish every public key they sign with in the
 * `signing_keys` table, so /.well-known/jwks.json verifies receipts from any of them.
 */
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { GatewayError } from './core/errors.ts';

export function loadOrCreateSigningKey(file: string): KeyObject {
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const { privateKey } = generateKeyPairSync('ed25519');
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' });
    try {
      fs.writeFileSync(file, pem, { flag: 'wx', mode: 0o600 });
    } catch (error) {
      // Another process created it first: use theirs.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  try {
    return createPrivateKey(fs.readFileSync(file));
  } catch (error) {
    throw new GatewayError('CONFIG_INVALID', `SIGNING_KEY_FILE ${file} is not a PEM private key`, {
      cause: error,
    });
  }
}
