/** The emulator as an Azure OpenAI resource refuses what Azure refuses (raw handshakes, no SDK). */
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createLogger } from '../../src/log/logger.js';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { TEST_CA_PATH } from '../../src/emulator/tls-fixtures.js';

const ca = [...rootCertificates, readFileSync(TEST_CA_PATH, 'utf8')];
const KEY = 'azure-key-0123456789';
let emulator: Emulator;

beforeAll(async () => {
  emulator = await startEmulator({ azure: { deployments: ['rt-prod'], apiKeys: [KEY] }, speed: 'instant', logger: createLogger('silent') });
});
afterAll(async () => {
  await emulator?.close();
});

function handshake(path: string, headers: Record<string, string>): Promise<{ status: number; body: { error: { code: string; message: string } } | null }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`wss://127.0.0.1:${emulator.port}${path}`, { ca, headers });
    ws.on('open', () => {
      ws.close();
      resolve({ status: 101, body: null });
    });
    ws.on('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as { error: { code: string; message: string } } }));
    });
    ws.on('error', (err) => {
      if (!/Unexpected server response/.test(err.message)) reject(err);
    });
  });
}

describe('emulator as an Azure resource', () => {
  it('accepts the GA path with the deployment and an api-key', async () => {
    expect((await handshake('/openai/v1/realtime?model=rt-prod', { 'api-key': KEY })).status).toBe(101);
  });

  it("refuses OpenAI's path, the retired preview path, and a Bearer OpenAI key", async () => {
    expect((await handshake('/v1/realtime?model=rt-prod', { 'api-key': KEY })).status).toBe(404);
    expect((await handshake('/openai/realtime?api-version=2025-04-01-preview&deployment=rt-prod', { 'api-key': KEY })).status).toBe(404);
    const bearer = await handshake('/openai/v1/realtime?model=rt-prod', { Authorization: `Bearer ${KEY}` });
    expect(bearer.status).toBe(401);
    expect(bearer.body!.error.code).toBe('401');
  });

  it('refuses a missing or wrong key, an api-version on the v1 path, and an unknown deployment', async () => {
    expect((await handshake('/openai/v1/realtime?model=rt-prod', {})).status).toBe(401);
    const wrong = await handshake('/openai/v1/realtime?model=rt-prod', { 'api-key': 'nope-nope-nope' });
    expect(wrong.status).toBe(401);
    expect(wrong.body!.error.message).not.toContain('nope-nope-nope');
    expect((await handshake('/openai/v1/realtime?model=rt-prod&api-version=2025-04-01-preview', { 'api-key': KEY })).status).toBe(400);
    const missing = await handshake('/openai/v1/realtime?model=gpt-realtime-2.1', { 'api-key': KEY });
    expect(missing.status).toBe(404);
    expect(missing.body!.error.code).toBe('DeploymentNotFound');
  });
});
