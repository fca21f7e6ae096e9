/**
 * A worker's side of the cluster: its link to the primary (request/answer over IPC with a timeout), the
 * instance-wide nonce store, live-session-id claims and /metrics built on it, and the per-worker event-loop gauge.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Gauge } from 'prom-client';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../server/metrics.js';
import { NonceCache } from '../server/nonce-cache.js';
import { localSessionIds, type SessionIdClaims } from '../server/session-ids.js';
import { systemClock } from '../util/clock.js';
import { BoundedSender, MAX_PENDING_SENDS } from './console-relay.js';
import { parsePrimaryMessage, type PrimaryToWorker, type WorkerToPrimary } from './ipc.js';

/** An answer from the primary is a local IPC round trip (well under a millisecond); this long means it is gone. */
export const PRIMARY_ANSWER_TIMEOUT_MS = 2_000;

type Answer = Extract<PrimaryToWorker, { type: 'audiohook:nonce-result' | 'audiohook:session-claim-result' | 'audiohook:metrics-text' | 'audiohook:left' }>;

export interface PrimaryLink {
  /** Sends a request and resolves with the primary's answer, or undefined after the timeout. */
  ask<T extends Answer['type']>(request: DistributiveOmit<Extract<WorkerToPrimary, { id: number }>, 'id'>, answer: T): Promise<Extract<Answer, { type: T }> | undefined>;
  /** Handles the primary's own requests of this worker. */
  onCollect(handler: (id: number) => void): void;
  /** A message that expects no answer. */
  tell(message: WorkerToPrimary): void;
  /** A console event for the other workers; false when dropped (too many still unsent: never queued). */
  offerConsoleEvent(event: string): boolean;
  onConsoleEvent(handler: (event: string) => void): void;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export function linkToPrimary(
  send: (message: WorkerToPrimary, written?: () => void) => boolean | void,
  subscribe: (listener: (message: unknown) => void) => void,
  timeoutMs = PRIMARY_ANSWER_TIMEOUT_MS,
  maxPendingConsoleEvents = MAX_PENDING_SENDS,
): PrimaryLink {
  let nextId = 1;
  let consoleEvent: ((event: string) => void) | undefined;
  const consoleSender = new BoundedSender<WorkerToPrimary>((message, written) => send(message, written) !== false, maxPendingConsoleEvents);
  const waiting = new Map<number, { type: string; resolve: (answer: Answer | undefined) => void; timer: ReturnType<typeof setTimeout> }>();
  let collect: ((id: number) => void) | undefined;
  subscribe((raw) => {
    const message = parsePrimaryMessage(raw);
    if (!message) return;
    if (message.type === 'audiohook:metrics-collect') {
      collect?.(message.id);
      return;
    }
    if (message.type === 'audiohook:console-event') {
      consoleEvent?.(message.event);
      return;
    }
    const entry = waiting.get(message.id);
    if (!entry || entry.type !== message.type) return;
    waiting.delete(message.id);
    clearTimeout(entry.timer);
    entry.resolve(message);
  });
  return {
    ask(request, answer) {
      const id = nextId++;
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          waiting.delete(id);
          resolve(undefined);
        }, timeoutMs);
        timer.unref();
        waiting.set(id, { type: answer, resolve: resolve as (a: Answer | undefined) => void, timer });
        send({ ...request, id } as WorkerToPrimary);
      });
    },
    onCollect: (handler) => (collect = handler),
    tell: (message) => void send(message),
    offerConsoleEvent: (event) => consoleSender.offer({ type: 'audiohook:console-event', event }),
    onConsoleEvent: (handler) => (consoleEvent = handler),
  };
}

/** The link over this worker process's IPC channel. */
export function processLink(): PrimaryLink {
  return linkToPrimary(
    (message, written) => {
      if (!process.connected || !process.send) return false;
      // The callback runs once the message is written to the channel (or the write failed).
      process.send(message, undefined, {}, () => written?.());
      return true;
    },
    (listener) => process.on('message', listener),
  );
}

