/**
 * A model reconnect while a tool runs (CallBridge + ModelSession with a scripted model, the tool on a real
 * loopback HTTP server): the caller asked, the model called a tool, the socket dropped. The new session
 * must be asked for exactly ONE reply — the one that carries the tool's result — whether the result
 * arrives after the new session is ready or before it. The caller's last turn looks unanswered in the
 * transcript (the model answered it with a function call, which has no words), which must not make the
 * reconnect ask for a reply of its own: that was two bot replies for one question.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BotDirectory } from '../../src/bots/directory.js';
import type { CallEvent } from '../../src/bridge/call-events.js';
import { systemClock } from '../../src/util/clock.js';
import { botSpeaks, flush, makeReady, responseDone, startCall, type Harness, type ScriptedModel } from '../bridge/harness.js';
import { answerReplies, quietLogger, replyRequests, SETTINGS, waitFor } from './support.js';

let backend: Server;
const held: ServerResponse[] = [];
let bots: BotDirectory;

beforeAll(async () => {
  backend = createServer((req, res) => {
    req.resume();
    req.on('end', () => held.push(res));
  });
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(backend.address() as AddressInfo).port}`;
  const file = join(mkdtempSync(join(tmpdir(), 'bots-')), 'bots.yaml');
  writeFileSync(file, `bots:\n  bot:\n    tools: [refund_status]\ntools:\n  refund_status: { type: http, url: "${base}/slow", description: "Refund status" }\n`);
  bots = await BotDirectory.create({ file, env: {}, toolSettings: SETTINGS, clock: systemClock, logger: quietLogger });
});

/** The test's call: hung up after it, whatever the outcome; a request it left open is dropped. */
let current: Harness | undefined;
afterEach(() => {
  current?.handler.onClose({ kind: 'close', reason: 'end' });
  current = undefined;
  for (const res of held.splice(0)) res.destroy();
});

afterAll(async () => {
  for (const res of held) res.destroy();
  await bots?.close();
  backend?.closeAllConnections();
  await new Promise<void>((r) => backend.close(() => r()));
});

type Sent = Record<string, any>;
const lateNotes = (m: ScriptedModel) =>
  (m.sent as Sent[]).filter((e) => e.type === 'conversation.item.create' && e.item.role === 'system' && /"refund_status"/.test(e.item.content[0].text));


async function callerAsksAndModelCallsTool(h: Harness, events: CallEvent[]): Promise<void> {
  await waitFor(() => h.connects > 0, 5000, 'the model connection');
  await makeReady(h);
  // The greeting (if any) is answered and played out first.
  await answerReplies(h, new Set());
  h.model.emit({ type: 'input_audio_buffer.committed', item_id: 'u1', previous_item_id: null });
  h.model.emit({ type: 'conversation.item.input_audio_transcription.completed', item_id: 'u1', content_index: 0, transcript: 'Where is my refund?' });
  h.model.emit({ type: 'response.created', response: { id: 'resp_tool', status: 'in_progress', metadata: null } });
  h.model.emit({ type: 'response.function_call_arguments.done', response_id: 'resp_tool', item_id: 'fc_1', output_index: 0, call_id: 'call_1', name: 'refund_status', arguments: '{}' });
  responseDone(h, 'resp_tool');
  await waitFor(() => held.length === 1, 5000, 'the slow tool running');
  expect(events.filter((e) => e.type === 'tool.started')).toHaveLength(1);
}

const heardAfter = (events: CallEvent[], from: number) => events.slice(from).filter((e) => e.type === 'bot.speech_started').length;

describe('a model reconnect while a tool runs', () => {
  it('the result arrives after the new session is ready: one reply request, one reply heard', async () => {
    const events: CallEvent[] = [];
    const h = (current = startCall({ deps: { bots, events: { onCallEvent: (e) => events.push(e) } } }));
    await callerAsksAndModelCallsTool(h, events);
    h.model.drop(1006);
    await makeReady(h);
    expect(h.models).toHaveLength(2);
    const second = h.model;
    const from = events.length;
    const answered = new Set<unknown>();
    await answerReplies(h, answered);
    // Nothing new to say until the result is in (the holding phrase aside).
    const beforeResult = replyRequests(second).length;
    held.shift()!.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"approved"}');
    await waitFor(() => lateNotes(second).length === 1, 5000, 'the result as a note');
    await flush();
    await answerReplies(h, answered);
    expect({ beforeResult, requests: replyRequests(second).length, heard: heardAfter(events, from) }).toEqual({ beforeResult: 0, requests: 1, heard: 1 });
    expect(second.sent.filter((e) => e.type === 'conversation.item.create' && e.item.type === 'function_call_output')).toEqual([]);
  });

  it('the result arrives before the new session is ready: one reply request, after the note', async () => {
    const events: CallEvent[] = [];
    const h = (current = startCall({ deps: { bots, events: { onCallEvent: (e) => events.push(e) } } }));
    await callerAsksAndModelCallsTool(h, events);
    h.model.drop(1006);
    held.shift()!.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"approved"}');
    await waitFor(() => events.some((e) => e.type === 'tool.finished'), 5000, 'the tool finishing');
    await makeReady(h);
    expect(h.models).toHaveLength(2);
    const second = h.model;
    const from = events.length;
    await flush();
    const sent = second.sent as Sent[];
    const note = sent.indexOf(lateNotes(second)[0]!);
    expect(note).toBeGreaterThan(0);
    // The reply is asked for once the result is in the conversation, not before.
    const firstRequest = sent.indexOf(replyRequests(second)[0]!);
    await answerReplies(h, new Set());
    expect({ requestAfterNote: firstRequest > note, requests: replyRequests(second).length, heard: heardAfter(events, from) }).toEqual({
      requestAfterNote: true,
      requests: 1,
      heard: 1,
    });
  });

  it('without a tool running, a reconnect right after the caller spoke still answers them (once)', async () => {
    const events: CallEvent[] = [];
    const h = (current = startCall({ deps: { bots, events: { onCallEvent: (e) => events.push(e) } } }));
    await waitFor(() => h.connects > 0, 5000, 'the model connection');
    await makeReady(h);
    await answerReplies(h, new Set());
    h.model.emit({ type: 'input_audio_buffer.committed', item_id: 'u1', previous_item_id: null });
    h.model.emit({ type: 'conversation.item.input_audio_transcription.completed', item_id: 'u1', content_index: 0, transcript: 'Hello?' });
    h.model.drop(1006);
    await makeReady(h);
    const from = events.length;
    await answerReplies(h, new Set());
    expect(replyRequests(h.model)).toHaveLength(1);
    expect(heardAfter(events, from)).toBe(1);
  });
});
