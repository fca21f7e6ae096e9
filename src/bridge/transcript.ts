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
  role?: Turn['role'];
  text?: string;
  truncated?: boolean;
}

export class Transcript {
  private readonly order: string[] = [];
  private readonly entries = new Map<string, Entry>();

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

  botText(itemId: string, text: string): void {
    this.setText(itemId, 'bot', text);
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
      if (!e?.role || !e.text) continue;
      out.push({ role: e.role, itemId, text: e.text, ...(e.truncated ? { truncated: true } : {}) });
    }
    return out;
  }

  /**
   * The conversation for a replacement model session: turns with text, plus caller items whose words are
   * not known yet (transcript pending or failed) as `pending`, so a caller who spoke just before a drop is
   * still owed a reply.
   */
  replayTurns(): ReplayTurn[] {
    const out: ReplayTurn[] = [];
    for (const itemId of this.order) {
      const e = this.entries.get(itemId);
      if (!e?.role) continue;
      if (e.text) out.push({ role: e.role, text: e.text, ...(e.truncated ? { truncated: true } : {}) });
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
    entry.text = text.trim();
  }
}