/**
 * Before a worker exits, after its server has closed: one round trip to the primary. Node's cluster primary
 * hands each new connection to a worker over this same channel and waits for its acknowledgement; a
 * connection handed over just before the primary learnt that the server closed is refused by the worker
 * (and given to another worker) only if the worker is still there to say so. A worker that exited at once
 * left it unanswered until the primary itself exited: during a drain, new upgrades and /readyz then hung
 * instead of getting 503 from the workers still draining. The channel is ordered, so once the primary has
 * answered, every such hand-over has reached this worker and been refused. Bounded by the ask timeout.
 */
export async function leavePrimary(link: PrimaryLink): Promise<void> {
  await link.ask({ type: 'audiohook:leaving' }, 'audiohook:left');
}

/**
 * Signature nonces recorded by the primary for the whole instance. Were the primary not to answer (it is
 * gone, and this worker with it), the worker's own cache decides, so a replay to this worker is still refused.
 */
export function primaryNonceStore(link: PrimaryLink, logger: Logger): { remember(nonce: string): Promise<boolean> } {
  const local = new NonceCache({ clock: systemClock });
  return {
    async remember(nonce) {
      const localFresh = local.remember(nonce);
      const answer = await link.ask({ type: 'audiohook:nonce', nonce }, 'audiohook:nonce-result');
      if (answer) return answer.fresh;
      logger.warn('nonce check: the primary did not answer; this worker decided alone');
      return localFresh;
    },
  };
}

/**
 * Live Audiohook-Session-Id claims held by the primary for the whole instance, so a duplicate landing on
 * another worker is refused too. The worker keeps its own set alongside: were the primary not to answer
 * (it is gone, and this worker with it), that set decides, so a duplicate on this worker is still refused.
 */
export function primarySessionIds(link: PrimaryLink, logger: Logger): SessionIdClaims {
  const local = localSessionIds();
  return {
    async claim(key) {
      const localFree = local.claim(key);
      const answer = await link.ask({ type: 'audiohook:session-claim', sessionId: key }, 'audiohook:session-claim-result');
      if (!answer) logger.warn('session id check: the primary did not answer; this worker decided alone');
      const claimed = answer ? answer.claimed && localFree : localFree;
      // A live session on this worker holds the id even if the primary lost it: undo the primary's grant.
      if (answer?.claimed && !localFree) link.tell({ type: 'audiohook:session-release', sessionId: key });
      if (!claimed && localFree) local.release(key);
      return claimed;
    },
    release(key) {
      local.release(key);
      link.tell({ type: 'audiohook:session-release', sessionId: key });
    },
  };
}

/**
 * The worker's metrics, rendered for the instance: GET /metrics on any worker asks the primary, which
 * aggregates every worker's registry (counters and gauges summed; see prom-client's aggregators). The
 * worker adds `audiohook_worker_event_loop_delay_p99_seconds{worker}` so a slow worker stays visible.
 */
export function instanceMetrics(metrics: Metrics, link: PrimaryLink, slot: number): Metrics {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  new Gauge({
    name: 'audiohook_worker_event_loop_delay_p99_seconds',
    help: 'Event-loop delay p99 of each worker since the previous scrape (beyond the 10 ms sampling period)',
    labelNames: ['worker'],
    registers: [metrics.registry],
    collect() {
      const p99 = delay.count > 0 ? Math.max(0, delay.percentile(99) / 1e9 - 0.01) : 0;
      this.set({ worker: String(slot) }, p99);
      delay.reset();
    },
  });
  link.onCollect((id) => {
    void metrics.registry.getMetricsAsJSON().then((json) => link.tell({ type: 'audiohook:metrics-json', id, metrics: json }));
  });
  return {
    ...metrics,
    render: async () => {
      const answer = await link.ask({ type: 'audiohook:metrics' }, 'audiohook:metrics-text');
      // Without the primary, this worker's own view beats no answer.
      return answer?.text || metrics.render();
    },
  };
}
