/**
 * The model session on its own (no bridge, no sockets): domain verbs produce the right client events, and
 * what happens on the connection reaches the listener as typed events — the contract later features
 * (tools, say, text-only replies) build on.
 */
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { ModelSession, type ModelSessionListener } from '../../src/realtime/model-session.js';
import { realtimeEnvSchema } from '../../src/realtime/env.js';
import type { CallSettings } from '../../src/realtime/session-config.js';
import { ManualClock } from '../../src/util/clock.js';
import { flush, ScriptedModel } from '../bridge/harness.js';

const settings: CallSettings = {
  model: 'gpt-realtime',
  voice: 'marin',
  instructions: 'Be brief.',
  vad: { type: 'semantic_vad', eagerness: 'auto' },
  noiseReduction: 'off',
  transcriptionModel: null,
  maxOutputTokens: 'inf',
};

function rig(listener: ModelSessionListener = {}) {
  const clock = new ManualClock(0);
  const models: ScriptedModel[] = [];
  const heard: string[] = [];
  const record = new Proxy(listener, {
    get: (target, name: string) =>
      (target as Record<string, unknown>)[name] ??
      ((...args: unknown[]) => heard.push(`${name}${args.length ? ` ${JSON.stringify(args[0])}` : ''}`)),
  });
  const session = new ModelSession({
    connect: { apiKey: 'sk-test', connectTimeoutMs: 5000, model: settings.model },
    settings,
    env: realtimeEnvSchema.parse({}),
    logger: pino({ level: 'silent' }),
    listener: record,
    conversation: () => ({ turns: [{ role: 'caller', text: 'Hello?' }], toolReplyPending: false }),
    botAudioOutstanding: () => false,
    clock,
    random: () => 0.5,
    connectModel: async () => {
      const m = new ScriptedModel();
      models.push(m);
      return m;
    },
  });
  const ready = async () => {
    await flush();
    models.at(-1)!.open();
    await flush();
    models.at(-1)!.sessionUpdated();
  };
  return { clock, models, heard, session, ready, model: () => models.at(-1)! };
}

describe('ModelSession', () => {
  it('holds caller audio until ready, then relays it in order and says ready', async () => {
    const r = rig();
    r.session.start();
    r.session.appendAudio(new Uint8Array(160).fill(1));
    r.session.appendAudio(new Uint8Array(160).fill(2));
    await r.ready();
    const appends = r.model().ofType('input_audio_buffer.append').map((e) => Buffer.from(e.audio, 'base64')[0]);
    expect(appends).toEqual([1, 2]);
    expect(r.heard).toContain('ready {"purpose":"initial","heldAudioMs":40}');
  });

  it('a tool call of any name reaches the listener; its result can ask for the follow-up reply', async () => {
    const calls: unknown[] = [];
    const r = rig({ toolCall: (call) => void calls.push(call) });
    r.session.start();
    await r.ready();
    r.model().emit({ type: 'response.function_call_arguments.done', response_id: 'r1', item_id: 'f1', output_index: 0, call_id: 'c1', name: 'lookup_order', arguments: '{"id":7}' });
    expect(calls).toEqual([{ name: 'lookup_order', callId: 'c1', arguments: '{"id":7}' }]);
    r.session.sendToolResult('c1', { status: 'shipped' }, true);
    const sent = r.model().sent.map((e) => e.type);
    expect(sent.slice(-2)).toEqual(['conversation.item.create', 'response.create']);
    expect(r.model().ofType('conversation.item.create').at(-1)!.item).toEqual({ type: 'function_call_output', call_id: 'c1', output: '{"status":"shipped"}' });
  });

  it('say: a one-off reply with its purpose and no tools; turnDone reports the response with its purpose', async () => {
    const done: unknown[] = [];
    const r = rig({ turnDone: (info) => void done.push({ id: info.response.id, purpose: info.purpose, outOfBand: info.outOfBand }) });
    r.session.start();
    await r.ready();
    r.session.say('Say goodbye.', 'farewell');
    expect(r.model().ofType('response.create').at(-1)!.response).toEqual({ metadata: { purpose: 'farewell' }, instructions: 'Say goodbye.', tool_choice: 'none' });
    r.model().emit({ type: 'response.created', response: { id: 'r1', status: 'in_progress', metadata: { purpose: 'farewell' } } });
    r.model().emit({ type: 'response.done', response: { id: 'r1', status: 'completed', metadata: { purpose: 'farewell' }, output: [] } });
    expect(done).toEqual([{ id: 'r1', purpose: 'farewell', outOfBand: false }]);
  });

  it('a drop mid-call reconnects and replays; while winding down it is reported instead; after stop nothing happens', async () => {
    const r = rig();
    r.session.start();
    await r.ready();
    r.model().drop(1006);
    expect(r.heard.some((h) => h.startsWith('reconnecting'))).toBe(true);
    await r.ready();
    expect(r.models).toHaveLength(2);
    // The replay: one system note carrying the caller's turn (no assistant text items), and a reply owed to the caller.
    const replay = r.model().ofType('conversation.item.create').map((e) => e.item);
    expect(replay.map((item) => item.type === 'message' && item.role)).toEqual(['system']);
    expect(JSON.stringify(replay[0])).toContain('Caller: ');
    expect(r.model().ofType('response.create')).toHaveLength(1);

    r.session.windDown();
    r.model().drop(1006);
    expect(r.heard.at(-1)).toBe('unavailable {"cause":"model connection closed (code 1006)","everReady":true,"fatal":false}');
    await flush();
    expect(r.models).toHaveLength(2);

    const s = rig();
    s.session.start();
    await s.ready();
    s.session.stop();
    s.model().drop(1006);
    await flush();
    expect(s.models).toHaveLength(1);
    expect(s.heard.filter((h) => h.startsWith('unavailable') || h.startsWith('reconnecting'))).toEqual([]);
  });

  it('a final error gives up at once (fatal); before any session was ready everReady is false', async () => {
    const r = rig();
    r.session.start();
    await r.ready();
    r.model().error('invalid_api_key', 'bad key');
    expect(r.heard.at(-1)).toBe('unavailable {"cause":"model error: bad key","everReady":true,"fatal":true}');
    expect(r.model().closed).toBe(true);
  });

  it('summarize: cancels a running reply, then an out-of-band request; its late events are never turns', async () => {
    const created: string[] = [];
    const r = rig({ responseCreated: ({ responseId }) => void created.push(responseId) });
    r.session.start();
    await r.ready();
    r.session.requestReply();
    r.model().emit({ type: 'response.created', response: { id: 'r1', status: 'in_progress', metadata: null } });
    const request = { type: 'response.create' as const, response: { conversation: 'none' as const, metadata: { purpose: 'call_summary' } } };
    const result = r.session.summarize(request, 5000);
    expect(r.model().sent.at(-1)).toEqual({ type: 'response.cancel' });
    r.model().emit({ type: 'response.done', response: { id: 'r1', status: 'cancelled', output: [] } });
    await flush();
    const summaryRequest = r.model().ofType('response.create').at(-1)!;
    expect(summaryRequest.response?.conversation).toBe('none');
    r.model().emit({ type: 'response.created', response: { id: 's1', status: 'in_progress', metadata: { purpose: 'call_summary' } } });
    r.model().emit({ type: 'response.done', response: { id: 's1', status: 'completed', metadata: { purpose: 'call_summary' }, output: [] } });
    expect(await result).toMatchObject({ outcome: 'done', response: { id: 's1' } });
    expect(created).toEqual(['r1']);
  });
});
