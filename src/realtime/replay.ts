/**
 * Carrying a conversation into a new model session (after a drop or a renewal). Everything goes into ONE
 * system note: the resume instruction and the recent turns as text ("Caller: …" / "You: …"), older turns
 * folded and bounded. No assistant `output_text` items: a conversation holding client-created assistant
 * text is a known trigger of text-only replies (the caller would hear silence), and assistant audio the
 * model did not produce cannot be created at all. No user items either, so the order stays the note's.
 */
import type { ConversationItemCreateEvent } from 'openai/resources/realtime/realtime';

export interface ReplayTurn {
  role: 'caller' | 'bot';
  text: string;
  truncated?: boolean;
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

function line(turn: ReplayTurn): string {
  if (turn.role === 'caller') return `Caller: ${turn.pending && turn.text.trim() === '' ? '[words not transcribed]' : clip(turn.text)}`;
  return `You: ${clip(turn.text)}${turn.truncated ? ' [interrupted by the caller]' : ''}`;
}

function clip(text: string): string {
  const t = text.trim();
  return t.length > MAX_TURN_CHARS ? `${t.slice(0, MAX_TURN_CHARS)}…` : t;
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
 * (even if their words are not known) — unless a tool's result is still owed: the model answered them with
 * the tool call (a function call has no words, so the transcript shows their turn unanswered), and the
 * reply that carries the result is requested when it arrives (src/tools/tool-turns.ts). Asking here too
 * would have the caller hear two replies, the first without the result.
 */
export function resumePlan(conversation: ResumeConversation, limits: ReplayLimits = DEFAULT_REPLAY_LIMITS): ResumePlan {
  const { turns, toolReplyPending } = conversation;
  return { items: buildReplayItems(turns, limits, toolReplyPending), requestReply: callerAwaitsReply(turns) && !toolReplyPending };
}

export function buildReplayItems(
  turns: readonly ReplayTurn[],
  limits: ReplayLimits = DEFAULT_REPLAY_LIMITS,
  toolReplyPending = false,
): ConversationItemCreateEvent[] {
  const kept = turns.filter((t) => t.text.trim() !== '' || (t.role === 'caller' && t.pending));
  const recent = kept.slice(Math.max(0, kept.length - limits.maxItems));
  const older = kept.slice(0, kept.length - recent.length);
  let note = RESUME_NOTE;
  if (older.length > 0) {
    let earlier = older.map(line).join('\n');
    if (earlier.length > limits.maxSummaryChars) earlier = `…${earlier.slice(earlier.length - limits.maxSummaryChars)}`;
    note += `\nEarlier in this call:\n${earlier}`;
  }
  if (recent.length > 0) note += `\nThe call so far (most recent last):\n${recent.map(line).join('\n')}`;
  const last = recent.at(-1);
  const wordsLost = last?.role === 'caller' && last.pending === true && last.text.trim() === '';
  if (wordsLost) note += `\n${PENDING_NOTE}`;
  else if (last?.role === 'caller' && !toolReplyPending) note += `\n${ANSWER_NOTE}`;
  if (toolReplyPending) note += `\n${TOOL_NOTE}`;
  return [{ type: 'conversation.item.create', item: { type: 'message', role: 'system', content: [{ type: 'input_text', text: note }] } }];
}

/** Whether the caller spoke last (even if their words are not known yet), i.e. the new session owes them a reply. */
export function callerAwaitsReply(turns: readonly ReplayTurn[]): boolean {
  const last = turns.filter((t) => t.text.trim() !== '' || (t.role === 'caller' && t.pending)).at(-1);
  return last?.role === 'caller';
}
