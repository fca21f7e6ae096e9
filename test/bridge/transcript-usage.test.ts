import { describe, expect, it } from 'vitest';
import { MAX_TOOL_RESULTS, MAX_TRANSCRIPT_CHARS, Transcript } from '../../src/bridge/transcript.js';
import { addUsage, emptyUsage } from '../../src/bridge/usage.js';

describe('Transcript', () => {
  it('keeps the last MAX_TRANSCRIPT_CHARS of caller and bot text: the oldest turns are forgotten and counted', () => {
    expect(MAX_TRANSCRIPT_CHARS).toBe(200_000);
    const t = new Transcript(1_000);
    let previous: string | null = null;
    for (let i = 0; i < 30; i++) {
      const id = `i${i}`;
      t.itemAdded(id, previous, i % 2 === 0 ? 'caller' : 'bot');
      if (i % 2 === 0) t.callerText(id, `${i}:`.padEnd(100, 'c'));
      else t.botText(id, `${i}:`.padEnd(100, 'b'));
      previous = id;
    }
    t.toolResult('lookup', 'x'.repeat(5_000)); // tool results have their own bound, not this one
    const turns = t.turns();
    expect(turns).toHaveLength(10);
    expect(turns[0]!.text.startsWith('20:')).toBe(true);
    expect(turns.at(-1)!.text.startsWith('29:')).toBe(true);
    expect(t.droppedTurns).toBe(20);
    expect(turns.reduce((n, x) => n + x.text.length, 0)).toBeLessThanOrEqual(1_000);
    // A late caller transcript of a kept turn still lands in its place; one over the bound alone is kept.
    const big = new Transcript(50);
    big.itemAdded('u', null, 'caller');
    big.callerText('u', 'y'.repeat(80));
    expect(big.turns()).toHaveLength(1);
    expect(big.droppedTurns).toBe(0);
  });

  it('orders turns by item chain even when caller transcription arrives late', () => {
    const t = new Transcript();
    t.itemAdded('u1', null, 'caller');
    t.itemAdded('b1', 'u1', 'bot');
    t.botText('b1', 'Hello! How can I help?');
    t.itemAdded('u2', 'b1', 'caller');
    t.itemAdded('b2', 'u2', 'bot');
    t.botText('b2', 'Sure, one moment.');
    t.callerText('u2', 'I need my balance.');
    t.callerText('u1', 'Hi');
    expect(t.turns().map((x) => `${x.role}:${x.text}`)).toEqual([
      'caller:Hi',
      'bot:Hello! How can I help?',
      'caller:I need my balance.',
      'bot:Sure, one moment.',
    ]);
  });
  it('inserts an item after its previous item when added out of order', () => {
    const t = new Transcript();
    t.itemAdded('a', null, 'caller');
    t.itemAdded('c', 'a', 'bot');
    t.itemAdded('b', 'a', 'caller'); // inserted right after a, before c
    t.callerText('a', '1');
    t.callerText('b', '2');
    t.botText('c', '3');
    expect(t.turns().map((x) => x.text)).toEqual(['1', '2', '3']);
  });
  it('marks interrupted bot turns and skips items without text', () => {
    const t = new Transcript();
    t.itemAdded('u1', null, 'caller');
    t.itemAdded('b1', 'u1', 'bot');
    t.botText('b1', 'Let me explain the whole');
    t.markTruncated('b1');
    expect(t.turns()).toEqual([{ role: 'bot', itemId: 'b1', text: 'Let me explain the whole', truncated: true }]);
    expect(t.toText()).toBe('Bot: Let me explain the whole [interrupted]');
  });
});

