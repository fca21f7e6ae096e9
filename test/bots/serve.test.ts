/** The production composition (serve): BOTS_FILE validated at start-up and Connector ID routing at the upgrade. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BotsFileError } from '../../src/bots/load.js';
import { serve } from '../../src/cli/serve.js';
import { parseEnv } from '../../src/cli/env.js';
import { createLogger } from '../../src/log/logger.js';
import { API_KEY, newIds, SECRET, signedHeaders, upgrade } from '../server/support.js';

function envWith(botsYaml: string | undefined) {
  const dir = mkdtempSync(join(tmpdir(), 'bots-'));
  const file = join(dir, 'bots.yaml');
  if (botsYaml !== undefined) writeFileSync(file, botsYaml);
  return parseEnv({
    GENESYS_API_KEY: API_KEY,
    GENESYS_CLIENT_SECRET: SECRET,
    OPENAI_API_KEY: 'sk-not-used',
    OPENAI_BASE_URL: 'https://127.0.0.1:9/v1',
    PORT: '0',
    HOST: '127.0.0.1',
    ...(botsYaml !== undefined ? { BOTS_FILE: file } : {}),
  });
}

describe('serve with BOTS_FILE', () => {
  it('refuses to start on a bad bots file, naming the path', async () => {
    const env = envWith('bots:\n  sales: { tools: [crm] }\n');
    await expect(serve(env, { logger: createLogger('silent'), handleSignals: false })).rejects.toThrow(BotsFileError);
    await expect(serve(env, { logger: createLogger('silent'), handleSignals: false })).rejects.toThrow('bots.sales.tools[0]: unknown tool "crm"');
  });

  it('refuses an unknown Connector ID with 404 and accepts a known one', async () => {
    const service = await serve(envWith('bots:\n  sales: {}\n'), { logger: createLogger('silent'), handleSignals: false });
    try {
      const port = service.server.port;
      const refused = await upgrade(port, '/audiohook/crm', signedHeaders(port, newIds(), { path: '/audiohook/crm' }));
      expect(refused).toEqual({ kind: 'rejected', status: 404, body: '404 Not Found: no bot for this Connector ID\n' });
      const accepted = await upgrade(port, '/audiohook/sales', signedHeaders(port, newIds(), { path: '/audiohook/sales' }));
      expect(accepted.kind).toBe('open');
      if (accepted.kind === 'open') accepted.ws.terminate();
    } finally {
      await service.server.stop(0);
    }
  });

  it('without BOTS_FILE accepts any Connector ID, as before', async () => {
    const service = await serve(envWith(undefined), { logger: createLogger('silent'), handleSignals: false });
    try {
      const port = service.server.port;
      const accepted = await upgrade(port, '/audiohook/anything', signedHeaders(port, newIds(), { path: '/audiohook/anything' }));
      expect(accepted.kind).toBe('open');
      if (accepted.kind === 'open') accepted.ws.terminate();
    } finally {
      await service.server.stop(0);
    }
  });
});
