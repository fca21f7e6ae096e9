/**
 * Barge-in (OpenAI Realtime `conversation.item.truncate`; AudioHook spec: barge-in): when the caller
 * starts speaking while bot audio is outstanding — playing or queued in the pacer, or a response still
 * streaming — drop every unsent byte, tell Genesys to flush (`barge_in`), truncate each interrupted item
 * to what the caller heard, stop the responses, and ignore their late deltas and transcripts.
 */
import type { Logger } from 'pino';
import type { CallControl } from '../audiohook/handler.js';
import type { OutboundPacer } from '../audio/pacer.js';
import { planBargeInTruncation } from '../audio/truncation.js';
import type { ModelSession } from '../realtime/model-session.js';
import type { Transcript } from './transcript.js';

export interface BargeInOptions {
  pacer: OutboundPacer;
  transcript: Transcript;
  control: CallControl;
  /** The call's model session (none before the call's configuration is known). */
  model: () => ModelSession | undefined;
  log: Logger;
  metrics?: { bargeIns: { inc(): void } };
}

export interface Interruption {
  /** The first interrupted response, if any was streaming or playing. */
  responseId: string | undefined;
  /** Every response whose audio was cut. */
  responseIds: ReadonlySet<string>;
}

export class BargeIn {
  /** Responses whose audio must never reach the caller (barged in). */
  private readonly discarded = new Set<string>();
  private readonly truncatedItems = new Set<string>();

  constructor(private readonly o: BargeInOptions) {}

  isDiscarded(responseId: string): boolean {
    return this.discarded.has(responseId);
  }

  /** The response was interrupted or its item truncated: its transcript is not what the caller heard. */
  wasCut(responseId: string, itemId: string): boolean {
    return this.discarded.has(responseId) || this.truncatedItems.has(itemId);
  }

  /** Caller speech started. Returns what was interrupted, or undefined when no bot audio was outstanding. */
  onCallerSpeech(): Interruption | undefined {
    const { pacer, transcript, control } = this.o;
    const model = this.o.model();
    const streaming = [...(model?.activeResponses ?? [])].filter((id) => !this.discarded.has(id));
    if (!pacer.isPlaying() && streaming.length === 0) return undefined;
    const cut = new Set<string>(streaming);
    // Our own discard set also covers responses that had no audio in the pacer yet.
    for (const id of streaming) this.discarded.add(id);
    // One drop for everything: playingItems() then lists the items this drop interrupted.
    const droppedBytes = pacer.dropAll();
    const items = pacer.playingItems();
    for (const item of items) {
      this.discarded.add(item.responseId);
      cut.add(item.responseId);
    }
    control.sendEvent([{ type: 'barge_in', data: {} }]);
    const targets = planBargeInTruncation(items);
    for (const target of targets) {
      this.truncatedItems.add(target.itemId);
      transcript.markTruncated(target.itemId);
      model?.truncate(target.itemId, target.audioEndMs);
    }
    model?.cancel(streaming);
    this.o.metrics?.bargeIns.inc();
    this.o.log.info({ droppedBytes, truncated: targets.length }, 'barge-in');
    return { responseId: streaming[0] ?? items[0]?.responseId, responseIds: cut };
  }
}