describe('Transcript tool results', () => {
  it('are replayed where they went in, never part of the turns or the summary text; a holding phrase is marked', () => {
    const t = new Transcript();
    t.itemAdded('u1', null, 'caller');
    t.callerText('u1', 'Refund order 5121.');
    t.itemAdded('b0', 'u1', 'bot');
    t.botText('b0', 'One moment.', true);
    t.toolResult('issue_refund', '{"refund_id":"R-1"}');
    t.itemAdded('b1', 'unknown_output_item', 'bot');
    t.botText('b1', 'Refund R-1 is issued.');
    expect(t.replayTurns()).toEqual([
      { role: 'caller', text: 'Refund order 5121.' },
      { role: 'bot', text: 'One moment.', aside: true },
      { role: 'tool', name: 'issue_refund', text: '{"refund_id":"R-1"}' },
      { role: 'bot', text: 'Refund R-1 is issued.' },
    ]);
    expect(t.turns().map((x) => x.role)).toEqual(['caller', 'bot', 'bot']);
    expect(t.toText()).not.toContain('R-1"');
  });

  it(`keeps at most ${MAX_TOOL_RESULTS}, forgetting the oldest`, () => {
    const t = new Transcript();
    for (let i = 0; i < MAX_TOOL_RESULTS + 10; i++) t.toolResult('lookup', `{"n":${i}}`);
    const kept = t.replayTurns();
    expect(kept).toHaveLength(MAX_TOOL_RESULTS);
    expect(kept[0]).toEqual({ role: 'tool', name: 'lookup', text: '{"n":10}' });
  });
});

describe('usage', () => {
  it('sums every response and keeps cached tokens as a subset of input', () => {
    const usage = {
      total_tokens: 150,
      input_tokens: 100,
      output_tokens: 50,
      input_token_details: { text_tokens: 40, audio_tokens: 60, cached_tokens: 30 },
      output_token_details: { text_tokens: 10, audio_tokens: 40 },
    };
    const totals = addUsage(addUsage(emptyUsage(), usage), usage);
    expect(totals).toEqual({
      responses: 2,
      totalTokens: 300,
      inputTokens: 200,
      outputTokens: 100,
      inputTextTokens: 80,
      inputAudioTokens: 120,
      cachedTokens: 60,
      outputTextTokens: 20,
      outputAudioTokens: 80,
      transcriptions: 0,
      transcriptionInputTokens: 0,
      transcriptionOutputTokens: 0,
      transcriptionSeconds: 0,
    });
    expect(totals.totalTokens).toBe(totals.inputTokens + totals.outputTokens);
  });
  it('counts a response without usage and ignores junk numbers', () => {
    const totals = addUsage(addUsage(emptyUsage(), undefined), { input_tokens: -5, output_tokens: Number.NaN });
    expect(totals.responses).toBe(2);
    expect(totals.inputTokens).toBe(0);
    expect(totals.outputTokens).toBe(0);
  });
});

describe('transcription usage: the cost of caller transcriptions is counted', () => {
  it('adds token and duration usage of caller transcriptions in their own fields', async () => {
    const { addTranscriptionUsage } = await import('../../src/bridge/usage.js');
    let totals = addTranscriptionUsage(emptyUsage(), { type: 'tokens', input_tokens: 30, output_tokens: 8, total_tokens: 38 });
    totals = addTranscriptionUsage(totals, { type: 'duration', seconds: 2.5 });
    totals = addTranscriptionUsage(totals, undefined);
    expect(totals).toMatchObject({ transcriptions: 2, transcriptionInputTokens: 30, transcriptionOutputTokens: 8, transcriptionSeconds: 2.5, totalTokens: 0 });
    // Response usage keeps the transcription fields.
    expect(addUsage(totals, { total_tokens: 5, input_tokens: 5, output_tokens: 0 })).toMatchObject({ transcriptions: 2, totalTokens: 5 });
  });
});

describe('the call record of a transcript cut to its bound', () => {
  it('says how many earlier turns were left out, and says nothing when none were', async () => {
    const { buildCallRecord } = await import('../../src/bridge/record.js');
    const facts = {
      context: { sessionId: 's', correlationId: 'c', organizationId: 'o', conversationId: 'v', connectorId: '' },
      startedAt: new Date(0),
      endedAt: new Date(1000),
      endReason: 'caller_hangup' as const,
      summary: { summary: '', sentiment: 'neutral' as const, resolved: false, follow_ups: [], source: 'fallback' as const },
      transcript: [],
      usage: emptyUsage(),
      model: 'm',
    };
    expect(buildCallRecord({ ...facts, transcriptTurnsDropped: 12 }).transcript_turns_dropped).toBe(12);
    expect('transcript_turns_dropped' in buildCallRecord({ ...facts, transcriptTurnsDropped: 0 })).toBe(false);
  });
});
