/**
 * The conversation as the emulator holds it, and the item shapes it reports (SDK `ConversationItem`):
 * entries, the client item checks the real API makes, retrieved-item shapes and the caller's
 * transcription events. Pure functions.
 */
import type { ConversationItem } from 'openai/resources/realtime/realtime';
import type { ConversationItemInput } from './client-events.js';
import { invalidRequest, type RealtimeErrorBody } from './errors.js';
import type { ServerEventBody } from './server-events.js';

export interface ConversationEntry {
  id: string;
  type: 'message' | 'function_call' | 'function_call_output';
  role: 'user' | 'assistant' | 'system' | null;
  /** Text or transcript as known to the emulator. */
  text: string;
  /** Assistant audio delivered (ms), null for non-audio items. */
  audioMs: number | null;
  truncatedAtMs: number | null;
  name?: string;
  callId?: string;
}

/**
 * What the API refuses in a client-created item beyond its schema: assistant audio content without words
 * (the server cannot take audio it did not produce; the exact wording is unverified).
 */
export function itemProblem(item: ConversationItemInput, clientEventId: string | null): RealtimeErrorBody | null {
  if (item.type !== 'message' || item.role !== 'assistant') return null;
  const index = item.content.findIndex((c) => c.type === 'output_audio' && !c.transcript);
  if (index < 0) return null;
  return invalidRequest(
    'invalid_value',
    "Assistant messages with 'output_audio' content must include a 'transcript'; audio content cannot be created by the client.",
    `item.content[${index}]`,
    clientEventId,
  );
}

/** A client item as conversation.item.added/done echo it. */
export function itemShape(item: ConversationItemInput, id: string): ConversationItem {
  return { ...item, id, object: 'realtime.item', status: 'completed' } as ConversationItem;
}

/** The caller's audio item; the real API sends `transcript: null` until transcription completes (the SDK types say string). */
export function userAudioItem(id: string): ConversationItem {
  return { id, object: 'realtime.item', type: 'message', role: 'user', status: 'completed', content: [{ type: 'input_audio', transcript: null }] } as unknown as ConversationItem;
}

export function retrievedItem(entry: ConversationEntry): ConversationItem {
  const common = { id: entry.id, object: 'realtime.item', status: 'completed' } as const;
  if (entry.type === 'function_call') return { ...common, type: 'function_call', name: entry.name ?? '', arguments: entry.text, ...(entry.callId ? { call_id: entry.callId } : {}) };
  if (entry.type === 'function_call_output') return { ...common, type: 'function_call_output', output: entry.text, call_id: entry.callId ?? '' };
  return { ...common, type: 'message', role: entry.role, content: [] } as unknown as ConversationItem;
}

/** The caller transcription's events: a delta then completed (with usage), or failed. */
export function transcriptionEvents(itemId: string, transcript: string): ServerEventBody[] {
  const audioTokens = Math.max(1, Math.ceil(transcript.length / 3));
  const textTokens = Math.ceil(transcript.length / 4);
  return [
    { type: 'conversation.item.input_audio_transcription.delta', item_id: itemId, content_index: 0, delta: transcript },
    {
      type: 'conversation.item.input_audio_transcription.completed',
      item_id: itemId,
      content_index: 0,
      transcript,
      usage: { type: 'tokens', total_tokens: audioTokens + textTokens, input_tokens: audioTokens, output_tokens: textTokens, input_token_details: { audio_tokens: audioTokens, text_tokens: 0 } },
    },
  ];
}

export function transcriptionFailedEvent(itemId: string, message = 'Audio file might be corrupted or unsupported'): ServerEventBody {
  return {
    type: 'conversation.item.input_audio_transcription.failed',
    item_id: itemId,
    content_index: 0,
    error: { type: 'transcription_error', code: 'audio_unintelligible', message },
  };
}

/** The words of `text` the caller heard when audio is cut at `audioEndMs` of `haveMs` (the server drops the rest). */
export function truncatedText(text: string, audioEndMs: number, haveMs: number): string {
  if (haveMs <= 0) return text;
  const words = text.split(/(?<=\s)/);
  return words.slice(0, Math.round((words.length * audioEndMs) / haveMs)).join('').trim();
}
