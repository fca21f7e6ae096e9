/**
 * Opening one model session for a call, retried: socket, `session.update`, a verified `session.updated`,
 * all within the connect timeout; transient failures (408/429/5xx, timeout, transport, retryable close)
 * retried with backoff and full jitter inside MODEL_RETRY_BUDGET_MS (src/realtime/backoff.ts).
 * The model session (model-session.ts) owns what happens on the connection; this owns getting one.
 */
import type { Logger } from 'pino';
import type { Clock } from '../util/clock.js';
import type { TimerScope } from '../util/timers.js';
import { isRetryableConnectFailure, RetryBudget, type BackoffPolicy } from './backoff.js';
import { ModelConnectionError, type ConnectSettings, type ModelConnection } from './connection.js';
import type { ModelSessionMetrics } from './model-metrics.js';

/** Why a model session is being opened: the call's first, after a drop, or a renewal before the cap. */
export type SessionPurpose = 'initial' | 'reconnect' | 'renewal';

export type AttemptOutcome = { ok: true } | { ok: false; retryable: boolean; message: string };

/** First handshake of a call: the caller is waiting in silence, so a few quick tries. */
const HANDSHAKE_BACKOFF: Omit<BackoffPolicy, 'budgetMs'> = { initialDelayMs: 250, maxDelayMs: 2000, maxAttempts: 5 };
/** Mid-call: the first attempt goes out at once; retries stay short so the gap stays near 2 s. */
const RECONNECT_BACKOFF: Omit<BackoffPolicy, 'budgetMs'> = { initialDelayMs: 100, maxDelayMs: 1000, maxAttempts: 4 };

/** One connection attempt as the session sees it: settled by session.updated, a failure or a timeout. */
export interface Attempt {
  readonly purpose: SessionPurpose;
  /** The socket's handshake succeeded (errors before that are the handshake's, reported by `ready`). */
  readonly socketOpen: boolean;
  readonly settled: boolean;
  settle(outcome: AttemptOutcome): void;
}

export interface OpenSessionOptions {
  purpose: SessionPurpose;
  connect: ConnectSettings;
  connectModel: (settings: ConnectSettings, logger: Logger) => Promise<ModelConnection>;
  logger: Logger;
  clock: Clock;
  /** The session's timers: cleared when the call ends, which also wakes a backoff sleep. */
  timers: TimerScope;
  budgetMs: number;
  random?: () => number;
  metrics?: ModelSessionMetrics;
  isStopped: () => boolean;
  /** Receives a function that abandons the attempt in progress (the call ended). */
  onAbandonable: (abandon: () => void) => void;
  /** A new connection exists: route its events (before its handshake completes). */
  attach: (conn: ModelConnection, attempt: Attempt) => void;
  /** A failed attempt's connection is being closed. */
  detach: (conn: ModelConnection) => void;
  /** The socket is open: configure the session. */
  sendSessionUpdate: (conn: ModelConnection) => void;
}

/** Opens a session, retrying transient failures within the budget. Resolves with the last outcome. */
export async function openSessionWithRetry(o: OpenSessionOptions): Promise<AttemptOutcome> {
  const policy = o.purpose === 'initial' ? HANDSHAKE_BACKOFF : RECONNECT_BACKOFF;
  const budget = new RetryBudget({ ...policy, budgetMs: o.budgetMs }, o.clock, o.random);
  for (;;) {
    if (o.isStopped()) return { ok: false, retryable: false, message: 'call ended' };
    budget.attemptStarted();
    const outcome = await attemptSession(o);
    if (o.isStopped() || outcome.ok) return outcome;
    const delayMs = outcome.retryable ? budget.nextDelayMs() : undefined;
    if (delayMs === undefined) {
      const attempts = budget.attemptsMade;
      return { ...outcome, message: attempts > 1 ? `${outcome.message} (after ${attempts} attempts)` : outcome.message };
    }
    o.logger.warn({ purpose: o.purpose, attempt: budget.attemptsMade, delayMs, cause: outcome.message }, 'model connection failed; retrying');
    await o.timers.sleep(delayMs);
  }
}

/** One connection attempt: socket, session.update, verified session.updated — within the connect timeout. */
function attemptSession(o: OpenSessionOptions): Promise<AttemptOutcome> {
  const settings = o.connect;
  return new Promise<AttemptOutcome>((resolve) => {
    const startedAt = o.clock.now();
    let conn: ModelConnection | undefined;
    const attempt = {
      purpose: o.purpose,
      socketOpen: false,
      settled: false,
      settle: (outcome: AttemptOutcome) => {
        if (attempt.settled) return;
        attempt.settled = true;
        o.timers.cancel(timer);
        if (outcome.ok) {
          o.metrics?.modelConnectSeconds.observe((o.clock.now() - startedAt) / 1000);
        } else if (conn) {
          o.detach(conn);
          conn.close();
        }
        resolve(outcome);
      },
    };
    const timer = o.timers.after(settings.connectTimeoutMs, () =>
      attempt.settle({ ok: false, retryable: true, message: `model not ready within ${settings.connectTimeoutMs} ms` }),
    );
    o.onAbandonable(() => attempt.settle({ ok: false, retryable: false, message: 'call ended' }));
    void (async () => {
      try {
        conn = await o.connectModel(settings, o.logger);
      } catch (err) {
        const retryable = err instanceof ModelConnectionError && isRetryableConnectFailure(err.handshake);
        attempt.settle({ ok: false, retryable, message: `model connection failed: ${(err as Error).message}` });
        return;
      }
      if (attempt.settled) {
        conn.close();
        return;
      }
      o.attach(conn, attempt);
      try {
        await conn.ready;
      } catch (err) {
        const e = err as ModelConnectionError;
        attempt.settle({ ok: false, retryable: isRetryableConnectFailure(e.handshake), message: e.message });
        return;
      }
      if (attempt.settled) return;
      attempt.socketOpen = true;
      o.logger.debug({ purpose: o.purpose, ms: Math.round(o.clock.now() - startedAt) }, 'model socket open');
      o.sendSessionUpdate(conn);
    })();
  });
}
