/**
 * A whole call whose flow adds a Data Action (DATA_ACTION_IDS) whose contract is not cached: the call start
 * waits for the contract (bounded, src/tools/registry.ts CONTRACT_WAIT_MS) before the model session opens.
 * The caller's audio of that wait must reach the model, in order, nothing dropped — and a call without
 * contracts to wait for must not be held up. Strict Genesys simulator ↔ serve ↔ bridge ↔ Realtime
 * emulator, Data Actions on the strict Platform API stand-in with a slow contract GET.
 */
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serve, type Service } from '../../src/cli/serve.js';
import { parseEnv } from '../../src/cli/env.js';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import type { CallScript } from '../../src/emulator/script.js';
import { createLogger } from '../../src/log/logger.js';
import { startPlatformEmulator, type EmulatedAction, type PlatformEmulator } from '../../src/platform-emulator/server.js';
import { ulawSource } from '../../src/simulator/audio-source.js';
import { createSimulatedCall, type GenesysClient } from '../../src/simulator/genesys-client.js';
import { waitFor } from './support.js';

const API_KEY = 'contract-wait-api-key-0123456789';
const SLOW = 'custom_-_5a0e0000-1111-2222-3333-444455556666';
const CONTRACT_DELAY_MS = 1500;
const logger = createLogger('silent');

const SCRIPT: CallScript = {
  name: 'contract-wait',
  greeting: { audio: { toneMs: 200 }, transcript: 'Hello.' },
  turns: [],
  textCues: [],
  fallback: { audio: { toneMs: 200 }, transcript: 'Sorry?' },
};

const slowAction = (id: string): EmulatedAction => ({
  id,
  name: `Slow Contract ${id.slice(-4)}`,
  inputSchema: { type: 'object', properties: { order_id: { type: 'string' } }, required: ['order_id'] },
  contractDelayMs: CONTRACT_DELAY_MS,
  run: () => ({ ok: true }),
});

/**
 * Quiet but distinct μ-law (codes near zero amplitude, so the emulator's VAD stays quiet), from a small
 * PRNG: no period, so a gap or a reordering shows as a mismatch.
 */
function patternedUlaw(bytes: number, seed: number): Uint8Array {
  const out = new Uint8Array(bytes);
  let x = seed;
  for (let i = 0; i < bytes; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    const level = (x >>> 16) & 0x07;
    out[i] = (x >>> 24) & 1 ? 0xff - level : 0x7f - level;
  }
  return out;
}

let emulator: Emulator;
let platform: PlatformEmulator;
let webhook: Server;
let service: Service;
const clients: GenesysClient[] = [];

beforeAll(async () => {
  emulator = await startEmulator({ script: SCRIPT, speed: 'instant', logger });
  platform = await startPlatformEmulator({
    clientId: 'client-1',
    clientSecret: 'secret-1',
    actions: [slowAction(SLOW)],
  });
  webhook = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end());
  });
  await new Promise<void>((r) => webhook.listen(0, '127.0.0.1', r));
  service = await serve(
    parseEnv({
      GENESYS_API_KEY: API_KEY,
      OPENAI_API_KEY: 'sk-emulator',
      OPENAI_BASE_URL: emulator.baseURL,
      REALTIME_CA_FILE: emulator.caPath,
      PORT: '0',
      HOST: '127.0.0.1',
      SUMMARY_WEBHOOK_URL: `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/hook`,
      GENESYS_OAUTH_CLIENT_ID: 'client-1',
      GENESYS_OAUTH_CLIENT_SECRET: 'secret-1',
      GENESYS_API_BASE_URL: platform.url,
      GENESYS_LOGIN_BASE_URL: platform.url,
    }),
    { logger, handleSignals: false },
  );
}, 30_000);

afterAll(async () => {
  for (const c of clients) c.terminate();
  await service?.server.stop(0);
  await emulator?.close();
  await platform?.close();
  await new Promise<void>((r) => webhook?.close(() => r()));
});

async function call(inputVariables: Record<string, string>): Promise<GenesysClient> {
  const client = await createSimulatedCall({ url: `ws://127.0.0.1:${service.server.port}/audiohook/bot`, apiKey: API_KEY, inputVariables });
  clients.push(client);
  return client;
}

const contractGets = (id: string) => platform.requests.filter((r) => r.method === 'GET' && r.path.endsWith(`/actions/${id}`));

describe('caller audio during the Data Action contract wait', () => {
  it('reaches the model in order, nothing dropped, once the contract has come and the session opened', async () => {
    const sessionsBefore = emulator.sessions.length;
    const client = await call({ DATA_ACTION_IDS: SLOW });
    // 2.5 s of caller audio at real pace from the moment the call is open: the first ~1.5 s arrive while
    // the bridge waits for the contract, before any model session exists.
    const sent = patternedUlaw(2500 * 8, 7);
    const streamer = client.streamAudio(ulawSource(sent), { frameMs: 20, pacing: 'realtime' });
    await waitFor(() => contractGets(SLOW).length === 1, 5000, 'the contract request');
    // The wait is real: no model session while the contract is outstanding.
    expect(emulator.sessions.length).toBe(sessionsBefore);
    const session = await emulator.waitForSession(sessionsBefore);
    const toolNames = () => ((session.config as unknown as { tools?: Array<{ name: string }> }).tools ?? []).map((t) => t.name);
    await waitFor(() => toolNames().includes('Slow_Contract_6666'), 5000, 'the Data Action among the session tools');
    const result = await streamer.done;
    expect(result.bytesSent).toBe(sent.length);
    await waitFor(() => session.inputAudioBytes().length >= sent.length, 10_000, 'all caller audio at the model').catch(() => undefined);
    expect(session.inputAudioBytes().length).toBe(sent.length);
    expect(session.inputAudioBytes().equals(Buffer.from(sent))).toBe(true);
    await client.close();
  }, 30_000);

  it('a call without contracts to wait for opens its model session at once, its audio all relayed', async () => {
    const sessionsBefore = emulator.sessions.length;
    const opened = Date.now();
    const client = await call({});
    const session = await emulator.waitForSession(sessionsBefore);
    expect(Date.now() - opened).toBeLessThan(CONTRACT_DELAY_MS);
    const sent = patternedUlaw(600 * 8, 11);
    await client.streamAudio(ulawSource(sent), { frameMs: 20, pacing: 'realtime' }).done;
    await waitFor(() => session.inputAudioBytes().length >= sent.length, 10_000, 'all caller audio at the model');
    expect(session.inputAudioBytes().equals(Buffer.from(sent))).toBe(true);
    expect(contractGets(SLOW).length).toBe(1);
    await client.close();
  }, 30_000);
});
