/**
 * Issue 12, "Replies the caller never hears" and "Nothing the caller says is lost": whole calls against the
 * emulator in realistic mode (replies stream over seconds, caller transcription lands after the reply has
 * started, client-created assistant text turns replies text-only) with its faults. Each test here failed
 * against the bridge before the fix it names.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallScript } from '../../src/emulator/script.js';
import type { EmulatorSessionRecord } from '../../src/emulator/session.js';
import { ulawSilence, ulawTone } from '../../src/emulator/tone.js';
import { silenceSource, ulawSource } from '../../src/simulator/audio-source.js';
import type { GenesysClient } from '../../src/simulator/genesys-client.js';
import { clientEventTypes, sleep, startWholeCallRig, waitFor, type WholeCallRig } from './whole-call.js';

const SCRIPT: CallScript = {
  name: 'fidelity',
  greeting: { audio: { toneMs: 600 }, transcript: 'Hello, how can I help?' },
  turns: [
    { transcript: 'I would like to check my order please.', reply: { audio: { toneMs: 2000 }, transcript: 'Sure, what is the order number?' } },
    { transcript: 'It is four four one seven.', reply: { audio: { toneMs: 1200 }, transcript: 'Order 4417 ships tomorrow.' } },
  ],
  textCues: [
    {
      pattern: 'keypad digits: 7$',
      toolCall: { name: 'lookup_weather', arguments: { city: 'Oslo' } },
      followUp: { audio: { toneMs: 800 }, transcript: 'Sorry, I cannot check the weather.' },
    },
    {
      pattern: 'keypad digits: 8$',
      toolCall: { name: `lookup_${'x'.repeat(5000)}`, arguments: {} },
      followUp: { audio: { toneMs: 800 }, transcript: 'Sorry, I cannot do that.' },
    },
    {
      pattern: 'keypad digits: 9$',
      toolCall: { name: 'end_call', arguments: { reason: 'caller_done' } },
      followUp: { audio: { toneMs: 800 }, transcript: 'Auf Wiederhören!' },
    },
  ],
  fallback: { audio: { toneMs: 700 }, transcript: 'Could you say that again?' },
};

let rig: WholeCallRig;

beforeAll(async () => {
  rig = await startWholeCallRig({ script: SCRIPT, emulator: { realistic: true } });
});
afterAll(async () => {
  await rig?.close();
});

/** Caller "speech": a loud tone the emulator's VAD takes as one utterance. */
function speech(ms: number): Uint8Array {
  const parts = [ulawSilence(200), ulawTone(ms, 300, 9000)];
  const out = new Uint8Array(parts[0]!.length + parts[1]!.length);
  out.set(parts[0]!, 0);
  out.set(parts[1]!, parts[0]!.length);
  return out;
}

const received = (c: GenesysClient) => c.report().receivedFrames.reduce((n, f) => n + f.bytes, 0);
const metric = async (code: string) => {
  const m = new RegExp(`^audiohook_model_errors_total\\{code="${code}"\\} (\\d+)$`, 'm').exec(await rig.metrics.render());
  return m ? Number(m[1]) : 0;
};

/** A call with the greeting heard and the emulator session at hand. */
async function startCall(vars: Record<string, string> = {}): Promise<{ client: GenesysClient; session: EmulatorSessionRecord }> {
  const index = rig.emulator.sessions.length;
  const client = await rig.call(vars);
  client.streamAudio(silenceSource());
  const session = await rig.nextSession(index);
  await client.waitForServerAudio(600 * 8, 15_000);
  await waitFor(() => session.responses.length >= 1, 'the greeting done', 10_000);
  return { client, session };
}

function say(client: GenesysClient, ms: number): void {
  client.streamAudio(ulawSource(speech(ms), { thenSilence: true }));
}

