/**
 * The call's own transcript, kept independently of the model session (which may expire or drop):
 * caller turns from input transcription, bot turns from output audio transcripts, in conversation order.
 * Transcription events arrive asynchronously, so order comes from item ids and previous_item_id.
 */
import type { ReplayTurn } from '../realtime/replay.js';

export interface Turn {
  role: 'caller' | 'bot';
  itemId: string;
  text: string;
  /** The bot was interrupted: the caller heard only part of this. */
  truncated?: boolean;
}

interface Entry {
  role?: Turn['role'] | 'tool';
  text?: string;
  truncated?: boolean;
  /** A tool result's tool name. */
  name?: string;
  /** A bot holding phrase (said while a tool ran). */
  aside?: boolean;
}

/**
 * Tool results kept for the replay: a model that keeps calling tools (refused ones past
 * TOOL_MAX_CALLS_PER_CALL too) must not grow a call's memory without bound; the oldest are forgotten.
 */
export const MAX_TOOL_RESULTS = 64;

/**
 * Caller and bot text kept (characters, about three hours of conversation): a call that never ends —
 * nothing bounds a call's length unless MAX_CALL_DURATION is set — must not grow its memory, its record
 * or its webhook body without bound. Beyond it the oldest turns are forgotten and counted (the record's
 * `transcript_turns_dropped`).
 */
export const MAX_TRANSCRIPT_CHARS = 200_000;

export class Transcript {
  private readonly order: string[] = [];
  private readonly entries = new Map<string, Entry>();
  private toolResults = 0;
  private readonly toolResultIds: string[] = [];
  private textChars = 0;
  /** Caller and bot turns forgotten to MAX_TRANSCRIPT_CHARS, oldest first. */
  droppedTurns = 0;

  constructor(private readonly maxChars: number = MAX_TRANSCRIPT_CHARS) {}

  /** An item entered the conversation (conversation.item.added / input_audio_buffer.committed). */
  itemAdded(itemId: string, previousItemId: string | null | undefined, role?: Turn['role']): void {
    const existing = this.entries.get(itemId);
    if (existing) {
      if (role && !existing.role) existing.role = role;
      return;
    }
    this.entries.set(itemId, role ? { role } : {});
    const at = previousItemId ? this.order.indexOf(previousItemId) : -1;
    if (at >= 0) this.order.splice(at + 1, 0, itemId);
    else this.order.push(itemId);
  }

  callerText(itemId: string, text: string): void {
    this.setText(itemId, 'caller', text);
  }

  botText(itemId: string, text: string, aside = false): void {
    this.setText(itemId, 'bot', text);
    if (aside) this.entries.get(itemId)!.aside = true;
  }

  /**
   * A tool result was given to the model (its function_call_output, or the note carrying a late result):
   * replayed into a replacement session, never part of the caller/bot turns. The output is the one the
   * model got — already bounded and redacted (src/tools/registry.ts). Its position is where it went in:
   * a reply to it arrives later and goes after it.
   */
  toolResult(name: string, output: string): void {
    this.toolResults += 1;
    const id = `tool_result_${this.toolResults}`;
    this.entries.set(id, { role: 'tool', name, text: output });
    this.order.push(id);
    this.toolResultIds.push(id);
    if (this.toolResultIds.length > MAX_TOOL_RESULTS) {
      const oldest = this.toolResultIds.shift()!;
      this.entries.delete(oldest);
      this.order.splice(this.order.indexOf(oldest), 1);
    }
  }

  markTruncated(itemId: string): void {
    const entry = this.entries.get(itemId);
    if (entry) entry.truncated = true;
    else {
      this.itemAdded(itemId, undefined, 'bot');
      this.entries.get(itemId)!.truncated = true;
    }
  }

  /** Turns with text, in conversation order. */
  turns(): Turn[] {
    const out: Turn[] = [];
    for (const itemId of this.order) {
      const e = this.entries.get(itemId);
      if (!e?.role || e.role === 'tool' || !e.text) continue;
      out.push({ role: e.role, itemId, text: e.text, ...(e.truncated ? { truncated: true } : {}) });
    }
    return out;
  }

  /**
   * The conversation for a replacement model session: turns with text, plus caller items whose words are
   * not known yet (transcript pending or failed) as `pending`, so a caller who spoke just before a drop is
   * still owed a reply; and the tool results the model was given, where they went in.
   */
  replayTurns(): ReplayTurn[] {
    const out: ReplayTurn[] = [];
    for (const itemId of this.order) {
      const e = this.entries.get(itemId);
      if (!e?.role) continue;
      if (e.role === 'tool') out.push({ role: 'tool', name: e.name ?? '', text: e.text ?? '' });
      else if (e.text) out.push({ role: e.role, text: e.text, ...(e.truncated ? { truncated: true } : {}), ...(e.aside ? { aside: true } : {}) });
      else if (e.role === 'caller') out.push({ role: 'caller', text: '', pending: true });
    }
    return out;
  }

  /** Plain text for a summary prompt or a fallback summary. */
  toText(): string {
    return this.turns()
      .map((t) => `${t.role === 'caller' ? 'Caller' : 'Bot'}: ${t.text}${t.truncated ? ' [interrupted]' : ''}`)
      .join('\n');
  }

  private setText(itemId: string, role: Turn['role'], text: string): void {
    if (!this.entries.has(itemId)) this.itemAdded(itemId, undefined, role);
    const entry = this.entries.get(itemId)!;
    entry.role = role;
    this.textChars -= entry.text?.length ?? 0;
    entry.text = text.trim();
    this.textChars += entry.text.length;
    this.forgetOldest(itemId);
  }

  /** Drops the oldest caller/bot turns while the text is over the bound (never `keep`, the newest). */
  private forgetOldest(keep: string): void {
    for (let i = 0; this.textChars > this.maxChars && i < this.order.length; ) {
      const id = this.order[i]!;
      const entry = this.entries.get(id);
      if (id === keep || entry?.role === 'tool' || !entry?.text) {
        i++;
        continue;
      }
      this.textChars -= entry.text.length;
      this.entries.delete(id);
      this.order.splice(i, 1);
      this.droppedTurns++;
    }
  }
}
