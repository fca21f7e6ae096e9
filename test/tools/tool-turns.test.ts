/** Tool turns: concurrency, one reply after all outputs, the holding phrase, barge-in and hang-up. */
import { describe, expect, it } from 'vitest';
import { FILLER_PURPOSE, holdingInstructions, lateResultNote, ToolTurns, type ToolTurnPort } from '../../src/tools/tool-turns.js';
import type { CallTools } from '../../src/tools/registry.js';
import type { ToolCallResult } from '../../src/tools/result.js';
import { ManualClock } from '../../src/util/clock.js';

/** CallTools whose executions finish when the test says so. */
function fakeTools(names: string[]) {
  const waiting = new Map<string, (r: ToolCallResult) => void>();
  let released = false;
  const tools: CallTools = {
    bot: 'sales',
    definitions: [],
    records: [],
    has: (n) => names.includes(n),
    execute: (_name, _args, options) =>
      new Promise<ToolCallResult>((resolve) => {
        waiting.set(options!.toolCallId!, resolve);
      }),
    release: () => {
      released = true;
      for (const [id, resolve] of waiting) {
        waiting.delete(id);
        resolve({ outcome: 'cancelled', output: '{"ok":false}', durationMs: 1 });
      }
    },
  };
  const finish = async (callId: string, output = '{"ok":true}') => {
    waiting.get(callId)!({ outcome: 'ok', output, durationMs: 5 });
    waiting.delete(callId);
    await new Promise((r) => setImmediate(r));
  };
  return { tools, finish, released: () => released };
}

function recordingPort(state = { caller: false, bot: false }) {
  const log: string[] = [];
  const port: ToolTurnPort = {
    sendToolResult: (id, output) => log.push(`result ${id} ${output}`),
    requestReply: () => log.push('reply'),
    addNote: (text) => log.push(`note ${text}`),
    say: (instructions, purpose) => log.push(`say[${purpose}] ${instructions}`),
    callerSpeaking: () => state.caller,
    botSpeaking: () => state.bot,
    handlesItself: (n) => n === 'end_call',
    started: (e) => log.push(`started ${e.name}`),
    finished: (e) => log.push(`finished ${e.name} ${e.outcome}`),
  };
  return { port, log, state };
}

const setup = (opts: { holdingPhrase?: string; state?: { caller: boolean; bot: boolean } } = {}) => {
  const clock = new ManualClock();
  const fake = fakeTools(['lookup', 'orders', 'end_call']);
  const rec = recordingPort(opts.state);
  const turns = new ToolTurns({ tools: fake.tools, port: rec.port, clock, fillerAfterMs: 1200, language: 'de-DE', ...(opts.holdingPhrase ? { holdingPhrase: opts.holdingPhrase } : {}) });
  return { clock, fake, rec, turns };
};

