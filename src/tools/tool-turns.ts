/**
 * A call's tool turns: what happens between the model asking for a tool and the model speaking again.
 * Pure decision logic on an injected clock and a narrow port (the model session's verbs), so it is tested
 * without sockets and never blocks the model-event path:
 *
 * - a tool call runs once the response that asked for it has completed: `function_call_arguments.done` is
 *   also emitted for a response that was cancelled (barge-in) or cut short, and a call from such a response
 *   is dropped, never run — a half-asked refund must not happen (the model asks again if still needed);
 * - calls run concurrently and off the model-event path (the event handlers return immediately);
 * - each result goes back as soon as it is ready (`sendToolResult`, no reply yet); one reply is requested
 *   when no tool of the turn is still running and the response that asked for them has finished (several
 *   calls in one response → all outputs, then one reply);
 * - after `fillerAfterMs` without all results, the bot says one short holding phrase (in the call's
 *   language and persona: the model speaks it with the session's instructions) — not over the caller or
 *   the bot: while someone speaks it waits, and it is said only if the tool is still running after;
 * - barge-in does not cancel a running tool: its result still goes back, and the reply is scheduled after
 *   whatever the model is saying to the caller then (the model session serialises replies);
 * - `close()` (hang-up) cancels running tools: their results are dropped, the records say `cancelled`;
 * - the model session may be replaced (reconnect, renewal) while a tool runs: the new session does not
 *   know the call (the replay carries no function calls, and the API refuses a function_call_output for an
 *   unknown call id with `invalid_tool_call_id`). A result for a call asked in an earlier session goes back
 *   as a system note naming the tool, with its (already bounded, redacted) output, then a reply; results
 *   that arrive while no session is ready wait for the next one (at most one per running tool). Calls of a
 *   response the replaced session never finished are dropped like those of a cancelled response. While a
 *   reply is owed here (`owesReply`) the replacement is not asked for one of its own (replay.ts resumePlan);
 * - a result already given to a session that drops before its reply finished is not lost: `delivered`
 *   records it in the call's conversation, and the replay gives it to the replacement (replay.ts).
 */
import type { Clock, TimerHandle } from '../util/clock.js';
import type { CallTools } from './registry.js';
import type { ToolOutcome } from './result.js';

export interface ToolTurnPort {
  sendToolResult(callId: string, output: string): void;
  /** Adds a system note to the conversation (no reply requested). */
  addNote(text: string): void;
  /** One reply after the outputs (scheduled after any response in progress). */
  requestReply(): void;
  /** A spoken one-off with these instructions and no tool calls. */
  say(instructions: string, purpose: string): void;
  callerSpeaking(): boolean;
  botSpeaking(): boolean;
  /** Tool calls the port handles itself (end_call, transfer_to_agent): not executed here. */
  handlesItself?(name: string): boolean;
  started?(event: { toolCallId: string; name: string }): void;
  /**
   * A result went to the current model session (as output or as a late-result note). The call records it
   * so that a replacement session, if this one drops before answering it, learns it (replay.ts).
   */
  delivered?(event: { name: string; output: string }): void;
  finished?(event: { toolCallId: string; name: string; outcome: 'ok' | 'error' | 'timeout' | 'cancelled'; durationMs: number }): void;
}

export interface ToolTurnsOptions {
  tools: CallTools;
  port: ToolTurnPort;
  clock: Clock;
  fillerAfterMs: number;
  /** The call's language (e.g. en-US or German), for the holding phrase. */
  language?: string;
  /** The bot's own holding phrase (profile `holding_phrase`): said exactly. */
  holdingPhrase?: string;
  /** Calls of a response that did not complete were dropped unrun (for the log). */
  dropped?: (names: string[], status: string) => void;
}

export const FILLER_PURPOSE = 'tool_filler';
/** While the caller or the bot is speaking when the holding phrase is due, look again this often. */
const FILLER_RECHECK_MS = 250;

/** Instructions for the holding phrase. */
export function holdingInstructions(language: string | undefined, phrase: string | undefined): string {
  if (phrase) return `Say exactly this to the caller, and nothing else: "${phrase}"`;
  return (
    `In one short sentence${language ? ` in ${language}` : ' in the language of the conversation'}, tell the caller you are ` +
    `checking and it will take a moment (for example: "One moment while I check that."). Say nothing else, ` +
    `do not guess the result.`
  );
}

/** The note carrying a result whose call the current model session does not know. */
export function lateResultNote(name: string, output: string): string {
  return (
    `The result of the tool "${name}" you called earlier has arrived (the connection was restored meanwhile, ` +
    `so it comes as this note): ${output}\nUse it to answer the caller now; do not call the tool again for this.`
  );
}

type AskedCall = { callId: string; name: string; arguments: string };
/** A call with the model session generation that asked for it. */
type SessionCall = AskedCall & { generation: number };

