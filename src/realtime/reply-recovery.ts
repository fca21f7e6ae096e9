/**
 * Replies the caller would not hear (issue 12), decided from a finished default-conversation response
 * (pure): text without any audio — a known real-model failure, e.g. after client-created assistant text —
 * or a reply cut short (`incomplete`: content_filter, max_output_tokens). The recovery is one audio-only
 * reply whose instructions keep the call's own (persona, language) and say what to do.
 */
import type { RealtimeResponse } from 'openai/resources/realtime/realtime';

export interface ReplyRecovery {
  /** audiohook_model_errors_total code. */
  metric: string;
  reason: string;
  message: string;
  /** For the audio-only recovery reply: the call's instructions plus what to do now. */
  instructions: string;
}

interface ContentPart {
  type?: string;
  text?: string;
  transcript?: string;
}

function parts(response: RealtimeResponse): ContentPart[] {
  const out: ContentPart[] = [];
  for (const item of response.output ?? []) {
    if (item.type !== 'message') continue;
    for (const part of (item as { content?: ContentPart[] }).content ?? []) out.push(part);
  }
  return out;
}

/** Most of a reply the caller did not hear, quoted in the recovery instructions (bounded). */
const MAX_QUOTED_CHARS = 1000;

export function recoveryFor(response: RealtimeResponse, callInstructions: string): ReplyRecovery | undefined {
  const content = parts(response);
  const hasAudio = content.some((p) => p.type === 'output_audio' || p.type === 'audio');
  if (response.status === 'incomplete') {
    const reason = (response.status_details as { reason?: string } | null | undefined)?.reason ?? 'unknown';
    const what =
      reason === 'max_output_tokens'
        ? 'Your previous reply was cut off because it was too long. Finish your point in one or two short sentences.'
        : 'Your previous reply was cut off before its end. Say briefly, in one or two sentences, what you can help with now.';
    return {
      metric: `incomplete_${reason}`,
      reason,
      message: 'model reply incomplete; asking for a short spoken follow-up',
      instructions: `${callInstructions}\n\n${what}`,
    };
  }
  if (response.status !== 'completed' || hasAudio) return undefined;
  const text = content
    .filter((p) => p.type === 'output_text' || p.type === 'text')
    .map((p) => p.text ?? '')
    .join(' ')
    .trim();
  if (text === '') return undefined;
  const quoted = text.length > MAX_QUOTED_CHARS ? `${text.slice(0, MAX_QUOTED_CHARS)}…` : text;
  return {
    metric: 'text_only_reply',
    reason: 'text_only',
    message: 'model replied in text only (the caller heard nothing); asking for it spoken',
    instructions: `${callInstructions}\n\nYour last reply came out as text only, so the caller did not hear it. Say it to the caller now, out loud, in your own words: "${quoted}"`,
  };
}

/**
 * One recovery per caller turn: a reply the caller would not hear is counted and logged every time, but
 * only the first of a turn gets a recovery reply (a recovery that fails again must not loop).
 */
export class ReplyRecoveryGate {
  private used = false;

  /** A new caller turn (committed): it may get a recovery of its own. */
  newTurn(): void {
    this.used = false;
  }

  /** The recovery to report for a finished reply, and whether to ask for the recovery reply now. */
  check(response: RealtimeResponse, callInstructions: string, mayReply: boolean): { recovery: ReplyRecovery; reply: boolean } | undefined {
    const recovery = recoveryFor(response, callInstructions);
    if (!recovery) {
      // A reply the caller heard: the next failure may be recovered again.
      if (response.status === 'completed') this.used = false;
      return undefined;
    }
    const reply = mayReply && !this.used;
    if (reply) this.used = true;
    return { recovery, reply };
  }
}
