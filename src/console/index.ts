/**
 * The live operations console: what the composition root creates when CONSOLE_TOKEN is set.
 *
 *   const opsConsole = createConsoleFromEnv(env, { logger, registry: metrics.registry });
 *   bridge deps:  events: opsConsole.listener   (beside the tracer: callEventListeners in src/cli/serve.ts)
 *   HTTP server:  console: opsConsole           (createAppServer routes /console… to opsConsole.handle)
 *   on shutdown:  opsConsole.close()
 *
 * Data flow: CallEvent → ConsoleStore (bounded; transcripts dropped here unless enabled) → ConsoleFeed
 * (bounded, batched SSE) → browsers. Health points come from the metrics registry every minute.
 */
import { existsSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { CallEvent, CallEventListener } from '../bridge/call-events.js';
import { systemClock, type Clock } from '../util/clock.js';
import { ConsoleAuth } from './auth.js';
import type { ConsoleEnv } from './env.js';
import { ConsoleFeed, type FeedOptions } from './feed.js';
import { HealthRecorder, registryHealthSource, type HealthSource } from './health.js';
import { createConsoleRoutes } from './routes.js';
import { ConsoleStore } from './store.js';

/**
 * Where `npm run build` puts the front end's modules (web/console/tsconfig.json). The same relative path
 * works from src/console (tsx) and dist/console (compiled).
 */
export const DEFAULT_ASSETS_DIR = fileURLToPath(new URL('../../dist/console-web/web/console/src/', import.meta.url));

export interface ConsoleOptions {
  token: string;
  transcripts: boolean;
  maxEnded: number;
  trustProxy: boolean;
  logger: Logger;
  /** Health figures (default: read from `registry`; without either, health stays empty). */
  healthSource?: HealthSource;
  /** The metrics registry: health is read from it and the console's own counters are added to it. */
  registry?: Registry;
  clock?: Clock;
  assetsDir?: string;
  healthIntervalMs?: number;
  feed?: Partial<Omit<FeedOptions, 'clock' | 'snapshot'>>;
  failureDelayMs?: number;
  maxPendingFailures?: number;
  maxEventsPerCall?: number;
}

export interface OperationsConsole {
  /** Give this to the bridge: it publishes every call's CallEvents here. Cheap, never throws. */
  readonly listener: CallEventListener;
  /** For createAppServer's `console` option: answers /console… and returns true, else false. */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  readonly store: ConsoleStore;
  readonly feed: ConsoleFeed;
  readonly auth: ConsoleAuth;
  readonly health: HealthRecorder | undefined;
  /** Stops timers and disconnects browsers. */
  close(): void;
}

function counter(registry: Registry | undefined, name: string, help: string): { inc(): void } {
  if (!registry) return { inc: () => {} };
  const existing = registry.getSingleMetric(name);
  const c = (existing as Counter | undefined) ?? new Counter({ name, help, registers: [registry] });
  return { inc: () => c.inc() };
}

export function createConsole(options: ConsoleOptions): OperationsConsole {
  const clock = options.clock ?? systemClock;
  const log = options.logger.child({ component: 'console' });
  const slowClients = counter(options.registry, 'audiohook_console_slow_clients_total', 'Console browsers disconnected for not keeping up');
  const failedLogins = counter(options.registry, 'audiohook_console_failed_logins_total', 'Failed console sign-ins');

  const store = new ConsoleStore({
    transcripts: options.transcripts,
    maxEnded: options.maxEnded,
    ...(options.maxEventsPerCall !== undefined ? { maxEventsPerCall: options.maxEventsPerCall } : {}),
  });
  const source = options.healthSource ?? (options.registry ? registryHealthSource(options.registry) : undefined);
  let health: HealthRecorder | undefined;
  const feed = new ConsoleFeed({
    ...options.feed,
    clock,
    snapshot: (watch) => ({
      type: 'snapshot',
      transcripts: store.transcripts,
      live: store.liveRows(),
      ended: store.endedCalls(),
      health: health?.view() ?? { intervalMs: options.healthIntervalMs ?? 60_000, points: [] },
      ...(watch !== undefined ? { watched: store.watched(watch) ?? { callId: watch, events: [], truncated: false } } : {}),
    }),
    onSlowClient: (reason) => {
      slowClients.inc();
      log.warn({ reason, slowDisconnects: feed.slowDisconnects }, 'console browser disconnected: not keeping up');
      options.feed?.onSlowClient?.(reason);
    },
  });
  store.publish = (item) => feed.publish(item);

  if (source) {
    health = new HealthRecorder({
      source,
      clock,
      ...(options.healthIntervalMs !== undefined ? { intervalMs: options.healthIntervalMs } : {}),
      onPoint: (view) => feed.publish({ kind: 'health', health: view }),
      onError: (err) => log.warn({ err }, 'console health sample failed'),
    });
    health.start().catch((err: unknown) => log.warn({ err }, 'console health baseline failed'));
  }

  const auth = new ConsoleAuth({ token: options.token, clock, trustProxy: options.trustProxy });
  const handle = createConsoleRoutes({
    auth,
    feed,
    clock,
    logger: log,
    assetsDir: options.assetsDir ?? DEFAULT_ASSETS_DIR,
    trustProxy: options.trustProxy,
    onFailedLogin: () => failedLogins.inc(),
    ...(options.failureDelayMs !== undefined ? { failureDelayMs: options.failureDelayMs } : {}),
    ...(options.maxPendingFailures !== undefined ? { maxPendingFailures: options.maxPendingFailures } : {}),
  });

  const listener: CallEventListener = {
    onCallEvent(event: CallEvent) {
      try {
        store.onCallEvent(event);
      } catch (err) {
        // The console must never disturb a call.
        log.error({ err, callId: event.callId, type: event.type }, 'console could not record a call event');
      }
    },
  };

  return {
    listener,
    handle,
    store,
    feed,
    auth,
    health,
    close() {
      health?.stop();
      feed.close();
    },
  };
}

/** The console as configured by the environment; undefined (off) without CONSOLE_TOKEN. */
export function createConsoleFromEnv(
  env: ConsoleEnv & { TRUST_PROXY: boolean },
  deps: { logger: Logger; registry?: Registry },
): OperationsConsole | undefined {
  if (!env.CONSOLE_TOKEN) return undefined;
  if (!existsSync(join(DEFAULT_ASSETS_DIR, 'main.js'))) {
    deps.logger.warn({ component: 'console', assetsDir: DEFAULT_ASSETS_DIR }, 'console front end not built: run npm run build');
  }
  return createConsole({
    token: env.CONSOLE_TOKEN,
    transcripts: env.CONSOLE_TRANSCRIPTS,
    maxEnded: env.CONSOLE_MAX_ENDED_CALLS,
    trustProxy: env.TRUST_PROXY,
    logger: deps.logger,
    ...(deps.registry ? { registry: deps.registry } : {}),
  });
}
