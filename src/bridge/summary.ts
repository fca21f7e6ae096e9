/**
 * The end-of-call summary: an out-of-band text response on the call's own model session (it sees the whole
 * conversation and adds nothing to it), parsed into a fixed schema, with a transcript-only fallback when the
 * model is unusable (expired, dropped, timed out).
 */
import { z } from 'zod';
import type { RealtimeResponse, ResponseCreateEvent } from 'openai/resources/realtime/realtime';
import type { Turn } from './transcript.js';

export const SUMMARY_PURPOSE = 'call_summary';
const MAX_SUMMARY_CHARS = 1500;

export const callSummarySchema = z.object({
  summary: z.string(),
  sentiment: z.enum(['positive', 'neutral', 'negative']),
  resolved: z.boolean(),
  escalation_reason: z.string().optional(),
  // Lenient: a model that leaves out follow-ups still gave a usable summary.
  follow_ups: z.array(z.string()).default([]),
});
export type CallSummary = z.infer<typeof callSummarySchema>;

/** model: parsed JSON; model_text: the model answered but not in JSON; fallback: built from our transcript. */
export type SummarySource = 'model' | 'model_text' | 'fallback';
export type SummaryResult = CallSummary & { source: SummarySource };

export const SUMMARY_INSTRUCTIONS = [
  'The phone call is over. Do not speak to the caller. Write an internal summary of the whole conversation for the',
  'contact-centre agent or system that handles this call next. Answer with ONE JSON object only, no prose, no code fence:',
  '{"summary": "<2-3 sentences: why the caller called and what happened>",',
  ' "sentiment": "positive" | "neutral" | "negative",',
  ' "resolved": true | false,',
  ' "escalation_reason": "<only if the caller needs a human; omit otherwise>",',
  ' "follow_ups": ["<concrete next actions, may be empty>"]}',
  'Do not include card numbers, PINs, passwords or keypad digits.',
].join('\n');

export function buildSummaryRequest(callId: string, endReason: string): ResponseCreateEvent {
  return {
    type: 'response.create',
    response: {
      conversation: 'none',
      output_modalities: ['text'],
      // metadata values ≤ 512 chars, ≤ 16 pairs.
      metadata: { purpose: SUMMARY_PURPOSE, call: callId.slice(0, 512), end_reason: endReason.slice(0, 512) },
      instructions: SUMMARY_INSTRUCTIONS,
      max_output_tokens: 1024,
    },
  };
}

export function isSummaryResponse(response: Pick<RealtimeResponse, 'metadata'> | undefined): boolean {
  const metadata = response?.metadata as Record<string, unknown> | null | undefined;
  return metadata?.['purpose'] === SUMMARY_PURPOSE;
}

/** The concatenated output_text of a finished response. */
export function responseText(response: RealtimeResponse): string {
  const parts: string[] = [];
  for (const item of response.output ?? []) {
    if (item.type !== 'message') continue;
    for (const content of item.content ?? []) {
      const c = content as { type?: string; text?: string; transcript?: string };
      if (c.type === 'output_text' && c.text) parts.push(c.text);
      else if (c.text) parts.push(c.text);
    }
  }
  return parts.join('').trim();
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Parses the model's answer; tolerates code fences and text around the JSON object. */
export function parseSummaryText(text: string): SummaryResult | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  const start = trimmed.indexOf('{');
  const end = trimmed.lastIndexOf('}');
  if (start >= 0 && end > start) {
    try {
      const parsed = callSummarySchema.safeParse(JSON.parse(trimmed.slice(start, end + 1)));
      if (parsed.success && parsed.data.summary.trim() !== '') {
        return {
          ...parsed.data,
          summary: clip(parsed.data.summary.trim(), MAX_SUMMARY_CHARS),
          follow_ups: parsed.data.follow_ups.slice(0, 10).map((f) => clip(f, 300)),
          source: 'model',
        };
      }
    } catch {
      // not JSON: use the text as it is below
    }
  }
  return { summary: clip(trimmed, MAX_SUMMARY_CHARS), sentiment: 'neutral', resolved: false, follow_ups: [], source: 'model_text' };
}

export interface FallbackFacts {
  endReason: string;
  escalationReason?: string;
}

/** A summary built only from our transcript, for when the model cannot produce one. Says so in `source`. */
export function fallbackSummary(turns: readonly Turn[], facts: FallbackFacts): SummaryResult {
  const caller = turns.filter((t) => t.role === 'caller');
  const bot = turns.filter((t) => t.role === 'bot');
  let summary: string;
  if (turns.length === 0) {
    summary = `No conversation was transcribed. The call ended (${facts.endReason}).`;
  } else {
    const first = caller[0]?.text;
    const last = bot[bot.length - 1]?.text;
    summary =
      `Automatic summary (model unavailable): ${caller.length} caller and ${bot.length} bot turns; ended (${facts.endReason}).` +
      (first ? ` The caller first said: "${clip(first, 300)}".` : '') +
      (last ? ` The bot last said: "${clip(last, 300)}".` : '');
  }
  return {
    summary: clip(summary, MAX_SUMMARY_CHARS),
    sentiment: 'neutral',
    resolved: false,
    ...(facts.escalationReason ? { escalation_reason: facts.escalationReason } : {}),
    follow_ups: facts.escalationReason ? ['Transfer to a human agent'] : [],
    source: 'fallback',
  };
}
