import { describe, expect, it } from 'vitest';
import { renewalDecision } from '../../src/realtime/renewal.js';
import { buildReplayItems, callerAwaitsReply, MAX_OWED_RESULTS_CHARS, owedToolResults, resumePlan } from '../../src/realtime/replay.js';

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
  const noteOf = (items: ReturnType<typeof buildReplayItems>) => (items[0]!.item as { content: Array<{ text: string }> }).content[0]!.text;

  it('replays the conversation as one system note (no assistant text items: they make replies text-only)', () => {
    const items = buildReplayItems(turns);
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ type: 'conversation.item.create', item: { type: 'message', role: 'system' } });
    const note = noteOf(items);
    expect(note).toContain('interrupted and has been restored');
    expect(note).toContain('Caller: Where is my order?\nYou: What is the order number? [interrupted by the caller]\nCaller: It is 4417.');
    expect(note).toContain('have not been answered yet');
  });

  it('folds older turns, bounded, and writes the recent ones out', () => {
    const long = Array.from({ length: 30 }, (_, i) => ({ role: i % 2 === 0 ? ('caller' as const) : ('bot' as const), text: `turn ${i} ${'x'.repeat(50)}` }));
    const note = noteOf(buildReplayItems(long, { maxItems: 4, maxSummaryChars: 300 }));
    expect(note).toContain('Earlier in this call');
    expect(note).toContain('turn 25');
    expect(note).not.toContain('turn 0 ');
    expect(note.split('The call so far')[1]).toMatch(/^ \(most recent last\):\nCaller: turn 26/);
    expect(note.length).toBeLessThan(300 + 4 * 80 + 600);
  });

  it('a caller turn without words yet still owes a reply, and the note asks the caller to repeat', () => {
    const pending = [...turns.slice(0, 2), { role: 'caller' as const, text: '', pending: true }];
    expect(callerAwaitsReply(pending)).toBe(true);
    expect(noteOf(buildReplayItems(pending))).toContain('ask them to repeat');
  });

  it('skips empty turns; knows when the caller is owed a reply', () => {
    expect(buildReplayItems([{ role: 'caller', text: '  ' }])).toHaveLength(1);
    expect(callerAwaitsReply(turns)).toBe(true);
    expect(callerAwaitsReply(turns.slice(0, 2))).toBe(false);
    expect(callerAwaitsReply([])).toBe(false);
  });
});

