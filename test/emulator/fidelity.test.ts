/**
 * The emulator as messy as the real API (issue 12): event order, ids, async and failing transcription,
 * rate-limit events and messages, text-only and incomplete replies, items the API refuses.
 */
import { describe, expect, it } from 'vitest';
import { formatRetryAfter, REALISTIC, TIDY } from '../../src/emulator/realism.js';
import { parseRetryAfterMs } from '../../src/realtime/backoff.js';
import { createHarness, PCMU_SESSION, utterance } from './harness.js';

const { speed: _s, chunkMs: _c, ...realistic } = REALISTIC;

describe('emulator fidelity', () => {
  it('sends conversation.created after session.created', () => {
    const h = createHarness();
    expect(h.events.map((e) => e.type)).toEqual(['session.created', 'conversation.created']);
    expect(h.events[1]).toMatchObject({ conversation: { object: 'realtime.conversation', id: expect.stringMatching(/^conv_/) } });
  });

  it('ends an audio item in the real order and fills previous_item_id on every added item', () => {
    const h = createHarness();
    h.send({ type: 'session.update', session: PCMU_SESSION });
    h.send({ type: 'response.create' }); // greeting
    h.appendUlaw(utterance(300, 600, 600)); // caller turn → reply
    const types = h.events.map((e) => e.type);
    const audioDone = types.lastIndexOf('response.output_audio.done');
    expect(types[audioDone + 1]).toBe('response.output_audio_transcript.done');
    const added = h.ofType('conversation.item.added');
    expect(added).toHaveLength(3);
    const ids = added.map((e) => (e.item as { id: string }).id);
    expect(added.map((e) => e.previous_item_id)).toEqual([null, ids[0], ids[1]]);
    const done = h.ofType('conversation.item.done');
    expect(done.map((e) => e.previous_item_id)).toEqual([null, ids[0], ids[1]]);
    expect(h.last('input_audio_buffer.committed')).toMatchObject({ previous_item_id: ids[0], item_id: ids[1] });
  });

  it('sends rate_limits.updated at the start of each response, tokens counting down', () => {
    const h = createHarness();
    h.send({ type: 'session.update', session: PCMU_SESSION });
    h.send({ type: 'response.create' });
    h.send({ type: 'response.create' });
    const types = h.events.map((e) => e.type);
    expect(types[types.indexOf('response.created') + 1]).toBe('rate_limits.updated');
    const tokens = h.ofType('rate_limits.updated').map((e) => (e.rate_limits as { name: string; remaining: number }[]).find((r) => r.name === 'tokens')!.remaining);
    expect(tokens).toHaveLength(2);
    expect(tokens[1]).toBeLessThan(tokens[0]!);
  });

  it('realistic streaming: the transcript runs ahead of the audio and the reply takes wall time', () => {
    const h = createHarness({ speed: REALISTIC.speed, realism: realistic });
    h.send({ type: 'session.update', session: PCMU_SESSION });
    h.send({ type: 'response.create' }); // greeting: 1000 ms of audio, 10 chunks, 50 ms apart at 2×
    const firstAudio = h.events.findIndex((e) => e.type === 'response.output_audio.delta');
    const transcriptBefore = h.events.slice(0, firstAudio).filter((e) => e.type === 'response.output_audio_transcript.delta');
    // Chunk 0 carries the text of chunks 0..3: the words lead the audio.
    expect(transcriptBefore.map((e) => e.delta).join('').length).toBeGreaterThan('Hello there,'.length);
    expect(h.ofType('response.done')).toHaveLength(0);
    h.clock.advance(300);
    expect(h.ofType('response.done')).toHaveLength(0); // still streaming: barge-in can land here
    h.clock.advance(300);
    expect(h.last('response.done')!.response).toMatchObject({ status: 'completed' });
    expect(h.ofType('response.output_audio_transcript.delta').map((e) => e.delta).join('')).toBe('Hello there, how can I help?');
  });

  it('transcribes the caller asynchronously: with a delay the transcript lands after the reply has started', () => {
    const h = createHarness({ speed: REALISTIC.speed, realism: realistic });
    h.send({ type: 'session.update', session: PCMU_SESSION });
    h.appendUlaw(utterance(300, 600, 600));
    const types = () => h.events.map((e) => e.type);
    expect(types()).toContain('response.created');
    expect(types()).not.toContain('conversation.item.input_audio_transcription.completed');
    h.clock.advance(realistic.transcriptionDelayMs);
    const t = types();
    expect(t.indexOf('conversation.item.input_audio_transcription.completed')).toBeGreaterThan(t.indexOf('response.created'));
    const completed = h.last('conversation.item.input_audio_transcription.completed')!;
    expect(completed).toMatchObject({ transcript: 'Where is my order?', usage: { type: 'tokens', input_tokens: expect.any(Number) } });
    expect(completed.item_id).toBe(h.last('input_audio_buffer.committed')!.item_id);
  });

  it('fails the next caller transcription when told to', () => {
    const h = createHarness();
    h.send({ type: 'session.update', session: PCMU_SESSION });
    h.session.applyFault({ type: 'fail_transcription' });
    h.appendUlaw(utterance(300, 600, 600));
    expect(h.ofType('conversation.item.input_audio_transcription.completed')).toHaveLength(0);
    expect(h.last('conversation.item.input_audio_transcription.failed')).toMatchObject({
      item_id: h.last('input_audio_buffer.committed')!.item_id,
      error: { type: 'transcription_error', code: 'audio_unintelligible' },
    });
    h.appendUlaw(utterance(300, 600, 600));
    expect(h.ofType('conversation.item.input_audio_transcription.completed')).toHaveLength(1);
  });

  it('answers the next response in text only when told to (no audio at all)', () => {
    const h = createHarness();
    h.send({ type: 'session.update', session: PCMU_SESSION });
    h.session.applyFault({ type: 'text_only_next_response' });
    h.send({ type: 'response.create' });
    expect(h.ofType('response.output_audio.delta')).toHaveLength(0);
    expect(h.ofType('response.output_text.delta').map((e) => e.delta).join('')).toBe('Hello there, how can I help?');
    const done = h.last('response.done')!.response as { status: string; output_modalities: string[]; output: { content: { type: string }[] }[] };
    expect(done.status).toBe('completed');
    expect(done.output_modalities).toEqual(['audio']);
    expect(done.output[0]!.content[0]!.type).toBe('output_text');
    h.send({ type: 'response.create' });
    expect(h.ofType('response.output_audio.delta').length).toBeGreaterThan(0);
  });

  it('realistic: client-created assistant output_text makes the following replies text-only', () => {
    const h = createHarness({ realism: realistic });
    h.send({ type: 'session.update', session: PCMU_SESSION });
    h.send({ type: 'conversation.item.create', item: { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Earlier reply' }] } });
    h.send({ type: 'response.create' });
    expect(h.ofType('response.output_audio.delta')).toHaveLength(0);
    expect(h.ofType('response.output_text.done')).toHaveLength(1);
    // A system note carrying the history does not trigger it.
    const g = createHarness({ realism: realistic });
    g.send({ type: 'session.update', session: PCMU_SESSION });
    g.send({ type: 'conversation.item.create', item: { type: 'message', role: 'system', content: [{ type: 'input_text', text: 'You said: Earlier reply' }] } });
    g.send({ type: 'response.create' });
    expect(g.ofType('response.output_audio.delta').length).toBeGreaterThan(0);
    // Tidy mode keeps the old behaviour.
    const t = createHarness({ realism: TIDY });
    t.send({ type: 'session.update', session: PCMU_SESSION });
    t.send({ type: 'conversation.item.create', item: { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Earlier reply' }] } });
    t.send({ type: 'response.create' });
    expect(t.ofType('response.output_audio.delta').length).toBeGreaterThan(0);
  });

  it('ends the next response incomplete with its reason, the open item incomplete', () => {
    for (const reason of ['content_filter', 'max_output_tokens'] as const) {
      const h = createHarness();
      h.send({ type: 'session.update', session: PCMU_SESSION });
      h.session.applyFault({ type: 'incomplete_next_response', reason });
      h.send({ type: 'response.create' });
      const done = h.last('response.done')!.response as { status: string; status_details: unknown; output: { status: string }[] };
      expect(done.status).toBe('incomplete');
      expect(done.status_details).toEqual({ type: 'incomplete', reason });
      expect(done.output[0]!.status).toBe('incomplete');
      expect(h.ofType('response.output_audio.delta')).toHaveLength(5); // half of the 10 chunks
      expect(h.ofType('response.output_audio.done')).toHaveLength(1);
    }
  });

  it('refuses an assistant item with audio content and no transcript', () => {
    const h = createHarness();
    h.send({ type: 'session.update', session: PCMU_SESSION });
    h.send({ type: 'conversation.item.create', event_id: 'a1', item: { type: 'message', role: 'assistant', content: [{ type: 'output_audio', audio: 'AAAA' }] } });
    expect(h.last('error')!.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_value', param: 'item.content[0]', event_id: 'a1' });
    expect(h.ofType('conversation.item.added')).toHaveLength(0);
    h.send({ type: 'conversation.item.create', item: { type: 'message', role: 'assistant', content: [{ type: 'output_audio', transcript: 'said before' }] } });
    expect(h.ofType('conversation.item.added')).toHaveLength(1);
  });

  it('writes rate-limit waits in seconds, minutes and milliseconds, as OpenAI does', () => {
    expect(formatRetryAfter(850)).toBe('850ms');
    expect(formatRetryAfter(6200)).toBe('6.2s');
    expect(formatRetryAfter(86_400)).toBe('1m26.4s');
    for (const ms of [850, 6200, 86_400]) {
      const h = createHarness();
      h.send({ type: 'session.update', session: PCMU_SESSION });
      h.session.applyFault({ type: 'fail_next_response', retryAfterMs: ms });
      h.send({ type: 'response.create' });
      const error = (h.last('response.done')!.response as { status_details: { error: { code: string; message: string } } }).status_details.error;
      expect(error.code).toBe('rate_limit_exceeded');
      expect(parseRetryAfterMs(error.message)).toBe(ms);
    }
  });

  it('Azure: the transcription model must name a deployment of the resource', () => {
    const h = createHarness({ azureDeployments: ['rt-prod', 'transcribe-prod'] });
    h.send({ type: 'session.update', event_id: 'u1', session: PCMU_SESSION }); // gpt-transcribe: not a deployment
    expect(h.last('error')!.error).toMatchObject({ code: 'invalid_value', param: 'session.audio.input.transcription.model', event_id: 'u1' });
    expect(h.ofType('session.updated')).toHaveLength(0);
    const ok = { ...PCMU_SESSION, audio: { ...PCMU_SESSION.audio, input: { ...PCMU_SESSION.audio.input, transcription: { model: 'transcribe-prod' } } } };
    h.send({ type: 'session.update', session: ok });
    expect(h.ofType('session.updated')).toHaveLength(1);
  });
});
