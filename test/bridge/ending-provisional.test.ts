/**
 * The single ending path keeps a provisional record before it asks the model for the summary, for every
 * ending that waits on the model (bot-ended, escalated, caller hang-up, shutdown), and the final record
 * (same key) follows. Endings with the fallback summary at once write only the final record.
 */
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { CallContext, CallControl } from '../../src/audiohook/handler.js';
import { planEnding, runEnding, type Ending, type EndingCall } from '../../src/bridge/ending.js';
import { Transcript } from '../../src/bridge/transcript.js';
import { emptyUsage } from '../../src/bridge/usage.js';
import type { CallRecord, CallRecordSink } from '../../src/bridge/webhook.js';
import { ManualClock } from '../../src/util/clock.js';

type Step = { step: 'hold' | 'deliver'; record: CallRecord } | { step: 'summarize' } | { step: 'disconnect' };

function harness(durable = true) {
  const steps: Step[] = [];
  const background: Array<Promise<void>> = [];
  const transcript = new Transcript();
  transcript.itemAdded('i1', null, 'caller');
  transcript.callerText('i1', 'I want to cancel my order');
  const sink: CallRecordSink = {
    deliver: async (record) => {
      steps.push({ step: 'deliver', record });
      return { delivered: true, attempts: 1, status: 200 };
    },
    ...(durable ? { holdProvisional: async (record: CallRecord) => void steps.push({ step: 'hold', record }) } : {}),
  };
  const control = {
    disconnect: () => void steps.push({ step: 'disconnect' }),
  } as unknown as CallControl;
  const clock = new ManualClock(0);
  const call: EndingCall = {
    callId: 'call-unique-1',
    log: pino({ level: 'silent' }),
    clock,
    wallClock: () => new Date(1_800_000_000_000 + clock.now()),
    context: {
      sessionId: '11111111-1111-4111-8111-111111111111',
      conversationId: '22222222-2222-4222-8222-222222222222',
      correlationId: 'c',
      organizationId: 'o',
      connectorId: 'bot',
    } as CallContext,
    control,
    transcript,
    usage: emptyUsage,
    startedAt: new Date(1_800_000_000_000),
    startedMs: 0,
    model: 'gpt-realtime',
    sink,
    stopCallWork: () => undefined,
    summarize: async () => {
      steps.push({ step: 'summarize' });
      return { outcome: 'unavailable' };
    },
    closeModel: () => undefined,
    background: (work) => void background.push(work),
    finished: () => undefined,
  };
  const run = async (ending: Ending) => {
    await runEnding(call, ending, planEnding(ending, { summaryTimeoutMs: 10_000 }));
    await Promise.all(background);
    return steps;
  };
  return { run };
}

const waitsOnModel: Ending[] = [
  { kind: 'bot_ended', reason: 'done' },
  { kind: 'escalated', reason: 'caller asked for a person' },
  { kind: 'closed', cause: { kind: 'close', reason: 'end' } },
  { kind: 'shutdown' },
];

describe('ending: the provisional record', () => {
  for (const ending of waitsOnModel) {
    it(`${ending.kind}: held before the model is asked, then the final record with the same key`, async () => {
      const steps = await harness().run(ending);
      const order = steps.map((s) => s.step);
      expect(order.indexOf('hold')).toBe(0);
      expect(order.indexOf('summarize')).toBe(1);
      expect(order.at(-1)).toBe('deliver');
      const hold = steps[0] as { record: CallRecord };
      const final = steps.at(-1) as { record: CallRecord };
      expect(hold.record.idempotency_key).toBe(final.record.idempotency_key);
      expect(final.record.idempotency_key).toBe(
        '11111111-1111-4111-8111-111111111111:22222222-2222-4222-8222-222222222222:call-unique-1',
      );
      expect(hold.record.summary.source).toBe('fallback');
      expect(hold.record.transcript.map((t) => t.text)).toEqual(['I want to cancel my order']);
      expect(hold.record.ended_at).toBe(final.record.ended_at);
    });
  }

  for (const ending of [{ kind: 'failure', info: 'bad AI_VOICE' }, { kind: 'model_unavailable', cause: 'refused' }] as Ending[]) {
    it(`${ending.kind}: no model wait, so only the final record (the disconnect is not delayed)`, async () => {
      const order = (await harness().run(ending)).map((s) => s.step);
      expect(order).toEqual(['disconnect', 'deliver']);
    });
  }

  it('a sink without durability (the plain webhook sender) gets the final record only', async () => {
    const order = (await harness(false).run({ kind: 'closed', cause: { kind: 'close', reason: 'end' } })).map((s) => s.step);
    expect(order).toEqual(['summarize', 'deliver']);
  });
});
