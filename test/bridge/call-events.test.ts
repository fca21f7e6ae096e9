/**
 * Call milestones (src/bridge/call-events.ts): a whole call on the scripted-model harness publishes the
 * expected sequence, every event carries the call's own unique id, digits never travel, and a listener
 * that throws cannot disturb the call.
 */
import { describe, expect, it } from 'vitest';
import type { CallEvent } from '../../src/bridge/call-events.js';
import { botSpeaks, flush, makeReady, responseDone, startCall, summaryDone, type Harness } from './harness.js';

function collecting() {
  const events: CallEvent[] = [];
  return { events, listener: { onCallEvent: (e: CallEvent) => void events.push(e) } };
}

/** The event types, with the interesting detail: activity name, role, purpose. */
function sequence(events: CallEvent[]): string[] {
  return events.map((e) => {
    if (e.type === 'activity') return `activity:${e.activity}`;
    if (e.type === 'transcript') return `transcript:${e.role}`;
    if (e.type === 'model.reconnected') return `model.reconnected:${e.purpose}`;
    if (e.type === 'dtmf') return `dtmf:${e.count}`;
    return e.type;
  });
}

async function playOut(h: Harness, ms: number): Promise<void> {
  for (let t = 0; t < ms; t += 100) {
    h.clock.advance(100);
    await flush();
  }
}

describe('call events', () => {
  it('a whole call publishes its milestones in order, then call.ended with the record and its delivery', async () => {
    const { events, listener } = collecting();
    const h = startCall({ deps: { events: listener, instance: 'test-1' } });
    await makeReady(h);
    // Greeting, played out.
    botSpeaks(h, 'r1', 'i1', 400, { done: true });
    h.model.emit({ type: 'response.output_audio_transcript.done', response_id: 'r1', item_id: 'i1', output_index: 0, content_index: 0, transcript: 'Hello!' });
    await playOut(h, 600);
    // The caller speaks; the bot answers and is interrupted.
    h.model.emit({ type: 'input_audio_buffer.speech_started', audio_start_ms: 0, item_id: 'u1' });
    h.model.emit({ type: 'input_audio_buffer.speech_stopped', audio_end_ms: 900, item_id: 'u1' });
    h.model.emit({ type: 'conversation.item.input_audio_transcription.completed', item_id: 'u1', content_index: 0, transcript: 'My order is late.' });
    botSpeaks(h, 'r2', 'i2', 1000);
    h.clock.advance(200);
    h.model.emit({ type: 'input_audio_buffer.speech_started', audio_start_ms: 1200, item_id: 'u2' });
    responseDone(h, 'r2', { status: 'cancelled' });
    h.model.emit({ type: 'input_audio_buffer.speech_stopped', audio_end_ms: 1800, item_id: 'u2' });
    // Keypad entry.
    for (const d of '42#') h.handler.onDtmf!(d, 0);
    // The model drops; a new session takes over.
    h.model.drop(1006);
    await makeReady(h);
    // The bot ends the call.
    botSpeaks(h, 'r3', 'i3', 200);
    h.model.emit({ type: 'response.function_call_arguments.done', response_id: 'r3', item_id: 'f1', output_index: 1, call_id: 'c1', name: 'end_call', arguments: '{"reason":"done"}' });
    responseDone(h, 'r3');
    botSpeaks(h, 'r4', 'i4', 200, { metadata: { purpose: 'farewell' }, done: true });
    await playOut(h, 1000);
    summaryDone(h, JSON.stringify({ summary: 'Late order.', sentiment: 'neutral', resolved: false, follow_ups: [] }));
    await flush();
    await h.factory.drain();

    expect(sequence(events)).toEqual([
      'call.started',
      'activity:connecting',
      'activity:greeting',
      'bot.speech_started',
      'activity:bot_speaking',
      'bot.speech_stopped',
      'activity:listening',
      'transcript:bot',
      'caller.speech_started',
      'activity:caller_speaking',
      'caller.speech_stopped',
      'activity:listening',
      'transcript:caller',
      'bot.speech_started',
      'activity:bot_speaking',
      'caller.speech_started',
      'activity:caller_speaking',
      'barge_in',
      'bot.speech_stopped',
      'caller.speech_stopped',
      'activity:listening',
      'dtmf:2',
      'model.reconnected:reconnect',
      'bot.speech_started',
      'activity:bot_speaking',
      // end_call: the farewell phase keeps the bot speaking until the ending starts.
      'bot.speech_stopped',
      'bot.speech_started',
      'bot.speech_stopped',
      'activity:ending',
      'call.ended',
    ]);
    const started = events[0]!;
    expect(started).toMatchObject({ type: 'call.started', sessionId: 'sess-1', conversationId: 'conv-1', connectorId: 'bot', bot: '', instance: 'test-1' });
    const callIds = new Set(events.map((e) => e.callId));
    expect(callIds.size).toBe(1);
    expect([...callIds][0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(events.find((e) => e.type === 'barge_in')).toMatchObject({ responseId: 'r2' });
    const ended = events.at(-1)!;
    expect(ended.type === 'call.ended' && ended.record.end_reason).toBe('bot_ended');
    expect(ended.type === 'call.ended' && ended.delivery).toEqual({ delivered: true, attempts: 1, status: 200 });
    // Digits never travel in events.
    const dtmf = events.find((e) => e.type === 'dtmf')!;
    expect(Object.keys(dtmf).sort()).toEqual(['at', 'callId', 'count', 'type']);
    for (let i = 1; i < events.length; i++) expect(events[i]!.at).toBeGreaterThanOrEqual(events[i - 1]!.at);
  });

  it('each call gets its own id, even on the same AudioHook session id', async () => {
    const a = collecting();
    const b = collecting();
    startCall({ deps: { events: a.listener } });
    startCall({ deps: { events: b.listener } });
    expect(a.events[0]!.callId).not.toBe(b.events[0]!.callId);
  });

  it('a listener that throws does not disturb the call', async () => {
    let calls = 0;
    const h = startCall({
      vars: { AI_GREETING: 'false' },
      deps: {
        events: {
          onCallEvent: () => {
            calls++;
            throw new Error('listener broke');
          },
        },
      },
    });
    await makeReady(h);
    botSpeaks(h, 'r1', 'i1', 400, { done: true });
    await playOut(h, 600);
    expect(h.control.audioBytes).toBe(3200);
    h.handler.onClose({ kind: 'close', reason: 'end' });
    await flush();
    summaryDone(h, JSON.stringify({ summary: 'Short call.', sentiment: 'neutral', resolved: true, follow_ups: [] }));
    await h.factory.drain();
    expect(h.records).toHaveLength(1);
    expect(calls).toBeGreaterThan(5);
  });
});