describe('replies the caller never hears', () => {
  it('a default-conversation reply with text but no audio is counted and recovered once with an audio-only reply', async () => {
    const { client, session } = await startCall();
    const before = await metric('text_only_reply');
    rig.emulator.faults.inject(session.id, { type: 'text_only_next_response' });
    const audioBefore = received(client);
    say(client, 800);
    await waitFor(() => session.responses.some((r) => r.kinds.includes('text')), 'the text-only reply', 10_000);
    await client.waitForServerAudio(audioBefore + 600 * 8, 15_000);
    const textOnly = session.responses.findIndex((r) => r.kinds.includes('text'));
    const recovery = session.responses[textOnly + 1]!;
    expect(recovery.request.output_modalities).toEqual(['audio']);
    expect(recovery.kinds).toEqual(['audio']);
    expect(await metric('text_only_reply')).toBe(before + 1);
    await client.close();
  });

  it('after a reconnect the conversation is replayed so the model keeps speaking (no assistant text items)', async () => {
    const { client, session } = await startCall();
    const index = rig.emulator.sessions.length;
    rig.emulator.faults.inject(session.id, { type: 'close', code: 1011 });
    const second = await rig.nextSession(index, 10_000);
    await waitFor(() => second.clientEvents.some((e) => e.type === 'input_audio_buffer.append'), 'the new session ready');
    const audioBefore = received(client);
    say(client, 800);
    await client.waitForServerAudio(audioBefore + 1000 * 8, 15_000);
    expect(second.responses.every((r) => !r.kinds.includes('text'))).toBe(true);
    expect(second.conversation.filter((e) => e.role === 'assistant' && e.audioMs === null)).toHaveLength(0);
    await client.close();
  });

  it('an incomplete reply (content_filter) is counted with its reason and the caller gets another reply', async () => {
    const { client, session } = await startCall();
    const before = await metric('incomplete_content_filter');
    rig.emulator.faults.inject(session.id, { type: 'incomplete_next_response', reason: 'content_filter', afterFraction: 0.2 });
    say(client, 800);
    await waitFor(() => session.responses.some((r) => r.status === 'incomplete'), 'the incomplete reply', 10_000);
    const incomplete = session.responses.findIndex((r) => r.status === 'incomplete');
    await waitFor(() => session.responses.length > incomplete + 1, 'a follow-up reply', 10_000);
    expect(session.responses[incomplete + 1]).toMatchObject({ status: 'completed', kinds: ['audio'] });
    expect(await metric('incomplete_content_filter')).toBe(before + 1);
    expect(rig.logs.some((l) => l['sessionId'] === client.sessionId && l['reason'] === 'content_filter')).toBe(true);
    await client.close();
  });

  it('a tool the bridge does not know gets an error output and a follow-up reply', async () => {
    const { client, session } = await startCall();
    const audioBefore = received(client);
    client.sendDtmf('7#');
    await waitFor(() => session.conversation.some((e) => e.type === 'function_call_output'), 'the tool output', 10_000);
    expect(session.conversation.find((e) => e.type === 'function_call_output')!.text).toContain('lookup_weather');
    await client.waitForServerAudio(audioBefore + 800 * 8, 15_000);
    expect(session.responses.at(-1)).toMatchObject({ status: 'completed', kinds: ['audio'] });
    await client.close();
  });

  it("an unknown tool's name (the model's, so the caller's to steer) is cut before it reaches a log or the model", async () => {
    const { client, session } = await startCall();
    client.sendDtmf('8#');
    await waitFor(() => session.conversation.some((e) => e.type === 'function_call_output'), 'the tool output', 10_000);
    const output = session.conversation.find((e) => e.type === 'function_call_output')!.text ?? '';
    expect(output).toContain('lookup_x');
    expect(output.length).toBeLessThan(200);
    const warned = rig.logs.filter((l) => l['sessionId'] === client.sessionId && l['msg'] === 'model called an unknown tool');
    expect(warned).toHaveLength(1);
    expect(String(warned[0]!['tool']).length).toBe(64);
    await client.close();
  });

  it("the farewell keeps the call's instructions (persona and language)", async () => {
    const { client, session } = await startCall({ AI_SYSTEM_PROMPT: 'Du bist Anna von ACME.', AI_LANGUAGE: 'de-DE' });
    client.sendDtmf('9#');
    const disconnect = await client.nextMessage('disconnect', 20_000);
    expect(disconnect.parameters.reason).toBe('completed');
    const farewell = session.responses.find((r) => r.request.metadata?.['purpose'] === 'farewell')!;
    expect(farewell.request.instructions).toContain('Du bist Anna von ACME.');
    expect(farewell.request.instructions).toContain(session.config.instructions);
    expect(farewell.request.instructions).toMatch(/goodbye/i);
    await client.waitForEnd(10_000);
  });
});