describe('tool turns', () => {
  it('leaves call-control tools to the bridge', () => {
    const { turns } = setup();
    expect(turns.handles('lookup')).toBe(true);
    expect(turns.handles('end_call')).toBe(false);
    expect(turns.handles('unknown')).toBe(false);
  });

  it('a result that arrives after the model session was replaced goes back as a note naming the tool, then one reply', async () => {
    const { fake, rec, turns } = setup();
    turns.toolCall({ callId: 'c1', name: 'lookup', arguments: '{}' });
    turns.responseDone('completed');
    turns.sessionReplaced();
    turns.sessionReady();
    await fake.finish('c1', '{"status":"approved"}');
    expect(rec.log.filter((l) => l.startsWith('result'))).toEqual([]);
    expect(rec.log.slice(-2)).toEqual([`note ${lateResultNote('lookup', '{"status":"approved"}')}`, 'reply']);
    expect(lateResultNote('lookup', '{"status":"approved"}')).toMatch(/"lookup".*\{"status":"approved"\}/);
  });

  it('a result that arrives while the replacement is not ready waits for it; nothing is sent or asked meanwhile', async () => {
    const { clock, fake, rec, turns } = setup();
    turns.toolCall({ callId: 'c1', name: 'lookup', arguments: '{}' });
    turns.responseDone('completed');
    turns.sessionReplaced();
    clock.advance(1500); // the holding phrase waits for a session that can say it
    await fake.finish('c1', '{"a":1}');
    expect(rec.log).toEqual(['started lookup', 'finished lookup ok']);
    turns.sessionReady();
    expect(rec.log.slice(2)).toEqual([`note ${lateResultNote('lookup', '{"a":1}')}`, 'reply']);
  });

  it('owes a reply while a tool runs or its result waits for the next session, until that reply is requested', async () => {
    const { fake, rec, turns } = setup();
    expect(turns.owesReply).toBe(false);
    turns.toolCall({ callId: 'c1', name: 'lookup', arguments: '{}' });
    turns.responseDone('completed');
    expect(turns.owesReply).toBe(true);
    turns.sessionReplaced();
    await fake.finish('c1');
    expect(turns.owesReply).toBe(true); // held for the replacement
    turns.sessionReady();
    expect(rec.log.at(-1)).toBe('reply');
    expect(turns.owesReply).toBe(false);
    turns.toolCall({ callId: 'c2', name: 'lookup', arguments: '{}' });
    turns.responseDone('completed');
    turns.close();
    expect(turns.owesReply).toBe(false);
  });

  it('a call asked after the replacement is answered as a normal output; calls of a response cut by it never run', async () => {
    const { fake, rec, turns } = setup();
    turns.toolCall({ callId: 'c0', name: 'orders', arguments: '{}' });
    turns.sessionReplaced(); // the response carrying c0 never completes
    turns.sessionReady();
    turns.responseDone('completed'); // a later response of the new session
    expect(turns.pending).toBe(0);
    turns.toolCall({ callId: 'c1', name: 'lookup', arguments: '{}' });
    turns.responseDone('completed');
    await fake.finish('c1', '{"a":1}');
    expect(rec.log).toEqual(['started lookup', 'finished lookup ok', 'result c1 {"a":1}', 'reply']);
  });

  it('reports each result given to a session exactly once, as output, late note or held note (the replay keeps it)', async () => {
    const clock = new ManualClock();
    const fake = fakeTools(['lookup', 'orders']);
    const rec = recordingPort();
    const port: ToolTurnPort = { ...rec.port, delivered: (e) => rec.log.push(`delivered ${e.name} ${e.output}`) };
    const turns = new ToolTurns({ tools: fake.tools, port, clock, fillerAfterMs: 1200 });
    turns.toolCall({ callId: 'c1', name: 'lookup', arguments: '{}' });
    turns.toolCall({ callId: 'c2', name: 'orders', arguments: '{}' });
    turns.toolCall({ callId: 'c3', name: 'lookup', arguments: '{}' });
    turns.responseDone('completed');
    await fake.finish('c1', '{"n":1}');
    turns.sessionReplaced();
    await fake.finish('c2', '{"n":2}');
    expect(rec.log.filter((l) => l.startsWith('delivered'))).toEqual(['delivered lookup {"n":1}']);
    turns.sessionReady();
    await fake.finish('c3', '{"n":3}');
    const sent = rec.log.filter((l) => /^(delivered|result|note)/.test(l)).map((l) => l.split(' ')[0]);
    expect(sent).toEqual(['result', 'delivered', 'note', 'delivered', 'note', 'delivered']);
    expect(rec.log.filter((l) => l.startsWith('delivered'))).toEqual(['delivered lookup {"n":1}', 'delivered orders {"n":2}', 'delivered lookup {"n":3}']);
  });

  it('runs calls concurrently and requests one reply after all outputs', async () => {
    const { fake, rec, turns } = setup();
    turns.toolCall({ callId: 'c1', name: 'lookup', arguments: '{}' });
    turns.toolCall({ callId: 'c2', name: 'orders', arguments: '{}' });
    turns.responseDone('completed');
    expect(turns.pending).toBe(2);
    await fake.finish('c2', '{"b":2}');
    expect(rec.log).toEqual(['started lookup', 'started orders', 'finished orders ok', 'result c2 {"b":2}']);
    await fake.finish('c1', '{"a":1}');
    expect(rec.log.slice(-3)).toEqual(['finished lookup ok', 'result c1 {"a":1}', 'reply']);
    expect(rec.log.filter((l) => l === 'reply')).toHaveLength(1);
  });

  it('runs a call only once the response that asked for it has completed', async () => {
    const { fake, rec, turns } = setup();
    turns.toolCall({ callId: 'c1', name: 'lookup', arguments: '{}' });
    expect(rec.log).toEqual([]);
    turns.responseDone('completed');
    expect(rec.log).toEqual(['started lookup']);
    await fake.finish('c1');
    expect(rec.log.at(-1)).toBe('reply');
  });

  it('drops, unrun, the calls of a response that was cancelled (barge-in) or cut short', () => {
    const dropped: string[] = [];
    const clock = new ManualClock();
    const fake = fakeTools(['refund']);
    const rec = recordingPort();
    const turns = new ToolTurns({ tools: fake.tools, port: rec.port, clock, fillerAfterMs: 1200, dropped: (names, status) => dropped.push(`${names.join(',')} ${status}`) });
    turns.toolCall({ callId: 'c1', name: 'refund', arguments: '{"order_id":"1"' });
    turns.responseDone('cancelled');
    turns.toolCall({ callId: 'c2', name: 'refund', arguments: '{}' });
    turns.responseDone('incomplete');
    clock.advance(5000);
    expect(rec.log).toEqual([]);
    expect(turns.pending).toBe(0);
    expect(dropped).toEqual(['refund cancelled', 'refund incomplete']);
  });

  it('says the holding phrase once after fillerAfterMs, in the call language', async () => {
    const { clock, fake, rec, turns } = setup();
    turns.toolCall({ callId: 'c1', name: 'lookup', arguments: '{}' });
    turns.responseDone();
    clock.advance(1199);
    expect(rec.log.some((l) => l.startsWith('say'))).toBe(false);
    clock.advance(1);
    expect(rec.log.at(-1)).toBe(`say[${FILLER_PURPOSE}] ${holdingInstructions('de-DE', undefined)}`);
    expect(rec.log.at(-1)).toContain('in de-DE');
    clock.advance(5000);
    expect(rec.log.filter((l) => l.startsWith('say'))).toHaveLength(1);
    turns.responseDone(); // the filler finished
    await fake.finish('c1');
    expect(rec.log.at(-1)).toBe('reply');
  });

  it('no holding phrase for a fast tool, nor over the caller or the bot', async () => {
    const fast = setup();
    fast.turns.toolCall({ callId: 'c1', name: 'lookup', arguments: '{}' });
    fast.turns.responseDone();
    await fast.fake.finish('c1');
    fast.clock.advance(5000);
    expect(fast.rec.log.some((l) => l.startsWith('say'))).toBe(false);

    const state = { caller: true, bot: false };
    const busy = setup({ state });
    busy.turns.toolCall({ callId: 'c1', name: 'lookup', arguments: '{}' });
    busy.turns.responseDone();
    busy.clock.advance(2000);
    expect(busy.rec.log.some((l) => l.startsWith('say'))).toBe(false);
    // Once the caller stops and the tool is still running, the phrase follows (once).
    state.caller = false;
    busy.clock.advance(250);
    expect(busy.rec.log.filter((l) => l.startsWith('say'))).toHaveLength(1);
    busy.clock.advance(5000);
    expect(busy.rec.log.filter((l) => l.startsWith('say'))).toHaveLength(1);
  });

  it("uses the bot's own holding phrase verbatim", () => {
    const { clock, rec, turns } = setup({ holdingPhrase: 'Einen Moment bitte.' });
    turns.toolCall({ callId: 'c1', name: 'lookup', arguments: '{}' });
    turns.responseDone();
    clock.advance(1200);
    expect(rec.log.at(-1)).toBe(`say[${FILLER_PURPOSE}] Say exactly this to the caller, and nothing else: "Einen Moment bitte."`);
  });

  it('a barge-in does not cancel the tool: its result still goes back, the reply after the current response', async () => {
    const { fake, rec, turns, clock } = setup();
    turns.toolCall({ callId: 'c1', name: 'lookup', arguments: '{}' });
    turns.responseDone();
    clock.advance(1200); // filler said, then the caller barges in; the model answers the caller
    turns.responseDone();
    await fake.finish('c1', '{"x":1}');
    expect(rec.log.slice(-2)).toEqual(['result c1 {"x":1}', 'reply']);
  });

  it('hang-up cancels running tools and drops their results', async () => {
    const { fake, rec, turns, clock } = setup();
    turns.toolCall({ callId: 'c1', name: 'lookup', arguments: '{}' });
    turns.responseDone();
    turns.close();
    await new Promise((r) => setImmediate(r));
    expect(fake.released()).toBe(true);
    expect(rec.log).toEqual(['started lookup', 'finished lookup cancelled']);
    clock.advance(5000);
    turns.toolCall({ callId: 'c2', name: 'lookup', arguments: '{}' });
    expect(rec.log).toHaveLength(2);
  });
});
