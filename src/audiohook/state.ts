/**
 * The server session's state table (AudioHook spec: server states), as data: which client message is valid in which
 * state, what binary audio means in each state, what the server may send in each state, and which
 * state changes are legal. The session consults these tables instead of scattering ifs.
 *
 * DISCONNECTING is our addition (not in the reference implementation): `disconnect` was sent and we
 * await the client's close transaction. Messages already in flight when we disconnected are ignored
 * there instead of being treated as errors.
 */
import type { SessionState } from './handler.js';
import type { ClientMessageType, ServerMessageType } from './schemas.js';

export type { SessionState } from './handler.js';

export const SESSION_STATES: readonly SessionState[] = [
  'preparing',
  'opening',
  'active',
  'paused',
  'disconnecting',
  'closing',
  'closed',
];

/**
 * What to do with a client message in a state:
 * - accept: handle it;
 * - ignore: log and drop it (duplicates, or messages racing our disconnect/close);
 * - violation: a protocol error → `disconnect error` (only signalled once, see ERROR_SIGNALLING_STATES).
 */
export type Disposition = 'accept' | 'ignore' | 'violation';

type Row = Record<SessionState, Disposition>;

function row(
  preparing: Disposition,
  opening: Disposition,
  active: Disposition,
  paused: Disposition,
  disconnecting: Disposition,
  closing: Disposition,
  closed: Disposition,
): Row {
  return { preparing, opening, active, paused, disconnecting, closing, closed };
}

//                                           preparing    opening      active    paused    disconnecting closing   closed
export const CLIENT_MESSAGE_TABLE: Readonly<Record<ClientMessageType, Row>> = {
  // RI: `open` is accepted only in PREPARING and ignored otherwise.
  open: /*              */ row('accept', 'ignore', 'ignore', 'ignore', 'ignore', 'ignore', 'ignore'),
  // RI: `close` is accepted in any state except CLOSING (and, trivially, CLOSED).
  close: /*             */ row('accept', 'accept', 'accept', 'accept', 'accept', 'ignore', 'ignore'),
  // Keepalive is answered whenever we can still send; an unanswered ping makes the client fail with 408.
  ping: /*              */ row('accept', 'accept', 'accept', 'accept', 'accept', 'accept', 'ignore'),
  paused: /*            */ row('violation', 'violation', 'accept', 'accept', 'ignore', 'ignore', 'ignore'),
  resumed: /*           */ row('violation', 'violation', 'accept', 'accept', 'ignore', 'ignore', 'ignore'),
  update: /*            */ row('violation', 'violation', 'accept', 'accept', 'ignore', 'ignore', 'ignore'),
  discarded: /*         */ row('violation', 'violation', 'accept', 'accept', 'ignore', 'ignore', 'ignore'),
  // A client error is always worth hearing (it tells us what we did wrong), whatever the state.
  error: /*             */ row('accept', 'accept', 'accept', 'accept', 'accept', 'accept', 'ignore'),
  dtmf: /*              */ row('violation', 'violation', 'accept', 'accept', 'ignore', 'ignore', 'ignore'),
  // Playback reports still matter after our disconnect: the farewell may be playing.
  playback_started: /*  */ row('violation', 'violation', 'accept', 'accept', 'accept', 'ignore', 'ignore'),
  playback_completed: /**/ row('violation', 'violation', 'accept', 'accept', 'accept', 'ignore', 'ignore'),
};

/**
 * Binary (audio) frames per state. `drop` = discard quietly (debug log).
 * - Before `opened` there is no media: a protocol error (AudioHook spec: session lifecycle: "no audio flows until opened").
 * - PAUSED: RI treats audio as a client error, but Genesys may have a frame in flight when it sends
 *   `paused`. Killing a live call over that is worse than dropping it, so we drop (our choice, [U]).
 * - DISCONNECTING: the client streams until it starts the close transaction; that is normal.
 * - CLOSING/CLOSED: the client sends no audio after `close`; a late frame is dropped, not signalled
 *   (errors are not signalled once closing).
 */
export type BinaryDisposition = 'accept' | 'drop' | 'violation';
export const BINARY_TABLE: Readonly<Record<SessionState, BinaryDisposition>> = {
  preparing: 'violation',
  opening: 'violation',
  active: 'accept',
  paused: 'drop',
  disconnecting: 'drop',
  closing: 'drop',
  closed: 'drop',
};

/** What the server may send, by state (AudioHook spec: server states and `disconnect`). `audio` = binary frames. */
export type ServerSend = ServerMessageType | 'audio';
export const SERVER_SEND_TABLE: Readonly<Record<ServerSend, readonly SessionState[]>> = {
  opened: ['opening'],
  // After `disconnect` we keep answering pings (keepalive, not content) until the close transaction.
  pong: ['preparing', 'opening', 'active', 'paused', 'disconnecting', 'closing'],
  audio: ['active'],
  event: ['active', 'paused', 'closing'],
  pause: ['active', 'paused'],
  resume: ['active', 'paused'],
  updated: ['active', 'paused'],
  disconnect: ['preparing', 'opening', 'active', 'paused'],
  closed: ['closing'],
  // Never sent: re-establishing sessions is unsupported (AudioHook spec: `reconnect`).
  reconnect: [],
};

/** Legal state changes. Any state may end in CLOSED (the socket can always go away). */
export const STATE_TRANSITIONS: Readonly<Record<SessionState, readonly SessionState[]>> = {
  preparing: ['opening', 'disconnecting', 'closing', 'closed'],
  opening: ['active', 'disconnecting', 'closing', 'closed'],
  active: ['paused', 'disconnecting', 'closing', 'closed'],
  paused: ['active', 'disconnecting', 'closing', 'closed'],
  disconnecting: ['closing', 'closed'],
  closing: ['closed'],
  closed: [],
};

/** States in which a protocol violation is still signalled with `disconnect error` (RI suppression map). */
export const ERROR_SIGNALLING_STATES: readonly SessionState[] = SERVER_SEND_TABLE.disconnect;

export function clientMessageDisposition(type: ClientMessageType, state: SessionState): Disposition {
  return CLIENT_MESSAGE_TABLE[type][state];
}

export function binaryDisposition(state: SessionState): BinaryDisposition {
  return BINARY_TABLE[state];
}

export function maySend(what: ServerSend, state: SessionState): boolean {
  return SERVER_SEND_TABLE[what].includes(state);
}

export function canTransition(from: SessionState, to: SessionState): boolean {
  return STATE_TRANSITIONS[from].includes(to);
}

export function signalsErrors(state: SessionState): boolean {
  return ERROR_SIGNALLING_STATES.includes(state);
}
