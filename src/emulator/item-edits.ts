/**
 * The client's edits to items already in the conversation — retrieve, delete, truncate — checked the way
 * the real API checks them (its error codes and messages). Pure: each returns the one server event to send,
 * either the answer or the error, and changes the conversation only when it succeeds.
 */
import type { ConversationEntry } from './conversation.js';
import { retrievedItem, truncatedText } from './conversation.js';
import { invalidRequest, type RealtimeErrorBody } from './errors.js';
import type { ServerEventBody } from './server-events.js';

export type ItemEditResult = { ok: true; event: ServerEventBody } | { ok: false; error: RealtimeErrorBody };

const notFound = (itemId: string, clientEventId: string | null): ItemEditResult => ({
  ok: false,
  error: invalidRequest('item_not_found', `Item with item_id not found: ${itemId}`, 'item_id', clientEventId),
});

export function retrieveItem(conversation: readonly ConversationEntry[], itemId: string, clientEventId: string | null): ItemEditResult {
  const entry = conversation.find((e) => e.id === itemId);
  if (!entry) return notFound(itemId, clientEventId);
  return { ok: true, event: { type: 'conversation.item.retrieved', item: retrievedItem(entry) } };
}

export function deleteItem(conversation: ConversationEntry[], itemId: string, clientEventId: string | null): ItemEditResult {
  const index = conversation.findIndex((e) => e.id === itemId);
  if (index < 0) return notFound(itemId, clientEventId);
  conversation.splice(index, 1);
  return { ok: true, event: { type: 'conversation.item.deleted', item_id: itemId } };
}

/** Cuts an assistant audio item to what the client says was heard; its text is cut in proportion. */
export function truncateItem(
  conversation: readonly ConversationEntry[],
  edit: { itemId: string; contentIndex: number; audioEndMs: number },
  clientEventId: string | null,
): ItemEditResult {
  const { itemId, contentIndex, audioEndMs } = edit;
  const entry = conversation.find((e) => e.id === itemId);
  if (!entry) return notFound(itemId, clientEventId);
  if (entry.role !== 'assistant' || entry.audioMs === null || contentIndex !== 0) {
    return { ok: false, error: invalidRequest('invalid_value', 'Only assistant messages with audio content can be truncated.', 'item_id', clientEventId) };
  }
  const have = Math.floor(entry.audioMs);
  if (audioEndMs > have) {
    // No stable code for this one in OpenAI's error reference; the message is OpenAI's.
    return {
      ok: false,
      error: invalidRequest('invalid_value', `Audio content of ${have}ms is already shorter than ${audioEndMs}ms`, 'audio_end_ms', clientEventId),
    };
  }
  entry.truncatedAtMs = audioEndMs;
  entry.text = truncatedText(entry.text, audioEndMs, have);
  return { ok: true, event: { type: 'conversation.item.truncated', item_id: itemId, content_index: contentIndex, audio_end_ms: audioEndMs } };
}
