/**
 * The bot's farewell: the one reply asked for when the bot ends the call, and the wait until the caller has
 * heard it. The wait ends when that reply is done and its audio has drained from the pacer, or when the
 * call cannot play it (model lost, caller gone) — bounded either way, so an ending never hangs on it.
 */
import type { Clock } from '../util/clock.js';
import { deferred, within, type Deferred } from '../util/timers.js';
import type { Ending } from './ending.js';

/** The `purpose` the farewell reply is requested with, so its response id can be recognised. */
export const FAREWELL_PURPOSE = 'farewell';

export class Farewell {
  private done: Deferred<void> | undefined;
  private responseId: string | undefined;

  /** The farewell was asked for; `played` waits for it from now on. */
  begin(): void {
    this.done = deferred<void>();
  }

  responseCreated(responseId: string, purpose: string | undefined): void {
    if (purpose === FAREWELL_PURPOSE) this.responseId = responseId;
  }

  responseDone(responseId: string): void {
    if (responseId === this.responseId) this.done?.resolve();
  }

  /** Nothing more will play (no model, call work stopped): stop waiting for the reply. */
  abandon(): void {
    this.done?.resolve();
  }

  /** Waits, within `limitMs` in total, for the reply to finish and then for its audio to drain. */
  async played(clock: Clock, whenDrained: () => Promise<void>, limitMs: number): Promise<{ farewellHeard: boolean; drained: boolean }> {
    const deadline = clock.now() + limitMs;
    const farewellHeard = this.done ? await within(clock, this.done.promise, limitMs) : true;
    const drained = await within(clock, whenDrained(), Math.max(0, deadline - clock.now()));
    return { farewellHeard, drained };
  }
}

/** A bot ending decided by the conversation (tool call, max duration), waiting for its farewell. */
export type BotEnding = Extract<Ending, { kind: 'bot_ended' | 'escalated' }>;

/** MAX_CALL_DURATION reached: an apology and a goodbye. */
export const MAX_DURATION_FAREWELL =
  'The call has reached its maximum length. In one or two short sentences, apologise that you have to end the call now, and say goodbye.';

/**
 * The ending the model asked for with end_call / transfer_to_agent, and the farewell to say. The reason is
 * the model's (bounded); ending the call must not depend on well-formed arguments, so bad JSON keeps a default.
 */
export function toolEnding(transfer: boolean, rawArguments: string): { ending: BotEnding; instructions: string } {
  let reason = '';
  try {
    const parsed = JSON.parse(rawArguments) as { reason?: unknown };
    if (typeof parsed.reason === 'string') reason = parsed.reason.trim().slice(0, 500);
  } catch {
    // keep the default reason
  }
  return transfer
    ? {
        ending: { kind: 'escalated', reason: reason || 'transfer requested' },
        instructions: 'In one short sentence, tell the caller you are transferring them to a colleague now.',
      }
    : { ending: { kind: 'bot_ended', reason: reason || 'conversation complete' }, instructions: 'In one short sentence, say goodbye to the caller.' };
}
