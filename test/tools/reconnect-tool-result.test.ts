/**
 * A model reconnect AFTER a tool's result was given to the old session (function_call_output + the reply
 * asked for) but before that reply finished (CallBridge + ModelSession with a scripted model, the tool on a
 * real loopback HTTP server). The new session must learn the result from the replay — it was lost before:
 * the replay carried no tool results and no late-result note went out, so the new session was asked to
 * answer the caller without it (and might run the refund tool again) — be told not to call the tool again,
 * and be asked for exactly one reply. A result whose reply did finish is history, not owed. With two tools
 * and a drop between their results, both reach the new session, each exactly once, then one reply.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BotDirectory } from '../../src/bots/directory.js';
import type { CallEvent } from '../../src/bridge/call-events.js';
import { FILLER_PURPOSE } from '../../src/tools/tool-turns.js';
import { systemClock } from '../../src/util/clock.js';
import { botSpeaks, flush, makeReady, responseDone, startCall, type Harness, type ScriptedModel } from '../bridge/harness.js';
import { answerReplies, quietLogger, replyRequests, SETTINGS, waitFor } from './support.js';

let backend: Server;
const held: Array<{ path: string; res: ServerResponse }> = [];
let bots: BotDirectory;

beforeAll(async () => {
  backend = createServer((req, res) => {
    req.resume();
    req.on('end', () => held.push({ path: req.url ?? '', res }));
  });
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(backend.address() as AddressInfo).port}`;
  const file = join(mkdtempSync(join(tmpdir(), 'bots-')), 'bots.yaml');
  writeFileSync(
    file,
    `bots:\n  bot:\n    tools: [issue_refund, order_status]\ntools:\n` +
      `  issue_refund: { type: http, url: "${base}/refund", description: "Issue a refund", redact: [card_number] }\n` +
      `  order_status: { type: http, url: "${base}/order", description: "Order status" }\n`,
  );
  bots = await BotDirectory.create({ file, env: {}, toolSettings: SETTINGS, clock: systemClock, logger: quietLogger });
});

let current: Harness | undefined;
afterEach(() => {
  current?.handler.onClose({ kind: 'close', reason: 'end' });
  current = undefined;
  for (const h of held.splice(0)) h.res.destroy();
});

afterAll(async () => {
  for (const h of held) h.res.destroy();
  await bots?.close();
  backend?.closeAllConnections();
  await new Promise<void>((r) => backend.close(() => r()));
});

type Sent = Record<string, any>;
const systemTexts = (m: ScriptedModel): string[] =>
  (m.sent as Sent[]).filter((e) => e.type === 'conversation.item.create' && e.item.role === 'system').map((e) => e.item.content[0].text as string);
const outputs = (m: ScriptedModel) => (m.sent as Sent[]).filter((e) => e.type === 'conversation.item.create' && e.item.type === 'function_call_output');
const heardAfter = (events: CallEvent[], from: number) => events.slice(from).filter((e) => e.type === 'bot.speech_started').length;

function answer(path: string, body: string): void {
  const i = held.findIndex((h) => h.path === path);
  const [h] = held.splice(i, 1);
  h!.res.writeHead(200, { 'content-type': 'application/json' }).end(body);
}

/** The model socket drops and the new session is ready: the one system note it was given. */
async function oneNoteAfterDrop(h: Harness, first: Harness['model']): Promise<{ second: Harness['model']; note: string }> {
  first.drop(1011);
  await makeReady(h);
  const second = h.model;
  await flush();
  const notes = systemTexts(second);
  expect(notes).toHaveLength(1);
  return { second, note: notes[0]! };
}

/** The caller asks; the model answers with the named tool calls (one response); the tools are running. */
async function callerAsks(h: Harness, calls: Array<{ name: string; callId: string }>): Promise<void> {
  await waitFor(() => h.connects > 0, 5000, 'the model connection');
  await makeReady(h);
  await answerReplies(h, new Set());
  h.model.emit({ type: 'input_audio_buffer.committed', item_id: 'u1', previous_item_id: null });
  h.model.emit({ type: 'conversation.item.input_audio_transcription.completed', item_id: 'u1', content_index: 0, transcript: 'Please refund order 5121.' });
  h.model.emit({ type: 'response.created', response: { id: 'resp_tool', status: 'in_progress', metadata: null } });
  calls.forEach(({ name, callId }, i) =>
    h.model.emit({ type: 'response.function_call_arguments.done', response_id: 'resp_tool', item_id: `fc_${i}`, output_index: i, call_id: callId, name, arguments: '{}' }),
  );
  responseDone(h, 'resp_tool');
  await waitFor(() => held.length === calls.length, 5000, 'the tools running');
}