export class ToolTurns {
  /** Calls of the response still streaming: run when it completes, dropped when it does not. */
  private readonly asked = new Map<string, SessionCall>();
  private readonly running = new Map<string, string>();
  private resultsOwed = false;
  private responseStreaming = false;
  private fillerTimer: TimerHandle | undefined;
  private fillerSaid = false;
  private closed = false;
  /** Counts model session replacements: a call's result goes back as output only to the session that asked. */
  private generation = 0;
  /** A model session is ready (false between a replacement's start and its `ready`). */
  private sessionLive = true;
  /** Results of calls from an earlier session, waiting for the replacement to be ready. */
  private readonly heldNotes: Array<{ name: string; output: string }> = [];

  constructor(private readonly options: ToolTurnsOptions) {}

  /** Whether this runner executes the named function (a configured tool of this call). */
  handles(name: string): boolean {
    return this.options.tools.has(name) && !(this.options.port.handlesItself?.(name) ?? false);
  }

  /** Tool calls running now. */
  get pending(): number {
    return this.running.size;
  }

  /**
   * A reply will be requested here: a tool is running, or a result went back (or waits for the next
   * session) and its reply is not requested yet. A replacement session is then not asked for one of its own.
   */
  get owesReply(): boolean {
    return !this.closed && (this.running.size > 0 || this.resultsOwed);
  }

  /** The model asked for a tool (from the model-event path: returns at once). */
  toolCall(call: AskedCall): void {
    if (this.closed || this.running.has(call.callId) || this.asked.has(call.callId)) return;
    this.asked.set(call.callId, { ...call, generation: this.generation });
    this.responseStreaming = true;
  }

  /**
   * A model response finished (the one carrying the calls, a filler, or a reply to the caller). `status`
   * is the response's: calls it asked for run only when it is `completed`.
   */
  responseDone(status: string = 'completed'): void {
    const asked = [...this.asked.values()];
    this.asked.clear();
    this.responseStreaming = false;
    if (status === 'completed') for (const call of asked) this.run(call);
    else if (asked.length > 0) this.options.dropped?.(asked.map((c) => c.name), status);
    this.maybeReply();
  }

  /**
   * The model session is being replaced (reconnect or renewal): a response still streaming never
   * completes, so its calls are dropped; results arriving now wait for `sessionReady`.
   */
  sessionReplaced(): void {
    this.generation += 1;
    this.sessionLive = false;
    const asked = [...this.asked.values()];
    this.asked.clear();
    this.responseStreaming = false;
    if (asked.length > 0) this.options.dropped?.(asked.map((c) => c.name), 'session_replaced');
  }

  /** The replacement session is ready: held results go to it as notes, then the reply. */
  sessionReady(): void {
    if (this.sessionLive) return;
    this.sessionLive = true;
    if (this.closed) return;
    for (const note of this.heldNotes.splice(0)) {
      this.options.port.addNote(lateResultNote(note.name, note.output));
      this.options.port.delivered?.(note);
    }
    this.maybeReply();
  }

  private run(call: SessionCall): void {
    if (this.closed) return;
    this.running.set(call.callId, call.name);
    this.options.port.started?.({ toolCallId: call.callId, name: call.name });
    if (this.running.size === 1) {
      this.fillerSaid = false;
      this.options.clock.clearTimeout(this.fillerTimer);
      this.fillerTimer = this.options.clock.setTimeout(() => this.fillerDue(), this.options.fillerAfterMs);
    }
    void this.options.tools
      .execute(call.name, call.arguments, { toolCallId: call.callId })
      .then((result) => this.finished(call, result.outcome, result.output, result.durationMs));
  }

  /** Hang-up: running tools are cancelled and their results dropped. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.options.clock.clearTimeout(this.fillerTimer);
    this.options.tools.release();
  }

  private finished(call: SessionCall, outcome: ToolOutcome, output: string, durationMs: number): void {
    this.running.delete(call.callId);
    this.options.port.finished?.({ toolCallId: call.callId, name: call.name, outcome: outcome === 'limited' ? 'error' : outcome, durationMs });
    if (this.closed) return;
    if (!this.sessionLive) this.heldNotes.push({ name: call.name, output });
    else {
      if (call.generation !== this.generation) this.options.port.addNote(lateResultNote(call.name, output));
      else this.options.port.sendToolResult(call.callId, output);
      this.options.port.delivered?.({ name: call.name, output });
    }
    this.resultsOwed = true;
    if (this.running.size === 0) this.options.clock.clearTimeout(this.fillerTimer);
    this.maybeReply();
  }

  private maybeReply(): void {
    if (this.closed || !this.resultsOwed || this.running.size > 0 || this.responseStreaming || !this.sessionLive) return;
    this.resultsOwed = false;
    this.options.port.requestReply();
  }

  private fillerDue(): void {
    this.fillerTimer = undefined;
    if (this.closed || this.running.size === 0 || this.fillerSaid) return;
    if (!this.sessionLive || this.options.port.callerSpeaking() || this.options.port.botSpeaking()) {
      // Not over someone speaking; if the tool is still running once they are done, the phrase follows.
      this.fillerTimer = this.options.clock.setTimeout(() => this.fillerDue(), FILLER_RECHECK_MS);
      return;
    }
    this.fillerSaid = true;
    this.options.port.say(holdingInstructions(this.options.language, this.options.holdingPhrase), FILLER_PURPOSE);
  }
}
