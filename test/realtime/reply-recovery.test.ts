import type { RealtimeResponse } from 'openai/resources/realtime/realtime';
import { describe, expect, it } from 'vitest';
import { recoveryFor, ReplyRecoveryGate } from '../../src/realtime/reply-recovery.js';
import { LastWords } from '../../src/realtime/last-words.js';
import { pino } from 'pino';
import { CallerInput } from '../../src/realtime/caller-input.js';
import type { ModelConnection } from '../../src/realtime/connection.js';
import { ManualClock } from '../../src/util/clock.js';

const response = (status: RealtimeResponse['status'], content: { type: string; text?: string; transcript?: string }[], reason?: string): RealtimeResponse =>
  ({
    id: 'r1',
    status,
    ...(reason ? { status_details: { type: status, reason } } : {}),
    output: [{ type: 'message', role: 'assistant', content }],
  }) as unknown as RealtimeResponse;

describe('recoveryFor', () => {
  it('a completed reply with text but no audio: text_only, spoken with the call instructions kept', () => {
    const r = recoveryFor(response('completed', [{ type: 'output_text', text: 'Your order ships tomorrow.' }]), 'Du bist Anna.');
    expect(r).toMatchObject({ metric: 'text_only_reply', reason: 'text_only' });
    expect(r!.instructions).toMatch(/^Du bist Anna\.\n\n/);
    expect(r!.instructions).toContain('"Your order ships tomorrow."');
  });

  it('an incomplete reply: counted by reason', () => {
    expect(recoveryFor(response('incomplete', [{ type: 'output_audio', transcript: 'Half' }], 'content_filter'), 'P')).toMatchObject({ metric: 'incomplete_content_filter' });
    expect(recoveryFor(response('incomplete', [], 'max_output_tokens'), 'P')!.instructions).toMatch(/too long/);
  });

  it('nothing for replies the caller heard, cancelled ones, or tool calls', () => {
    expect(recoveryFor(response('completed', [{ type: 'output_audio', transcript: 'Hi' }]), 'P')).toBeUndefined();
    expect(recoveryFor(response('cancelled', [{ type: 'output_text', text: 'x' }], 'turn_detected'), 'P')).toBeUndefined();
    expect(recoveryFor({ id: 'r', status: 'completed', output: [{ type: 'function_call', name: 'end_call', arguments: '{}' }] } as unknown as RealtimeResponse, 'P')).toBeUndefined();
  });
});

describe('ReplyRecoveryGate', () => {
  it('one recovery per turn; a heard reply or a new turn re-arms it', () => {
    const gate = new ReplyRecoveryGate();
    const textOnly = response('completed', [{ type: 'output_text', text: 'x' }]);
    expect(gate.check(textOnly, 'P', true)!.reply).toBe(true);
    expect(gate.check(textOnly, 'P', true)!.reply).toBe(false);
    gate.newTurn();
    expect(gate.check(textOnly, 'P', false)!.reply).toBe(false);
    expect(gate.check(textOnly, 'P', true)!.reply).toBe(true);
    expect(gate.check(response('completed', [{ type: 'output_audio', transcript: 'ok' }]), 'P', true)).toBeUndefined();
    expect(gate.check(textOnly, 'P', true)!.reply).toBe(true);
  });
});

describe('LastWords and CallerInput', () => {
  it('waits for the committed item transcript, bounded', async () => {
    const clock = new ManualClock(0);
    const words = new LastWords();
    let done = false;
    const waiting = words.begin(clock, 1500).then(() => (done = true));
    words.committed('item_1', false);
    words.transcribed('item_other');
    await Promise.resolve();
    expect(done).toBe(false);
    words.transcribed('item_1');
    await waiting;
    expect(done).toBe(true);
    let timedOut = false;
    const bounded = words.begin(clock, 1500).then(() => (timedOut = true));
    clock.advance(1500);
    await bounded;
    expect(timedOut).toBe(true);
  });

  it('CallerInput holds at most 10 s while no session is ready, relays in order once one is, and nothing while paused', () => {
    const sent: Record<string, unknown>[] = [];
    let ready = false;
    const conn = { send: (e: Record<string, unknown>) => sent.push(e), bufferedAmount: 0 } as unknown as ModelConnection;
    const input = new CallerInput({ clock: new ManualClock(0), log: pino({ level: 'silent' }), readyConnection: () => (ready ? conn : undefined), onStalled: () => undefined });
    for (let i = 0; i < 12; i++) input.append(new Uint8Array(8000).fill(i));
    expect(input.heldMs).toBe(10_000);
    ready = true;
    input.flushHeld();
    expect(sent).toHaveLength(10);
    expect(Buffer.from(String(sent[0]!.audio), 'base64')[0]).toBe(2);
    expect(input.pause()).toBe(true);
    expect(sent.at(-1)).toEqual({ type: 'input_audio_buffer.clear' });
    input.append(new Uint8Array(160));
    expect(sent).toHaveLength(11);
    input.resume();
    input.append(new Uint8Array(160));
    expect(sent.at(-1)!.type).toBe('input_audio_buffer.append');
  });
});
