/**
 * Collects caller keypad digits into one input for the model: `#` ends the entry, or a pause longer than
 * the inter-digit timeout does. Digits may be PINs: never log them above debug, and not even there by default.
 */
import type { ConversationItemCreateEvent } from 'openai/resources/realtime/realtime';
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../util/clock.js';

export const DTMF_DIGITS = /^[0-9*#A-D]$/;

export interface DtmfCollectorOptions {
  clock: Clock;
  /** Emit the entry after this much time without a new digit. */
  interDigitTimeoutMs?: number;
  /** Emit once this many digits are gathered (a runaway entry never grows without bound). */
  maxDigits?: number;
  onDigits: (digits: string) => void;
}

export class DtmfCollector {
  private digits = '';
  private timer: TimerHandle | undefined;
  private stopped = false;
  private readonly timeoutMs: number;
  private readonly maxDigits: number;

  constructor(private readonly options: DtmfCollectorOptions) {
    this.timeoutMs = options.interDigitTimeoutMs ?? 3000;
    this.maxDigits = options.maxDigits ?? 32;
  }

  /** Adds one key; unknown keys are ignored. */
  push(digit: string): void {
    if (this.stopped || !DTMF_DIGITS.test(digit)) return;
    this.options.clock.clearTimeout(this.timer);
    this.timer = undefined;
    if (digit === '#') {
      // A lone '#' is itself meaningful input ("press pound to continue").
      this.emit(this.digits === '' ? '#' : this.digits);
      return;
    }
    this.digits += digit;
    if (this.digits.length >= this.maxDigits) {
      this.emit(this.digits);
      return;
    }
    this.timer = this.options.clock.setTimeout(() => {
      this.timer = undefined;
      this.emit(this.digits);
    }, this.timeoutMs);
  }

  /** Drops any partial entry and ignores further digits. */
  stop(): void {
    this.stopped = true;
    this.options.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.digits = '';
  }

  private emit(digits: string): void {
    this.digits = '';
    if (digits !== '') this.options.onDigits(digits);
  }
}

/** The user text item that tells the model what was pressed (SIP-only DTMF events do not exist on WebSocket). */
export function dtmfItemEvent(digits: string): ConversationItemCreateEvent {
  return { type: 'conversation.item.create', item: dtmfItem(digits) };
}

export function dtmfItem(digits: string): ConversationItemCreateEvent['item'] {
  return { type: 'message', role: 'user', content: [{ type: 'input_text', text: `The caller pressed the keypad digits: ${digits}` }] };
}

/** What the keypad relay needs of the model session. */
export interface KeypadModel {
  readonly isReady: boolean;
  addItem(item: ConversationItemCreateEvent['item']): void;
  requestReply(): void;
}

export interface KeypadRelayOptions {
  clock: Clock;
  interDigitTimeoutMs?: number;
  model: () => KeypadModel | undefined;
  /** The call still takes keypad input (its phase allows it). */
  accepting: () => boolean;
  /** Told the length of each entry given to the model (never the digits). */
  onEntry: (count: number) => void;
  log: Logger;
}

/**
 * Keypad entries held while no model session is ready (the call's first second, a reconnect): a caller who
 * presses keys then is answered once the session is ready. Bounded (each entry is at most maxDigits keys);
 * past it the oldest entry is dropped.
 */
export const MAX_HELD_KEYPAD_ENTRIES = 8;

/** The call's keypad: digits gathered into entries, each given to the model as caller input with a reply asked for. */
export class KeypadRelay {
  private readonly collector: DtmfCollector;
  private held: string[] = [];

  constructor(private readonly o: KeypadRelayOptions) {
    this.collector = new DtmfCollector({
      clock: o.clock,
      ...(o.interDigitTimeoutMs !== undefined ? { interDigitTimeoutMs: o.interDigitTimeoutMs } : {}),
      onDigits: (digits) => this.relay(digits),
    });
  }

  push(digit: string): void {
    if (this.o.accepting()) this.collector.push(digit);
  }

  stop(): void {
    this.collector.stop();
    this.held = [];
  }

  /** A model session became ready: the entries held meanwhile go to it, in order. */
  modelReady(): void {
    const held = this.held;
    this.held = [];
    for (const digits of held) this.relay(digits);
  }

  private relay(digits: string): void {
    if (!this.o.accepting()) return;
    const model = this.o.model();
    if (!model?.isReady) {
      if (this.held.push(digits) > MAX_HELD_KEYPAD_ENTRIES) {
        this.held.shift();
        this.o.log.warn({ held: MAX_HELD_KEYPAD_ENTRIES }, 'keypad entries held for the model over the bound; the oldest dropped');
      } else this.o.log.info({ length: digits.length }, 'keypad entry held until the model session is ready');
      return;
    }
    this.o.log.info({ length: digits.length }, 'keypad entry sent to the model');
    this.o.onEntry(digits.length);
    model.addItem(dtmfItem(digits));
    model.requestReply();
  }
}
