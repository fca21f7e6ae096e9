/**
 * What the emulator sends is typed as the SDK's own `RealtimeServerEvent` (openai@7.57, generated from
 * OpenAI's spec), so a field the real API does not send, or a wrong shape, fails to compile.
 */
import type { RealtimeServerEvent } from 'openai/resources/realtime/realtime';

export type { RealtimeServerEvent };

/** A server event before the emulator stamps its `event_id`. */
export type ServerEventBody = RealtimeServerEvent extends infer E ? (E extends { event_id: string } ? Omit<E, 'event_id'> : never) : never;

/** One server event type's body. */
export type ServerEventOf<T extends RealtimeServerEvent['type']> = Extract<ServerEventBody, { type: T }>;