describe('nothing the caller says is lost', () => {
  it('at hang-up mid-utterance the input buffer is committed before the summary, so the last words reach it', async () => {
    const { client, session } = await startCall();
    client.streamAudio(ulawSource(speech(4000)));
    await waitFor(() => session.serverEvents.some((e) => e.type === 'input_audio_buffer.speech_started'), 'speech started', 10_000);
    await sleep(600);
    await client.close('end');
    const record = await rig.recordFor(client);
    const types = clientEventTypes(session);
    expect(types).toContain('input_audio_buffer.commit');
    expect(types.indexOf('input_audio_buffer.commit')).toBeLessThan(types.lastIndexOf('response.create'));
    expect(JSON.stringify(record.summary)).toContain('I would like to check my order please.');
    expect(record.transcript.map((t) => t.text)).toContain('I would like to check my order please.');
  });

  it('a Genesys pause mid-utterance drops the half-utterance (no turn); after resume the caller is answered normally', async () => {
    const { client, session } = await startCall();
    client.streamAudio(ulawSource(speech(2000), { thenSilence: true }));
    await waitFor(() => session.serverEvents.some((e) => e.type === 'input_audio_buffer.speech_started'), 'speech started', 10_000);
    // A secure pause while the caller talks: the rest of the utterance goes by unheard; silence after resume.
    client.pause();
    await sleep(2500);
    client.resume();
    await sleep(1500);
    expect(session.serverEvents.filter((e) => e.type === 'input_audio_buffer.committed')).toHaveLength(0);
    expect(clientEventTypes(session)).toContain('input_audio_buffer.clear');
    expect(session.responses).toHaveLength(1); // the greeting only
    const audioBefore = received(client);
    say(client, 800);
    await client.waitForServerAudio(audioBefore + 1500 * 8, 15_000);
    expect(session.conversation.some((e) => e.role === 'user' && e.text === 'I would like to check my order please.')).toBe(true);
    await client.close();
    client.assertNoViolations();
  });

  it('a failed caller transcription is counted and logged', async () => {
    const { client, session } = await startCall();
    const before = await metric('transcription_failed');
    rig.emulator.faults.inject(session.id, { type: 'fail_transcription' });
    say(client, 800);
    await waitFor(() => session.serverEvents.some((e) => e.type === 'conversation.item.input_audio_transcription.failed'), 'the failure', 10_000);
    await waitFor(() => rig.logs.some((l) => l['sessionId'] === client.sessionId && l.msg === 'caller transcription failed'), 'the log line', 5000);
    expect(await metric('transcription_failed')).toBe(before + 1);
    await client.close();
  });

  it('a transcript arriving after the reply lands in its turn, and transcription usage is in the record', async () => {
    const { client, session } = await startCall();
    say(client, 800);
    await waitFor(() => session.responses.length >= 2, 'the reply', 10_000);
    const created = session.serverEvents.findIndex((e) => e.type === 'response.created' && session.serverEvents.indexOf(e) > 0);
    await waitFor(() => session.serverEvents.some((e) => e.type === 'conversation.item.input_audio_transcription.completed'), 'the transcript', 5000);
    // Realistic timing: the caller's transcript came after the reply had started.
    expect(session.serverEvents.findIndex((e) => e.type === 'conversation.item.input_audio_transcription.completed')).toBeGreaterThan(created);
    await sleep(300);
    await client.close();
    const record = await rig.recordFor(client);
    expect(record.transcript.map((t) => `${t.role}: ${t.text}`)).toEqual([
      'bot: Hello, how can I help?',
      'caller: I would like to check my order please.',
      'bot: Sure, what is the order number?',
    ]);
    expect(record.usage).toMatchObject({ transcriptions: 1, transcriptionInputTokens: expect.any(Number) });
    expect((record.usage as { transcriptionInputTokens: number }).transcriptionInputTokens).toBeGreaterThan(0);
  });

  it('a reconnect right after the caller spoke (transcript not arrived) still answers that turn', async () => {
    const { client, session } = await startCall();
    const index = rig.emulator.sessions.length;
    rig.emulator.faults.inject(session.id, { type: 'close', code: 1011, afterServerEvent: 'input_audio_buffer.committed' });
    say(client, 800);
    const second = await rig.nextSession(index, 10_000);
    const audioBefore = received(client);
    await waitFor(() => second.responses.length >= 1, 'a reply in the new session', 10_000);
    expect(second.responses[0]!.kinds).toEqual(['audio']);
    await client.waitForServerAudio(audioBefore + 500 * 8, 15_000);
    expect(second.conversation.find((e) => e.role === 'system')!.text).toMatch(/repeat/);
    await client.close();
  });
});

describe('the max-duration goodbye', () => {
  let capped: WholeCallRig;
  beforeAll(async () => {
    capped = await startWholeCallRig({ script: SCRIPT, emulator: { realistic: true }, env: { MAX_CALL_DURATION: '2' } });
  });
  afterAll(async () => {
    await capped?.close();
  });

  it("keeps the call's instructions (persona and language)", async () => {
    const index = capped.emulator.sessions.length;
    const client = await capped.call({ AI_SYSTEM_PROMPT: 'Du bist Anna von ACME.', AI_LANGUAGE: 'de-DE' });
    client.streamAudio(silenceSource());
    const session = await capped.nextSession(index);
    const disconnect = await client.nextMessage('disconnect', 20_000);
    expect(disconnect.parameters).toMatchObject({ reason: 'completed', info: 'max_call_duration' });
    const farewell = session.responses.find((r) => r.request.metadata?.['purpose'] === 'farewell')!;
    expect(farewell.request.instructions).toContain(session.config.instructions);
    expect(farewell.request.instructions).toMatch(/maximum length/);
    await client.waitForEnd(10_000);
  });
});
