/**
 * Carrying a conversation into a new model session (after a drop or a renewal): the recent turns as
 * conversation items — caller turns as user `input_text`, bot turns as assistant `output_text` (the GA
 * shapes conversation.item.create accepts per role) — and anything older folded into one system item,
 * so a long call does not replay hundreds of items or overflow the context.
 */
import type { ConversationItemCreateEvent } from 'openai/resources/realtime/realtime';

export interface ReplayTurn {
  role: 'caller' | 'bot';
  text: string;
  truncated?: boolean;
}

export interface ReplayLimits {
  /** The most recent turns replayed as items. */
  maxItems: number;
  /** Characters of older turns kept in the summary item (the oldest are cut). */
  maxSummaryChars: number;
}

export const DEFAULT_REPLAY_LIMITS: ReplayLimits = { maxItems: 24, maxSummaryChars: 6000 };

const RESUME_NOTE =
  'The connection was briefly interrupted and has been restored. Continue the same call naturally; ' +
  'do not greet the caller again or repeat what was already said.';

export function buildReplayItems(turns: readonly ReplayTurn[], limits: ReplayLimits = DEFAULT_REPLAY_LIMITS): ConversationItemCreateEvent[] {
  const withText = turns.filter((t) => t.text.trim() !== '');
  const recent = withText.slice(Math.max(0, withText.length - limits.maxItems));
  const older = withText.slice(0, withText.length - recent.length);
  const events: ConversationItemCreateEvent[] = [];
  let note = RESUME_NOTE;
  if (older.length > 0) {
    let earlier = older.map((t) => `${t.role === 'caller' ? 'Caller' : 'You'}: ${t.text}`).join('\n');
    if (earlier.length > limits.maxSummaryChars) earlier = `…${earlier.slice(earlier.length - limits.maxSummaryChars)}`;
    note += `\nEarlier in this call:\n${earlier}`;
  }
  events.push({ type: 'conversation.item.create', item: { type: 'message', role: 'system', content: [{ type: 'input_text', text: note }] } });
  for (const turn of recent) {
    events.push(
      turn.role === 'caller'
        ? { type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: turn.text }] } }
        : {
            type: 'conversation.item.create',
            item: {
              type: 'message',
              role: 'assistant',
              content: [{ type: 'output_text', text: turn.truncated ? `${turn.text} [interrupted by the caller]` : turn.text }],
            },
          },
    );
  }
  return events;
}

/** Whether the caller spoke last, i.e. the new session owes them a reply. */
export function callerAwaitsReply(turns: readonly ReplayTurn[]): boolean {
  return turns.at(-1)?.role === 'caller';
}
