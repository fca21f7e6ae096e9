import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { callScriptSchema, loadCallScript, REPO_ROOT } from '../../src/emulator/script.js';
import { ulawSilence } from '../../src/emulator/tone.js';
import { createHarness, PCMU_SESSION } from './harness.js';

const ORDER_STATUS = resolve(REPO_ROOT, 'fixtures/scripts/order-status.json');
const ESCALATION = resolve(REPO_ROOT, 'fixtures/scripts/escalation.json');

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Caller speech: a synthesized prompt (fixtures/bot) stands in for a voice, followed by silence. */
function callerSays(file = 'fixtures/bot/anything-else.ulaw'): Uint8Array {
  return concat(ulawSilence(300), new Uint8Array(readFileSync(resolve(REPO_ROOT, file))), ulawSilence(1200));
}

describe('call scripts', () => {
  it('parses the committed fixture scripts', () => {
    expect(loadCallScript(ORDER_STATUS).turns.at(-1)?.toolCall?.name).toBe('end_call');
    expect(loadCallScript(ESCALATION).turns.some((t) => t.toolCall?.name === 'transfer_to_agent')).toBe(true);
  });

  it('rejects a turn without reply or tool call and a bad pattern', () => {
    const base = { name: 'x', greeting: { audio: { toneMs: 100 }, transcript: 'hi' } };
    expect(callScriptSchema.safeParse({ ...base, turns: [{ transcript: 'hello' }] }).success).toBe(false);
    expect(callScriptSchema.safeParse({ ...base, turns: [], textCues: [{ pattern: '(', reply: base.greeting }] }).success).toBe(false);
    expect(callScriptSchema.safeParse({ ...base, turns: [], extra: 1 }).success).toBe(false);
  });

  it('runs the order-status call: greeting, turns, long status, end_call and farewell', () => {
    const script = loadCallScript(ORDER_STATUS);
    const h = createHarness({ script });
    h.send({ type: 'session.update', session: PCMU_SESSION });
    h.send({ type: 'conversation.item.create', item: { type: 'message', role: 'system', content: [{ type: 'input_text', text: 'Greet the caller.' }] } });
    h.send({ type: 'response.create' });
    const greetingBytes = readFileSync(resolve(REPO_ROOT, 'fixtures/bot/greeting.ulaw'));
    const sent = Buffer.concat(h.ofType('response.output_audio.delta').map((e) => Buffer.from(String(e.delta), 'base64')));
    expect(sent.equals(greetingBytes)).toBe(true);

    const transcripts: string[] = [];
    for (let turn = 0; turn < 2; turn++) {
      h.clear();
      h.appendUlaw(callerSays());
      expect(h.ofType('input_audio_buffer.speech_started')).toHaveLength(1);
      transcripts.push(String(h.last('conversation.item.input_audio_transcription.completed')!.transcript));
    }
    expect(transcripts).toEqual(script.turns.slice(0, 2).map((t) => t.transcript));
    h.clear();
    h.appendUlaw(callerSays());
    const call = h.last('response.function_call_arguments.done')!;
    expect(call.name).toBe('end_call');
    h.send({ type: 'conversation.item.create', item: { type: 'function_call_output', call_id: call.call_id, output: '{"ok":true}' } });
    h.send({ type: 'response.create' });
    expect(h.last('response.output_audio_transcript.done')!.transcript).toBe('Thank you for calling Acme. Goodbye!');
  });

  it('runs the escalation call to transfer_to_agent and summarizes it as escalated and negative', () => {
    const h = createHarness({ script: loadCallScript(ESCALATION) });
    h.send({ type: 'session.update', session: PCMU_SESSION });
    h.send({ type: 'response.create' });
    h.appendUlaw(callerSays());
    h.appendUlaw(callerSays());
    const call = h.last('response.function_call_arguments.done')!;
    expect(call.name).toBe('transfer_to_agent');
    h.send({ type: 'conversation.item.create', item: { type: 'function_call_output', call_id: call.call_id, output: '{}' } });
    h.send({ type: 'response.create' });
    h.send({ type: 'response.create', response: { conversation: 'none', output_modalities: ['text'], instructions: 'Return a JSON summary.' } });
    const text = (h.last('response.done')!.response as any).output[0].content[0].text as string;
    expect(JSON.parse(text)).toMatchObject({ escalated: true, resolved: false, sentiment: 'negative' });
  });
});
