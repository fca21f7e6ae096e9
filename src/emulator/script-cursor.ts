/**
 * Where a call is in its script: which reply the next response plays. Pure state, no I/O.
 *
 * Order of precedence for a response: the follow-up owed after a tool output, then the cue of the latest
 * caller turn (audio) or matched text item, then the greeting if not yet played, then text the response's
 * instructions quote (a model told to say "…" says it: holding phrases, farewells), then the fallback.
 *
 * A follow-up may speak the tool's result: `{{output}}` is the whole function_call_output, `{{output.a.b}}`
 * a field of it (JSON), e.g. "Order {{output.result.order_id}} is {{output.result.status}}." The audio
 * stays as the script gives it (a recording, or a tone).
 */
import { DEFAULT_FALLBACK, type CallScript, type ScriptReply, type ScriptToolCall } from './script.js';

export type PlannedOutput =
  | { kind: 'audio'; reply: ScriptReply }
  | { kind: 'function_call'; toolCall: ScriptToolCall; followUp: ScriptReply | undefined };

interface Cue {
  reply?: ScriptReply | undefined;
  toolCall?: ScriptToolCall | undefined;
  followUp?: ScriptReply | undefined;
}

export class ScriptCursor {
  private nextTurn = 0;
  private greeted = false;
  private pendingCue: Cue | null = null;
  private pendingFollowUp: ScriptReply | null = null;
  private readonly followUpsByCallId = new Map<string, ScriptReply>();

  constructor(private readonly script: CallScript) {}

  /** A caller utterance was committed: it consumes the next scripted turn. Returns its transcript, if any. */
  callerTurnCommitted(): string | null {
    const turn = this.script.turns[this.nextTurn];
    if (!turn) {
      this.pendingCue = null;
      return null;
    }
    this.nextTurn += 1;
    this.pendingCue = turn;
    return turn.transcript;
  }

  /** A user text item (e.g. DTMF injected as text) arrived; a matching text cue becomes pending. */
  userText(text: string): boolean {
    const cue = this.script.textCues.find((c) => new RegExp(c.pattern, c.flags).test(text));
    if (!cue) return false;
    this.pendingCue = cue;
    return true;
  }

  /** The client returned a tool's output: the call's follow-up (if any) plays on the next response. */
  toolOutput(callId: string, output?: string): void {
    const followUp = this.followUpsByCallId.get(callId);
    if (followUp) {
      this.followUpsByCallId.delete(callId);
      this.pendingFollowUp = output === undefined ? followUp : withToolOutput(followUp, output);
    }
  }

  /** Decides and consumes what the next in-conversation response contains. */
  planResponse(instructions?: string): PlannedOutput[] {
    if (this.pendingFollowUp) {
      const reply = this.pendingFollowUp;
      this.pendingFollowUp = null;
      return [{ kind: 'audio', reply }];
    }
    if (this.pendingCue) {
      const cue = this.pendingCue;
      this.pendingCue = null;
      const outputs: PlannedOutput[] = [];
      if (cue.reply) outputs.push({ kind: 'audio', reply: cue.reply });
      if (cue.toolCall) outputs.push({ kind: 'function_call', toolCall: cue.toolCall, followUp: cue.followUp });
      return outputs;
    }
    if (!this.greeted) {
      this.greeted = true;
      return [{ kind: 'audio', reply: this.script.greeting }];
    }
    // Only the reply's own request (the last paragraph) counts: a bridge keeps the call's persona before it,
    // and a quote inside the persona ("keypad digits: 1234") is not something to say now.
    const request = instructions?.split(/\n\s*\n/).at(-1);
    const quoted = request === undefined ? undefined : /"([^"]{1,300})"/.exec(request)?.[1];
    if (quoted) return [{ kind: 'audio', reply: spoken(quoted) }];
    return [{ kind: 'audio', reply: this.script.fallback ?? DEFAULT_FALLBACK }];
  }

  /** Registers the call id the emulator gave a planned function call, so its output finds the follow-up. */
  registerCall(callId: string, followUp: ScriptReply | undefined): void {
    if (followUp) this.followUpsByCallId.set(callId, followUp);
  }

  idleReply(): ScriptReply {
    return this.script.idle ?? this.script.fallback ?? DEFAULT_FALLBACK;
  }
}

/** A reply whose audio is a tone as long as the text would take to say (~65 ms per character). */
function spoken(text: string): ScriptReply {
  return { audio: { toneMs: Math.max(500, text.length * 65) }, transcript: text };
}

/** The follow-up with `{{output…}}` filled in from the tool's output. */
function withToolOutput(reply: ScriptReply, output: string): ScriptReply {
  if (!reply.transcript.includes('{{output')) return reply;
  let parsed: unknown = output;
  try {
    parsed = JSON.parse(output) as unknown;
  } catch {
    // plain text output: only {{output}} resolves
  }
  const text = reply.transcript.replace(/\{\{output((?:\.[A-Za-z0-9_-]+)*)\}\}/g, (_m, path: string) => {
    let value: unknown = parsed;
    for (const key of path.split('.').filter(Boolean)) {
      value = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
    }
    if (value === undefined || value === null) return 'unknown';
    return typeof value === 'string' ? value : JSON.stringify(value);
  });
  return { ...reply, transcript: text };
}
