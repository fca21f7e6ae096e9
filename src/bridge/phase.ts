/**
 * The call's phase table, as data (like src/audiohook/state.ts): what the call does with each kind of
 * input in each phase, and which phase changes are legal. The bridge consults it instead of flags.
 *
 * - conversing: the normal call (the model may still be connecting);
 * - farewell: the bot decided to end (end_call, transfer_to_agent, max duration); the farewell plays, caller
 *   audio and keys no longer reach the model (they could only start turns that cut the farewell);
 * - ending: `end(ending)` runs (src/bridge/ending.ts): summary, outputs, disconnect, record;
 * - ended: the record went to the sink.
 */
export type CallPhase = 'conversing' | 'farewell' | 'ending' | 'ended';

export const CALL_PHASES: readonly CallPhase[] = ['conversing', 'farewell', 'ending', 'ended'];

/** What may happen in a phase. */
export interface PhaseRules {
  /** Caller audio goes to the model. */
  callerAudio: boolean;
  /** Keypad digits are collected and given to the model. */
  dtmf: boolean;
  /** Model audio is queued for the caller. */
  botAudio: boolean;
  /** The call may start a bot ending (tool call, max duration). */
  botMayEnd: boolean;
  /** Caller speech interrupts bot audio (barge-in). */
  bargeIn: boolean;
  /** An AudioHook language update re-configures the model. */
  languageUpdate: boolean;
  /** Bot turns are reported to Genesys as `bot_turn_response` events (BOT_TURN_EVENTS). */
  botTurnEvents: boolean;
  /** The model's calls of configured tools (src/tools) run. */
  tools: boolean;
}

//                                  callerAudio dtmf   botAudio botMayEnd bargeIn languageUpdate botTurnEvents tools
export const PHASE_RULES: Readonly<Record<CallPhase, Readonly<PhaseRules>>> = {
  conversing: rules(true, true, true, true, true, true, true, true),
  farewell: /**/ rules(false, false, true, false, true, true, true, false),
  ending: /*  */ rules(false, false, false, false, false, false, false, false),
  ended: /*   */ rules(false, false, false, false, false, false, false, false),
};

/** Legal phase changes. Any ending may interrupt a farewell (hang-up, shutdown, model loss, failure). */
export const PHASE_TRANSITIONS: Readonly<Record<CallPhase, readonly CallPhase[]>> = {
  conversing: ['farewell', 'ending'],
  farewell: ['ending'],
  ending: ['ended'],
  ended: [],
};

export function canMove(from: CallPhase, to: CallPhase): boolean {
  return PHASE_TRANSITIONS[from].includes(to);
}

/** The call's current phase: moves only along PHASE_TRANSITIONS. */
export class CallPhaseState {
  private current: CallPhase = 'conversing';

  get phase(): CallPhase {
    return this.current;
  }

  allows(what: keyof PhaseRules): boolean {
    return PHASE_RULES[this.current][what];
  }

  /** Moves to `to` when legal; false (and no change) otherwise. */
  moveTo(to: CallPhase): boolean {
    if (!canMove(this.current, to)) return false;
    this.current = to;
    return true;
  }
}

function rules(
  callerAudio: boolean,
  dtmf: boolean,
  botAudio: boolean,
  botMayEnd: boolean,
  bargeIn: boolean,
  languageUpdate: boolean,
  botTurnEvents: boolean,
  tools: boolean,
): PhaseRules {
  return { callerAudio, dtmf, botAudio, botMayEnd, bargeIn, languageUpdate, botTurnEvents, tools };
}
