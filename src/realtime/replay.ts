/**
 * Carrying a conversation into a new model session (after a drop or a renewal). Everything goes into ONE
 * system note: the resume instruction and the recent turns as text ("Caller: …" / "You: …"), older turns
 * folded and bounded. No assistant `output_text` items: a conversation holding client-created assistant
 * text is a known trigger of text-only replies (the caller would hear silence), and assistant audio the
 * model did not produce cannot be created at all. No user items either, so the order stays the note's.
 *
 * Tool results the model was given are turns too (no function_call_output items: the new session does
 * not know the call ids, and the API refuses an output for an unknown call). A result with no bot words
 * after it was never answered (the drop cut the reply to it): it is OWED — written out whole (it is
 * already bounded and redacted by the tool runner, src/tools/registry.ts) and the new session is told to
 * answer with it and not to call the tool again. A result that was answered is history like any turn.
 */
import type { ConversationItemCreateEvent } from 'openai/resources/realtime/realtime';

export interface ReplayTurn {
  role: 'caller' | 'bot' | 'tool';
  /** A tool turn's text is the output the model was given (JSON, bounded and redacted). */
  text: string;
  /** A tool turn's tool name. */
  name?: string;
  truncated?: boolean;
  /**
   * A bot holding phrase ("One moment while I check"): it answers no tool result, even when its words come
   * after the result (its request went out before the result did).
   */
  aside?: boolean;
  /** A caller turn whose words are not known (transcript not arrived, failed, or transcription off). */
  pending?: boolean;
}

export interface ReplayLimits {
  /** The most recent turns written out one per line. */
  maxItems: number;
  /** Characters of older turns kept (the oldest are cut). */
  maxSummaryChars: number;
}

export const DEFAULT_REPLAY_LIMITS: ReplayLimits = { maxItems: 24, maxSummaryChars: 6000 };

/** One turn in the note is capped: a runaway transcript must not crowd out the rest. */
const MAX_TURN_CHARS = 1500;

const RESUME_NOTE =
  'The connection was briefly interrupted and has been restored. Continue the same call naturally, speaking ' +
  'to the caller as before; do not greet the caller again or repeat what was already said.';
const PENDING_NOTE =
  'The caller has just spoken, but their words were lost in the interruption: apologise briefly and ask them ' +
  'to repeat what they said.';
const ANSWER_NOTE = "The caller's last words above have not been answered yet: answer them now.";
const TOOL_NOTE =
  'A tool you called is still running, or its result is on its way: it will follow as a note. Do not call it ' +
  'again and do not guess its result; answer with it once it is here.';

/**
 * Owed tool results are written out in full (the model answers with them), up to this many characters
 * together; beyond it the older ones are cut first, so a model calling tools without ever speaking cannot
 * grow the note without bound (each output is already capped by TOOL_MAX_OUTPUT_CHARS).
 */
export const MAX_OWED_RESULTS_CHARS = 32_000;

/** Characters each owed result may use in the note, newest first within MAX_OWED_RESULTS_CHARS. */
function owedBudgets(turns: readonly ReplayTurn[], owed: readonly number[]): Map<number, number> {
  const budgets = new Map<number, number>();
  let left = MAX_OWED_RESULTS_CHARS;
  for (const i of [...owed].reverse()) {
    const allowed = Math.max(MAX_TURN_CHARS, left);
    budgets.set(i, allowed);
    left = Math.max(0, left - Math.min(allowed, turns[i]!.text.trim().length));
  }
  return budgets;
}

function line(turn: ReplayTurn, owedBudget?: number): string {
  if (turn.role === 'tool') {
    const text = owedBudget === undefined ? clip(turn.text) : clip(turn.text, owedBudget);
    return `Result of the tool "${turn.name ?? 'unknown'}" you called: ${text}${owedBudget !== undefined ? ' [not answered yet]' : ''}`;
  }
  if (turn.role === 'caller') return `Caller: ${turn.pending && turn.text.trim() === '' ? '[words not transcribed]' : clip(turn.text)}`;
  return `You: ${clip(turn.text)}${turn.truncated ? ' [interrupted by the caller]' : ''}`;
}

function owedNote(names: readonly string[], moreToCome: boolean): string {
  const which = [...new Set(names)].map((n) => `"${n}"`).join(', ');
  return (
    `The tool results above marked [not answered yet] (${which}) reached you just before the interruption and you have ` +
    `not answered the caller with them. Do not call these tools again for this: they have already run. ` +
    (moreToCome ? 'Answer the caller with these results together with the one still to come.' : 'Answer the caller with these results now.')
  );
}

