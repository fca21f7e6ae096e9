/**
 * The session's timeouts: how long it waits for the peer (open, traffic, close after our disconnect) and
 * for the call logic at the end (onClose, onShutdown). Each is a SessionOptions override of these defaults.
 */
import type { SessionOptions } from './handler.js';

export const SESSION_DEFAULTS = {
  closeHandlerTimeoutMs: 3_000,
  /** [U] Genesys pings about every 5 s; a minute of silence means the peer is gone. */
  idleTimeoutMs: 60_000,
  /** Genesys sends `open` right after connecting; 10 s without it is not a Genesys client. */
  openTimeoutMs: 10_000,
  /** Mirrors the client's own 10 s close-transaction timeout (RI default, [U] for production). */
  disconnectCloseTimeoutMs: 10_000,
  /** Bound on awaiting CallHandler.onShutdown before the session sends its own shutdown disconnect. */
  shutdownHandlerTimeoutMs: 3_000,
} as const;

export type SessionLimits = { -readonly [K in keyof typeof SESSION_DEFAULTS]: number };

export function sessionLimits(options: Partial<Pick<SessionOptions, keyof SessionLimits>>): SessionLimits {
  return {
    closeHandlerTimeoutMs: options.closeHandlerTimeoutMs ?? SESSION_DEFAULTS.closeHandlerTimeoutMs,
    idleTimeoutMs: options.idleTimeoutMs ?? SESSION_DEFAULTS.idleTimeoutMs,
    openTimeoutMs: options.openTimeoutMs ?? SESSION_DEFAULTS.openTimeoutMs,
    disconnectCloseTimeoutMs: options.disconnectCloseTimeoutMs ?? SESSION_DEFAULTS.disconnectCloseTimeoutMs,
    shutdownHandlerTimeoutMs: options.shutdownHandlerTimeoutMs ?? SESSION_DEFAULTS.shutdownHandlerTimeoutMs,
  };
}
