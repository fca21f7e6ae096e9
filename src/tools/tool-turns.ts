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
 * - `close()` (hang-up) cancels running tools: their results are dropped, the records say `cancelled`.
 */
import type { Clock, TimerHandle } from '../util/clock.js';
import type { CallTools } from './registry.js';
import type { ToolOutcome } from './result.js';

export interface ToolTurnPort {
  sendToolResult(callId: string, output: string): void;
  /** One reply after the outputs (scheduled after any response in progress). */
  requestReply(): void;
  /** A spoken one-off with these instructions and no tool calls. */
  say(instructions: string, purpose: string): void;
  callerSpeaking(): boolean;
  botSpeaking(): boolean;
  /** Tool calls the port handles itself (end_call, transfer_to_agent): not executed here. */
  handlesItself?(name: string): boolean;
  started?(event: { toolCallId: string; name: string }): void;
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

type AskedCall = { callId: string; name: string; arguments: string };

export class ToolTurns {
  /** Calls of the response still streaming: run when it completes, dropped when it does not. */
  private readonly asked = new Map<string, AskedCall>();
  private readonly running = new Map<string, string>();
  private resultsOwed = false;
  private responseStreaming = false;
  private fillerTimer: TimerHandle | undefined;
  private fillerSaid = false;
  private closed = false;

  constructor(private readonly options: ToolTurnsOptions) {}

  /** Whether this runner executes the named function (a configured tool of this call). */
  handles(name: string): boolean {
    return this.options.tools.has(name) && !(this.options.port.handlesItself?.(name) ?? false);
  }

  /** Tool calls running now. */
  get pending(): number {
    return this.running.size;
  }

  /** The model asked for a tool (from the model-event path: returns at once). */
  toolCall(call: AskedCall): void {
    if (this.closed || this.running.has(call.callId) || this.asked.has(call.callId)) return;
    this.asked.set(call.callId, call);
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

  private run(call: AskedCall): void {
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

  private finished(call: { callId: string; name: string }, outcome: ToolOutcome, output: string, durationMs: number): void {
    this.running.delete(call.callId);
    this.options.port.finished?.({ toolCallId: call.callId, name: call.name, outcome: outcome === 'limited' ? 'error' : outcome, durationMs });
    if (this.closed) return;
    this.options.port.sendToolResult(call.callId, output);
    this.resultsOwed = true;
    if (this.running.size === 0) this.options.clock.clearTimeout(this.fillerTimer);
    this.maybeReply();
  }

  private maybeReply(): void {
    if (this.closed || !this.resultsOwed || this.running.size > 0 || this.responseStreaming) return;
    this.resultsOwed = false;
    this.options.port.requestReply();
  }

  private fillerDue(): void {
    this.fillerTimer = undefined;
    if (this.closed || this.running.size === 0 || this.fillerSaid) return;
    if (this.options.port.callerSpeaking() || this.options.port.botSpeaking()) {
      // Not over someone speaking; if the tool is still running once they are done, the phrase follows.
      this.fillerTimer = this.options.clock.setTimeout(() => this.fillerDue(), FILLER_RECHECK_MS);
      return;
    }
    this.fillerSaid = true;
    this.options.port.say(holdingInstructions(this.options.language, this.options.holdingPhrase), FILLER_PURPOSE);
  }
}
