/**
 * Issue 12: a whole call on Azure OpenAI — simulator ↔ server ↔ bridge ↔ the SDK's Azure client ↔ the
 * emulator acting as an Azure resource. The environment also holds OPENAI_API_KEY and OPENAI_BASE_URL
 * (as a .env written for both providers does): Azure wins, and neither breaks the Azure client.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallScript } from '../../src/emulator/script.js';
import { silenceSource } from '../../src/simulator/audio-source.js';
import { startWholeCallRig, waitFor, type WholeCallRig } from './whole-call.js';

const SCRIPT: CallScript = {
  name: 'azure',
  greeting: { audio: { toneMs: 800 }, transcript: 'Hello from Azure.' },
  turns: [],
  textCues: [],
  fallback: { audio: { toneMs: 400 }, transcript: 'Sorry?' },
};
const KEY = 'azure-key-0123456789';

let rig: WholeCallRig;
let withTranscription: WholeCallRig;

const azureEnv = (extra: Record<string, string> = {}) => (emulator: { azureEndpoint: string }) => ({
  AZURE_OPENAI_ENDPOINT: emulator.azureEndpoint,
  AZURE_OPENAI_DEPLOYMENT: 'rt-prod',
  AZURE_OPENAI_API_KEY: KEY,
  OPENAI_MODEL: 'gpt-realtime-2',
  ...extra,
});

beforeAll(async () => {
  const emulator = { azure: { deployments: ['rt-prod', 'transcribe-prod'], apiKeys: [KEY] } };
  rig = await startWholeCallRig({ script: SCRIPT, emulator, env: azureEnv() });
  withTranscription = await startWholeCallRig({ script: SCRIPT, emulator, env: azureEnv({ INPUT_TRANSCRIPTION_MODEL: 'transcribe-prod' }) });
});
afterAll(async () => {
  await rig?.close();
  await withTranscription?.close();
});

describe('a call on Azure OpenAI', () => {
  it('connects on the deployment with transcription off by default, and the caller hears the greeting', async () => {
    const client = await rig.call();
    client.streamAudio(silenceSource());
    await client.waitForServerAudio(800 * 8, 15_000);
    const session = rig.emulator.sessions.at(-1)!;
    expect(session.path).toBe('/openai/v1/realtime');
    expect(session.model).toBe('rt-prod');
    expect(session.errors).toEqual([]);
    expect(session.config.audio.input.transcription).toBeNull();
    expect(client.report().disconnect).toBeNull();
    await client.close();
    client.assertNoViolations();
    // The record names the deployment, not OPENAI_MODEL (which Azure does not use).
    expect((await rig.recordFor(client)).model).toBe('azure:rt-prod');
  });

  it('uses INPUT_TRANSCRIPTION_MODEL as the transcription deployment when set', async () => {
    const client = await withTranscription.call();
    client.streamAudio(silenceSource());
    await client.waitForServerAudio(800 * 8, 15_000);
    const session = withTranscription.emulator.sessions.at(-1)!;
    await waitFor(() => session.config.audio.input.transcription !== null, 'transcription configured');
    expect(session.config.audio.input.transcription).toMatchObject({ model: 'transcribe-prod' });
    expect(session.errors).toEqual([]);
    await client.close();
  });
});