function clip(text: string, max = MAX_TURN_CHARS): string {
  const t = text.trim();
  return t.length > max ? `${t.slice(0, max)}…` : t;
}

/**
 * What a replacement session is given: the conversation so far and whether a tool's result is still owed
 * to it (a tool the model called is running, or its result waits for this session).
 */
export interface ResumeConversation {
  turns: readonly ReplayTurn[];
  toolReplyPending: boolean;
}

export interface ResumePlan {
  items: ConversationItemCreateEvent[];
  /** Whether the new session is asked for a reply now. */
  requestReply: boolean;
}

/**
 * The one decision on resuming a conversation in a new session. A caller who spoke last is owed a reply
 * (even if their words are not known), and so is a tool result the model was given whose reply did not
 * finish (`owedToolResults`) — unless a tool's reply is still owed by the tool runner: the model answered
 * the caller with the tool call (a function call has no words, so the transcript shows their turn
 * unanswered), and the reply that carries the result is requested when it arrives (src/tools/tool-turns.ts).
 * Asking here too would have the caller hear two replies, the first without the result.
 */
export function resumePlan(conversation: ResumeConversation, limits: ReplayLimits = DEFAULT_REPLAY_LIMITS): ResumePlan {
  const { turns, toolReplyPending } = conversation;
  const owed = owedToolResults(turns).length > 0;
  return { items: buildReplayItems(turns, limits, toolReplyPending), requestReply: (callerAwaitsReply(turns) || owed) && !toolReplyPending };
}

/**
 * Tool results with no bot words after them (a holding phrase aside): given to the model, but the reply to
 * them never finished (its transcript is what marks a reply as said). Indexes into `turns`.
 */
export function owedToolResults(turns: readonly ReplayTurn[]): number[] {
  const owed: number[] = [];
  for (let i = turns.length - 1; i >= 0; i--) {
    const t = turns[i]!;
    if (t.role === 'bot' && t.text.trim() !== '' && !t.aside) break;
    if (t.role === 'tool') owed.unshift(i);
  }
  return owed;
}

export function buildReplayItems(
  turns: readonly ReplayTurn[],
  limits: ReplayLimits = DEFAULT_REPLAY_LIMITS,
  toolReplyPending = false,
): ConversationItemCreateEvent[] {
  const kept = turns.filter((t) => t.text.trim() !== '' || (t.role === 'caller' && t.pending));
  const owedList = owedToolResults(kept);
  const owedAt = new Set(owedList);
  const budgets = owedBudgets(kept, owedList);
  // Owed results are always written out, however many turns came before them.
  const firstOwed = owedAt.size > 0 ? Math.min(...owedAt) : kept.length;
  const recentFrom = Math.min(firstOwed, Math.max(0, kept.length - limits.maxItems));
  const lineAt = (i: number) => line(kept[i]!, budgets.get(i));
  const older = kept.slice(0, recentFrom).map((_, i) => lineAt(i));
  const recent = kept.slice(recentFrom).map((_, i) => lineAt(recentFrom + i));
  let note = RESUME_NOTE;
  if (older.length > 0) {
    let earlier = older.join('\n');
    if (earlier.length > limits.maxSummaryChars) earlier = `…${earlier.slice(earlier.length - limits.maxSummaryChars)}`;
    note += `\nEarlier in this call:\n${earlier}`;
  }
  if (recent.length > 0) note += `\nThe call so far (most recent last):\n${recent.join('\n')}`;
  const spoken = kept.filter((t) => t.role !== 'tool');
  const last = spoken.at(-1);
  const wordsLost = last?.role === 'caller' && last.pending === true && last.text.trim() === '';
  if (wordsLost) note += `\n${PENDING_NOTE}`;
  else if (last?.role === 'caller' && !toolReplyPending && owedAt.size === 0) note += `\n${ANSWER_NOTE}`;
  if (owedAt.size > 0) note += `\n${owedNote([...owedAt].map((i) => kept[i]!.name ?? 'unknown'), toolReplyPending)}`;
  if (toolReplyPending) note += `\n${TOOL_NOTE}`;
  return [{ type: 'conversation.item.create', item: { type: 'message', role: 'system', content: [{ type: 'input_text', text: note }] } }];
}

/** Whether the caller spoke last (even if their words are not known yet), i.e. the new session owes them a reply. */
export function callerAwaitsReply(turns: readonly ReplayTurn[]): boolean {
  const last = turns.filter((t) => t.role !== 'tool' && (t.text.trim() !== '' || (t.role === 'caller' && t.pending))).at(-1);
  return last?.role === 'caller';
}
