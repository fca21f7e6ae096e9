/**
 * The two moments the session waits for the call logic at its end — `onClose` before `closed`, and
 * `onShutdown` before our own shutdown disconnect — each bounded, so a stuck or failing handler can delay
 * the protocol by at most its timeout and never break it. Failures are logged, never thrown.
 */
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { CallHandler, CloseCause } from './handler.js';

/** Awaits CallHandler.onClose, at most `timeoutMs`. Never rejects. */
export async function awaitCloseHandler(handler: CallHandler, cause: CloseCause, clock: Clock, timeoutMs: number, log: Logger): Promise<void> {
  let settled: Promise<'done' | 'failed'>;
  try {
    settled = Promise.resolve(handler.onClose(cause)).then(
      () => 'done' as const,
      (err: unknown) => {
        log.error({ err }, 'call handler onClose failed');
        return 'failed' as const;
      },
    );
  } catch (err) {
    log.error({ err }, 'call handler onClose threw');
    return;
  }
  let timer: TimerHandle | undefined;
  const bound = new Promise<'timeout'>((resolve) => {
    timer = clock.setTimeout(() => resolve('timeout'), timeoutMs);
  });
  const outcome = await Promise.race([settled, bound]);
  clock.clearTimeout(timer);
  if (outcome === 'timeout') log.warn({ timeoutMs }, 'call handler onClose did not finish in time; closing anyway');
}

/**
 * Calls CallHandler.onShutdown; `finish` runs when it settles (either way) and again after `timeoutMs`, so
 * it must be idempotent. Returns that timer, or 'threw' (nothing pending, `finish` not called) when
 * onShutdown threw at once.
 */
export function askHandlerToShutdown(
  onShutdown: () => unknown,
  finish: () => void,
  clock: Clock,
  timeoutMs: number,
  log: Logger,
): TimerHandle | 'threw' {
  let pending: Promise<unknown>;
  try {
    pending = Promise.resolve(onShutdown());
  } catch (err) {
    log.error({ err }, 'call handler onShutdown threw');
    return 'threw';
  }
  const timer = clock.setTimeout(finish, timeoutMs);
  pending.then(finish, (err: unknown) => {
    log.error({ err }, 'call handler onShutdown failed');
    finish();
  });
  return timer;
}