describe('a model reconnect after a tool result was given to the old session', () => {
  it('the drop falls before the reply to the result finished: the new session gets the result, asked once', async () => {
    const events: CallEvent[] = [];
    const h = (current = startCall({ deps: { bots, events: { onCallEvent: (e) => events.push(e) } } }));
    await callerAsks(h, [{ name: 'issue_refund', callId: 'call_1' }]);
    const first = h.model;
    answer('/refund', '{"refund_id":"R-77","status":"issued","card_number":"4111111111111111"}');
    await waitFor(() => outputs(first).length === 1 && replyRequests(first).length > 0, 5000, 'the result and its reply request to the old session');
    // The reply to the result starts, then the socket drops before its response.done.
    botSpeaks(h, 'resp_reply', 'item_reply', 200);
    first.drop(1011);
    await makeReady(h);
    expect(h.models).toHaveLength(2);
    const second = h.model;
    const from = events.length;
    await flush();
    const notes = systemTexts(second);
    expect(notes).toHaveLength(1);
    expect(notes[0]).toContain('R-77');
    expect(notes[0]).toContain('"issue_refund"');
    expect(notes[0]).toMatch(/do not call/i);
    // The tool's `redact:` holds in the note as in the output the model was given.
    expect(notes[0]).not.toContain('4111111111111111');
    expect(outputs(second)).toEqual([]);
    const answered = new Set<unknown>();
    await answerReplies(h, answered);
    await flush();
    await answerReplies(h, answered);
    expect({ requests: replyRequests(second).length, heard: heardAfter(events, from), toolRuns: events.filter((e) => e.type === 'tool.started').length }).toEqual({
      requests: 1,
      heard: 1,
      toolRuns: 1,
    });
  });

  it('the holding phrase, asked before the result but said after it, does not count as the reply to it', async () => {
    const h = (current = startCall({ deps: { bots } }));
    await callerAsks(h, [{ name: 'issue_refund', callId: 'call_1' }]);
    const first = h.model;
    h.clock.advance(1300);
    await flush();
    const filler = (first.sent as Sent[]).filter((e) => e.type === 'response.create' && e.response?.metadata?.purpose === FILLER_PURPOSE);
    expect(filler).toHaveLength(1);
    // The result comes back before the holding phrase has started.
    answer('/refund', '{"refund_id":"R-80","status":"issued"}');
    await waitFor(() => outputs(first).length === 1, 5000, 'the result to the old session');
    botSpeaks(h, 'resp_filler', 'item_filler', 200, { metadata: { purpose: FILLER_PURPOSE } });
    first.emit({ type: 'response.output_audio_transcript.done', response_id: 'resp_filler', item_id: 'item_filler', output_index: 0, content_index: 0, transcript: 'One moment while I check that.' });
    responseDone(h, 'resp_filler');
    h.clock.advance(400);
    await flush();
    botSpeaks(h, 'resp_reply', 'item_reply', 200);
    const { second, note } = await oneNoteAfterDrop(h, first);
    expect(note).toMatch(/"issue_refund".*R-80.*\[not answered yet\]/);
    expect(replyRequests(second)).toHaveLength(1);
  });

  it('the reply to the result finished before the drop: the result is history, no reply of its own', async () => {
    const h = (current = startCall({ deps: { bots } }));
    await callerAsks(h, [{ name: 'issue_refund', callId: 'call_1' }]);
    const first = h.model;
    answer('/refund', '{"refund_id":"R-78","status":"issued"}');
    await waitFor(() => replyRequests(first).length > 0 && outputs(first).length === 1, 5000, 'the reply request');
    botSpeaks(h, 'resp_reply', 'item_reply', 200);
    first.emit({ type: 'response.output_audio_transcript.done', response_id: 'resp_reply', item_id: 'item_reply', output_index: 0, content_index: 0, transcript: 'Your refund R-78 is issued.' });
    responseDone(h, 'resp_reply');
    h.clock.advance(400);
    await flush();
    const { second, note } = await oneNoteAfterDrop(h, first);
    expect(note).toMatch(/"issue_refund".*R-78/);
    expect(note).not.toMatch(/not answered the caller with/i);
    expect(replyRequests(second)).toEqual([]);
  });

  it('two tools, the drop between their results: both reach the new session once, then one reply', async () => {
    const events: CallEvent[] = [];
    const h = (current = startCall({ deps: { bots, events: { onCallEvent: (e) => events.push(e) } } }));
    await callerAsks(h, [
      { name: 'order_status', callId: 'call_a' },
      { name: 'issue_refund', callId: 'call_b' },
    ]);
    const first = h.model;
    const greetingRequests = replyRequests(first).length;
    answer('/order', '{"order":"5121","status":"returned"}');
    await waitFor(() => outputs(first).length === 1, 5000, 'the first result to the old session');
    // The other tool still runs: no reply asked of the old session yet.
    expect(replyRequests(first)).toHaveLength(greetingRequests);
    first.drop(1011);
    answer('/refund', '{"refund_id":"R-79","status":"issued"}');
    await waitFor(() => events.filter((e) => e.type === 'tool.finished').length === 2, 5000, 'the second tool finishing');
    await makeReady(h);
    const second = h.model;
    const from = events.length;
    await flush();
    const notes = systemTexts(second);
    expect(notes.filter((t) => t.includes('"returned"'))).toHaveLength(1);
    expect(notes.filter((t) => t.includes('R-79'))).toHaveLength(1);
    const sent = second.sent as Sent[];
    const lastNote = Math.max(...sent.flatMap((e, i) => (e.type === 'conversation.item.create' && e.item.role === 'system' ? [i] : [])));
    const answered = new Set<unknown>();
    await answerReplies(h, answered);
    await flush();
    await answerReplies(h, answered);
    const firstRequest = sent.indexOf(replyRequests(second)[0]!);
    expect({ afterNotes: firstRequest > lastNote, requests: replyRequests(second).length, heard: heardAfter(events, from) }).toEqual({
      afterNotes: true,
      requests: 1,
      heard: 1,
    });
  });
});