describe('resumePlan', () => {
  const asked = [
    { role: 'bot' as const, text: 'Hello, Acme.' },
    { role: 'caller' as const, text: 'Where is my refund?' },
  ];
  const noteOf = (plan: ReturnType<typeof resumePlan>) => (plan.items[0]!.item as { content: Array<{ text: string }> }).content[0]!.text;

  it('asks the new session to answer a caller who spoke last', () => {
    const plan = resumePlan({ turns: asked, toolReplyPending: false });
    expect(plan.requestReply).toBe(true);
    expect(noteOf(plan)).toContain('have not been answered yet');
  });

  it("does not, while a tool's result is owed: that result's reply answers them (one reply, not two)", () => {
    const plan = resumePlan({ turns: asked, toolReplyPending: true });
    expect(plan.requestReply).toBe(false);
    expect(noteOf(plan)).not.toContain('answer them now');
    expect(noteOf(plan)).toContain('will follow as a note');
    expect(noteOf(plan)).toContain('Caller: Where is my refund?');
  });

  it('lost words with a tool pending: no reply now; the note still asks the caller to repeat', () => {
    const plan = resumePlan({ turns: [...asked, { role: 'caller', text: '', pending: true }], toolReplyPending: true });
    expect(plan.requestReply).toBe(false);
    expect(noteOf(plan)).toContain('ask them to repeat');
  });

  it('nothing owed when the bot spoke last, tool or not', () => {
    const turns = [...asked, { role: 'bot' as const, text: 'One moment while I check that.' }];
    expect(resumePlan({ turns, toolReplyPending: false }).requestReply).toBe(false);
    expect(resumePlan({ turns, toolReplyPending: true }).requestReply).toBe(false);
    expect(resumePlan({ turns: [], toolReplyPending: false }).requestReply).toBe(false);
  });

  describe('tool results the model was given', () => {
    const refund = { role: 'tool' as const, name: 'issue_refund', text: '{"refund_id":"R-1","status":"issued"}' };
    const spoke = { role: 'bot' as const, text: 'Your refund R-1 is issued.' };

    it('a result with no bot words after it is owed: in the note whole, not to be run again, one reply now', () => {
      const turns = [...asked, refund];
      expect(owedToolResults(turns)).toEqual([2]);
      const plan = resumePlan({ turns, toolReplyPending: false });
      expect(plan.requestReply).toBe(true);
      const note = noteOf(plan);
      expect(note).toContain('Result of the tool "issue_refund" you called: {"refund_id":"R-1","status":"issued"} [not answered yet]');
      expect(note).toMatch(/Do not call these tools again/);
      expect(note).toContain('Answer the caller with these results now.');
      expect(note).not.toContain('answer them now');
    });

    it('owed results together stay within MAX_OWED_RESULTS_CHARS: the newest whole, older ones cut first', () => {
      const big = (n: number) => ({ role: 'tool' as const, name: `lookup_${n}`, text: `${n}:`.padEnd(20_000, 'x') });
      const turns = [...asked, ...Array.from({ length: 10 }, (_, n) => big(n))];
      expect(owedToolResults(turns)).toHaveLength(10);
      const note = noteOf(resumePlan({ turns, toolReplyPending: false }));
      expect(note.length).toBeLessThan(MAX_OWED_RESULTS_CHARS + 10 * 1600 + 3_000);
      expect(note).toContain(`9:${'x'.repeat(19_998)} [not answered yet]`); // the newest, whole
      expect(note).toContain('Result of the tool "lookup_0" you called: 0:'); // the oldest, still named
      expect(note).toMatch(/lookup_0" you called: 0:x+… \[not answered yet\]/);
    });

    it('a result whose reply was said is history: no reply of its own, no owed note', () => {
      const turns = [...asked, refund, spoke];
      expect(owedToolResults(turns)).toEqual([]);
      const plan = resumePlan({ turns, toolReplyPending: false });
      expect(plan.requestReply).toBe(false);
      expect(noteOf(plan)).toContain('Result of the tool "issue_refund" you called: {"refund_id":"R-1","status":"issued"}\nYou: Your refund R-1 is issued.');
      expect(noteOf(plan)).not.toContain('not answered yet');
    });

    it('a holding phrase after the result does not answer it: still owed', () => {
      const turns = [...asked, refund, { role: 'bot' as const, text: 'One moment while I check that.', aside: true }];
      expect(owedToolResults(turns)).toEqual([2]);
      expect(resumePlan({ turns, toolReplyPending: false }).requestReply).toBe(true);
    });

    it('a reply cut before its words were known does not count: still owed', () => {
      const turns = [...asked, refund, { role: 'bot' as const, text: '', truncated: true }];
      expect(owedToolResults(turns)).toEqual([2]);
      expect(resumePlan({ turns, toolReplyPending: false }).requestReply).toBe(true);
    });

    it('with another tool still owed by the runner: every delivered result owed, no reply now (it follows the last result)', () => {
      const turns = [...asked, refund, { role: 'tool' as const, name: 'order_status', text: '{"status":"returned"}' }];
      expect(owedToolResults(turns)).toEqual([2, 3]);
      const plan = resumePlan({ turns, toolReplyPending: true });
      expect(plan.requestReply).toBe(false);
      expect(noteOf(plan)).toContain('("issue_refund", "order_status")');
      expect(noteOf(plan)).toContain('together with the one still to come');
    });

    it('an owed result is written out whole even when older turns are folded, and a long history result is cut', () => {
      const big = { role: 'tool' as const, name: 'issue_refund', text: `{"detail":"${'x'.repeat(3000)}"}` };
      const chatter = Array.from({ length: 30 }, (_, i) => ({ role: (i % 2 ? 'bot' : 'caller') as 'bot' | 'caller', text: `turn ${i}` }));
      const note = noteOf(resumePlan({ turns: [big, ...chatter, big], toolReplyPending: false }, { maxItems: 4, maxSummaryChars: 100_000 }));
      expect(note).toContain(`${big.text} [not answered yet]`);
      // The earlier (answered) one is history, capped like any turn.
      expect(note.split(big.text)).toHaveLength(2);
    });
  });
});
