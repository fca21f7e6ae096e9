/**
 * Protocol violations the simulated Genesys client detects in server behaviour. Each one is fatal, as
 * with the real client: it sends `error` with the matching status code and drops the connection.
 */

export const VIOLATION_STATUS = {
  /** Text frame exceeds 65,535 characters. */
  'text-too-large': 413,
  /** Text frame is not JSON. */
  'malformed-json': 400,
  /** `parameters` missing (Genesys rejects such messages, AudioHook spec: message envelope). */
  'missing-parameters': 400,
  'wrong-version': 400,
  /** `id` differs from the Audiohook-Session-Id. */
  'wrong-id': 400,
  /** Fails the message schema (unknown type, bad parameter, extra envelope field…). */
  'invalid-message': 400,
  /** `seq` is not previous + 1. */
  'seq-out-of-order': 400,
  /** `clientseq` acknowledges a message we never sent, or goes backwards. */
  'clientseq-invalid': 400,
  /** `pong.clientseq` differs from the outstanding ping's seq. */
  'pong-clientseq-mismatch': 400,
  'pong-unexpected': 409,
  'pong-timeout': 408,
  'opened-timeout': 408,
  'opened-unexpected': 409,
  /** `opened.media` is not exactly one offered entry (verbatim, same channel order) or []. */
  'opened-media-invalid': 400,
  'closed-timeout': 408,
  'closed-unexpected': 409,
  /** A message type that is not allowed in the current state (e.g. anything but closed/event after disconnect). */
  'message-unexpected': 409,
  'disconnect-repeated': 409,
  'binary-before-opened': 409,
  'binary-after-disconnect': 409,
  'binary-after-closed': 409,
  /** Audio arrived although `opened.media` was [] (no audio negotiated). */
  'binary-without-media': 415,
  'binary-too-large': 413,
  /** Binary length is not a whole number of sample frames of the negotiated media. */
  'binary-partial-sample': 400,
  /** The server dropped the socket without finishing the close transaction. */
  'socket-closed-early': 500,
} as const;

export type ViolationCode = keyof typeof VIOLATION_STATUS;

export interface ProtocolViolation {
  code: ViolationCode;
  message: string;
  /** Clock time (ms) when it was detected. */
  at: number;
}

export class ProtocolViolationError extends Error {
  constructor(readonly violations: readonly ProtocolViolation[]) {
    super(
      `${violations.length} AudioHook protocol violation(s):\n` +
        violations.map((v) => `  - [${v.code}] ${v.message} (at ${v.at.toFixed(0)} ms)`).join('\n'),
    );
    this.name = 'ProtocolViolationError';
  }
}

export function assertNoViolations(violations: readonly ProtocolViolation[]): void {
  if (violations.length > 0) throw new ProtocolViolationError(violations);
}
