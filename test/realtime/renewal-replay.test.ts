import { describe, expect, it } from 'vitest';
import { renewalDecision } from '../../src/realtime/renewal.js';
import { buildReplayItems, callerAwaitsReply } from '../../src/realtime/replay.js';

describe('renewalDecision', () => {
  const quiet = { renewAfterMs: 55 * 60_000, botAudioOutstanding: false, responseActive: false, callerSpeaking: false };

  it('is not due before the age threshold', () => {
    expect(renewalDecision({ ...quiet, sessionAgeMs: 55 * 60_000 - 1 })).toBe('not_due');
  });

  it('renews at a quiet moment once due', () => {
    expect(renewalDecision({ ...quiet, sessionAgeMs: 55 * 60_000 })).toBe('renew_now');
  });

  it('waits while bot audio is outstanding, a response runs or the caller speaks', () => {
    const due = { ...quiet, sessionAgeMs: 56 * 60_000 };
    expect(renewalDecision({ ...due, botAudioOutstanding: true })).toBe('wait_for_quiet');
    expect(renewalDecision({ ...due, responseActive: true })).toBe('wait_for_quiet');
    expect(renewalDecision({ ...due, callerSpeaking: true })).toBe('wait_for_quiet');
  });
});

describe('buildReplayItems', () => {
  const turns = [
    { role: 'caller' as const, text: 'Where is my order?' },
    { role: 'bot' as const, text: 'What is the order number?', truncated: true },
    { role: 'caller' as const, text: 'It is 4417.' },
  ];

  it('replays caller turns as user input_text and bot turns as assistant output_text, after a resume note', () => {
    const items = buildReplayItems(turns);
    expect(items.map((e) => e.item)).toEqual([
      { type: 'message', role: 'system', content: [{ type: 'input_text', text: expect.stringContaining('interrupted and has been restored') }] },
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Where is my order?' }] },
      { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'What is the order number? [interrupted by the caller]' }] },
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'It is 4417.' }] },
    ]);
    expect(items.every((e) => e.type === 'conversation.item.create')).toBe(true);
  });

  it('folds older turns into the system item, bounded, and keeps the recent ones as items', () => {
    const long = Array.from({ length: 30 }, (_, i) => ({ role: i % 2 === 0 ? ('caller' as const) : ('bot' as const), text: `turn ${i} ${'x'.repeat(50)}` }));
    const items = buildReplayItems(long, { maxItems: 4, maxSummaryChars: 300 });
    expect(items).toHaveLength(5);
    const note = (items[0]!.item as { content: Array<{ text: string }> }).content[0]!.text;
    expect(note).toContain('Earlier in this call');
    expect(note).toContain('turn 25');
    expect(note).not.toContain('turn 0 ');
    expect(note.length).toBeLessThan(300 + 400);
    expect((items[1]!.item as { content: Array<{ text: string }> }).content[0]!.text).toMatch(/^turn 26/);
  });

  it('skips empty turns; knows when the caller is owed a reply', () => {
    expect(buildReplayItems([{ role: 'caller', text: '  ' }])).toHaveLength(1);
    expect(callerAwaitsReply(turns)).toBe(true);
    expect(callerAwaitsReply(turns.slice(0, 2))).toBe(false);
    expect(callerAwaitsReply([])).toBe(false);
  });
});
