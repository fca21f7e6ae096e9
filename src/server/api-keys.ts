/**
 * The configured API keys and their optional client secrets. Up to two pairs are valid at once so keys
 * (or just secrets) can be rotated without downtime: GENESYS_API_KEY/GENESYS_CLIENT_SECRET and
 * GENESYS_API_KEY_2/GENESYS_CLIENT_SECRET_2.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { ConfigError, type ServerCoreEnv } from '../config/env.js';
import { decodeClientSecret } from '../audiohook/signature.js';

export interface ApiKeyConfig {
  apiKey: string;
  /** The client secret as Genesys shows it (base64). Absent: requests with this key need no signature. */
  secretBase64?: string;
}

export interface ApiKeyEntry {
  apiKey: string;
  /** The HMAC key (decoded secret), or undefined when the key has no secret. */
  secret: Buffer | undefined;
}

type KeyEnv = Pick<ServerCoreEnv, 'GENESYS_API_KEY' | 'GENESYS_CLIENT_SECRET' | 'GENESYS_API_KEY_2' | 'GENESYS_CLIENT_SECRET_2'>;

export function apiKeysFromEnv(env: KeyEnv): ApiKeyConfig[] {
  const keys: ApiKeyConfig[] = [{ apiKey: env.GENESYS_API_KEY, secretBase64: env.GENESYS_CLIENT_SECRET }];
  if (env.GENESYS_API_KEY_2 !== undefined) {
    keys.push({ apiKey: env.GENESYS_API_KEY_2, secretBase64: env.GENESYS_CLIENT_SECRET_2 });
  } else if (env.GENESYS_CLIENT_SECRET_2 !== undefined) {
    throw new ConfigError(['GENESYS_CLIENT_SECRET_2 is set but GENESYS_API_KEY_2 is not (they form a pair)']);
  }
  return keys;
}

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/** Looks API keys up without revealing, by timing, which keys exist or how long they are. */
export class ApiKeyRing {
  private readonly entries: { entry: ApiKeyEntry; hash: Buffer }[];

  constructor(keys: readonly ApiKeyConfig[]) {
    if (keys.length === 0) throw new Error('at least one API key is required');
    this.entries = keys.map((k) => ({
      entry: { apiKey: k.apiKey, secret: k.secretBase64 === undefined ? undefined : decodeClientSecret(k.secretBase64) },
      hash: digest(k.apiKey),
    }));
  }

  /** Whether any configured key has a client secret (then unsigned requests may need a signature). */
  get anySecret(): boolean {
    return this.entries.some(({ entry }) => entry.secret !== undefined);
  }

  /**
   * Every configured entry whose key equals `presented` (the same key may appear twice while only its
   * secret rotates). Fixed-length hashes are compared against every entry, with no early exit.
   */
  match(presented: string): ApiKeyEntry[] {
    const hash = digest(presented);
    const matches: ApiKeyEntry[] = [];
    for (const { entry, hash: configured } of this.entries) {
      if (timingSafeEqual(hash, configured)) matches.push(entry);
    }
    return matches;
  }
}
