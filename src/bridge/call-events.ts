/**
 * What one call tells the outside world while it runs: a typed stream of milestones for the live console
 * (src/console), traces and tests. The bridge publishes; listeners must be cheap and must not throw (an
 * exception is caught and logged by the publisher). Publishing never blocks a call: a listener that needs
 * to do slow work queues it itself, bounded.
 *
 * Privacy: events carry no caller number, no secret and no DTMF digits (only how many). Transcript text
 * travels only in `transcript` events; a listener that must not see it (console with transcripts off)
 * drops those events before they leave the process.
 */
import type { CallRecord, DeliveryResult } from './webhook.js';

/** What the call is doing now, for a live view. */
export type CallActivity =
  | 'connecting'
  | 'greeting'
  | 'listening'
  | 'caller_speaking'
  | 'bot_speaking'
  | 'tool_running'
  | 'ending';

interface CallEventBase {
  /** Unique per call (not the AudioHook session id, which a client can reuse). */
  callId: string;
  /** Wall-clock epoch milliseconds. */
  at: number;
}

export type CallEvent = CallEventBase &
  (
    | {
        type: 'call.started';
        sessionId: string;
        conversationId: string;
        connectorId: string;
        /** The bot profile's name ('' when the deployment has one bot from env). */
        bot: string;
        /** The instance carrying the call (hostname/pid or fleet instance id). */
        instance: string;
      }
    | { type: 'activity'; activity: CallActivity }
    | { type: 'caller.speech_started' }
    | { type: 'caller.speech_stopped' }
    | { type: 'bot.speech_started'; responseId: string }
    | { type: 'bot.speech_stopped'; responseId: string }
    | { type: 'barge_in'; responseId?: string }
    /** DTMF entered: digits are never published, only how many. */
    | { type: 'dtmf'; count: number }
    | { type: 'tool.started'; toolCallId: string; name: string }
    | { type: 'tool.finished'; toolCallId: string; name: string; outcome: 'ok' | 'error' | 'timeout' | 'cancelled'; durationMs: number }
    | { type: 'model.reconnected'; purpose: 'reconnect' | 'renewal' }
    /** A finished turn's text (caller transcription or the bot's spoken transcript). Personal data. */
    | { type: 'transcript'; role: 'caller' | 'bot'; text: string }
    /** The call is over; record is what the webhook receives, delivery its outcome (if attempted yet). */
    | { type: 'call.ended'; record: CallRecord; delivery?: DeliveryResult }
  );

export type CallEventType = CallEvent['type'];

export interface CallEventListener {
  onCallEvent(event: CallEvent): void;
}
