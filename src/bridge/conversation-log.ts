/**
 * What was said on the call and what it cost: the transcript (replayed into a new model session, summarised,
 * recorded), the usage totals of both models, and the transcript as it happens — `transcript` call events
 * for the console, and Genesys `bot_turn_response` events when BOT_TURN_EVENTS is on.
 */
import type { CallControl } from '../audiohook/handler.js';
import type { CallEventPublisher } from './call-publisher.js';
import { Transcript } from './transcript.js';
import { addTranscriptionUsage, addUsage, emptyUsage, type UsageTotals } from './usage.js';

export interface ConversationLogOptions {
  events: CallEventPublisher;
  control: CallControl;
  /** Bot turns go to Genesys as `bot_turn_response` events now (the setting is on and the phase allows it). */
  botTurnEvents: () => boolean;
}

export class ConversationLog {
  readonly transcript = new Transcript();
  private totals: UsageTotals = emptyUsage();

  constructor(private readonly o: ConversationLogOptions) {}

  get usage(): UsageTotals {
    return this.totals;
  }

  /** A reply finished (or an out-of-band one, such as the summary): its usage counts. */
  responseDone(usage: Parameters<typeof addUsage>[1]): void {
    this.totals = addUsage(this.totals, usage);
  }

  callerTranscript(itemId: string, text: string, usage: Parameters<typeof addTranscriptionUsage>[1]): void {
    this.totals = addTranscriptionUsage(this.totals, usage);
    this.transcript.callerText(itemId, text);
    if (text.trim() !== '') this.o.events.publish({ type: 'transcript', role: 'caller', text });
  }

  /**
   * The bot's words; a reply the caller barged into is only marked cut (its text is not what they heard).
   * `holdingPhrase`: said while a tool ran, it answers no tool result (replay.ts owedToolResults).
   */
  botTranscript(itemId: string, text: string, cutByCaller: boolean, holdingPhrase = false): void {
    this.transcript.botText(itemId, text, holdingPhrase);
    if (cutByCaller) {
      this.transcript.markTruncated(itemId);
      return;
    }
    if (text.trim() === '') return;
    this.o.events.publish({ type: 'transcript', role: 'bot', text });
    if (this.o.botTurnEvents()) this.o.control.sendEvent([{ type: 'bot_turn_response', data: { disposition: 'match', text: text.trim() } }]);
  }
}
