/**
 * `serve`: the production entry. Environment → bridge (model connection, webhook) → HTTP server.
 * The Realtime emulator is never used here: with no model configured, start-up fails naming the variables.
 */
import { BotDirectory } from '../bots/directory.js';
import { createBridgeFactory, type BridgeFactory } from '../bridge/call.js';
import { createSpoolingSink, type SpoolEnv, type SpoolingSink } from '../bridge/spool.js';
import { createWebhookSender, type CallRecord, type CallRecordSink, type DeliveryResult } from '../bridge/webhook.js';
import type { CallEventListener } from '../bridge/call-events.js';
import type { ConsoleRelay } from '../cluster/console-relay.js';
import { SHUTDOWN_OUTPUT_VARIABLES } from '../bridge/outputs.js';
import { createConsoleFromEnv, type OperationsConsole } from '../console/index.js';
// Fleet mode's modules (and the redis client under them, ~30 MB per process) load only with REDIS_URL.
import type { FleetConsole } from '../fleet/console-channel.js';
import type { Fleet, RedisOutbox } from '../fleet/index.js';
import { createLogger, type Logger } from '../log/logger.js';
import { assertAzureClient, connectSettingsFromEnv, modelStartupInfo } from '../realtime/connection.js';
import { ModelHealth } from '../realtime/model-health.js';
import { startServer, type RunningServer, type StartServerOptions } from '../server/main.js';
import { countCallTokens, createMetrics, type Metrics } from '../server/metrics.js';
import type { NonceStore } from '../server/nonce-cache.js';
import { localSessionIds } from '../server/session-ids.js';
import { genesysOAuthFromEnv } from '../tools/env.js';
import { GenesysPlatformClient } from '../tools/genesys.js';
import { tracesUrlFromEnv } from '../telemetry/otlp-env.js';
import type { Tracing } from '../telemetry/tracing.js';
import { systemClock } from '../util/clock.js';
import type { Env } from './env.js';

export interface ServeOptions {
  logger?: Logger;
  handleSignals?: boolean;
  /** Start-up warnings from the configuration check (src/cli/env.ts), logged once the logger exists. */
  configWarnings?: readonly string[];
  /** Where the standard OTEL_* variables are read (default process.env): traces when an endpoint is set. */
  otelEnv?: Record<string, string | undefined>;
  /** A cluster worker's: rendered for the whole instance (src/cluster/worker.ts). */
  metrics?: Metrics;
  signals?: readonly NodeJS.Signals[];
  /** A cluster worker's: nonces recorded for the whole instance by the primary (fleet mode's store wins). */
  nonceStore?: NonceStore;
  /** A cluster worker's: live session ids claimed for the whole instance through the primary. */
  sessionIds?: StartServerOptions['sessionIds'];
  /** A cluster worker's: the console shows every worker's calls (used only with CONSOLE_TOKEN). */
  consoleRelay?: ConsoleRelay;
  /** A cluster worker's: runs once its server has closed, before the rest of the shutdown (leavePrimary). */
  serverClosed?: () => Promise<void>;
}

export interface Service {
  server: RunningServer;
  bridge: BridgeFactory;
  metrics: Metrics;
  /** The durable summary spool, when SUMMARY_SPOOL_DIR and SUMMARY_WEBHOOK_URL are set (closed on stop). */
  spool?: SpoolingSink;
  /** Bot profiles (BOTS_FILE) and the tool registry; one bot from env without BOTS_FILE. */
  bots: BotDirectory;
  /** OTLP traces, when the OTEL_* environment asks for them (flushed on stop). */
  tracing?: Tracing;
  /** The live operations console at /console, when CONSOLE_TOKEN is set (closed on stop). */
  console?: OperationsConsole;
  /** Fleet mode, when REDIS_URL is set: shared nonces, live-call registry, the outbox (closed on stop). */
  fleet?: Fleet;
}

/**
 * The bots and their tools from env: BOTS_FILE (a bad file or an incomplete Genesys OAuth configuration
 * stops start-up, naming the problem) and MCP connections started (an unreachable server does not).
 */
export async function createBotsFromEnv(env: ServeEnv, logger: Logger, metrics?: Metrics): Promise<BotDirectory> {
  const oauth = genesysOAuthFromEnv(env);
  const toolLogger = logger.child({ component: 'tools' });
  return BotDirectory.create({
    ...(env.BOTS_FILE ? { file: env.BOTS_FILE } : {}),
    env: process.env,
    toolSettings: {
      timeoutMs: env.TOOL_TIMEOUT_MS,
      maxCallsPerCall: env.TOOL_MAX_CALLS_PER_CALL,
      maxOutputChars: env.TOOL_MAX_OUTPUT_CHARS,
      logArguments: env.TOOL_LOG_ARGUMENTS,
    },
    ...(oauth ? { genesys: new GenesysPlatformClient(oauth, { clock: systemClock, logger: toolLogger }) } : {}),
    clock: systemClock,
    logger,
    ...(metrics ? { metrics: metrics.tools } : {}),
  });
}

/** The environment plus the spool variables (optional until spoolEnvShape is merged into env.ts). */
export type ServeEnv = Env & Partial<SpoolEnv>;

export interface CallRecordDelivery {
  sink?: CallRecordSink;
  spool?: SpoolingSink;
  /** Fleet mode's durable outbox (REDIS_URL), in place of the file spool. */
  outbox?: RedisOutbox;
}

/** The webhook sender (best-effort on its own: a few retries, then lost), or none without SUMMARY_WEBHOOK_URL. */
export function createRecordSender(env: ServeEnv, logger: Logger, tracing?: Tracing): CallRecordSink | undefined {
  if (!env.SUMMARY_WEBHOOK_URL) return undefined;
  const plainSender = createWebhookSender({
    url: env.SUMMARY_WEBHOOK_URL,
    ...(env.SUMMARY_WEBHOOK_SECRET ? { secret: env.SUMMARY_WEBHOOK_SECRET } : {}),
    timeoutMs: env.SUMMARY_WEBHOOK_TIMEOUT_MS,
    retries: env.SUMMARY_WEBHOOK_RETRIES,
    clock: systemClock,
    logger: logger.child({ component: 'webhook' }),
    // Traced: each POST carries the call's W3C traceparent (src/telemetry/).
    ...(tracing ? { fetchImpl: tracing.calls.wrapFetch(fetch) } : {}),
  });
  // Inside the spool or the outbox, so every attempt they make (also later retries) is a span.
  return tracing ? tracing.calls.wrapSink(plainSender) : plainSender;
}

/**
 * Where call records go: nowhere without SUMMARY_WEBHOOK_URL; with REDIS_URL, the fleet's durable outbox
 * (a Redis Stream every instance consumes, src/fleet/outbox.ts; it wraps the sender itself); else the
 * sender wrapped in the file spool with SUMMARY_SPOOL_DIR (at-least-once), or the sender alone
 * (best-effort). The spool is not started here: `start()` replays earlier files.
 */
export function createCallRecordDelivery(
  env: ServeEnv,
  logger: Logger,
  metrics?: Metrics,
  tracing?: Tracing,
  fleet?: Fleet,
): CallRecordDelivery {
  if (fleet?.outbox) {
    if (env.SUMMARY_SPOOL_DIR) logger.warn('REDIS_URL is set: call records go to the shared outbox; SUMMARY_SPOOL_DIR is not used');
    return { sink: fleet.outbox, outbox: fleet.outbox };
  }
  const sender = createRecordSender(env, logger, tracing);
  if (!sender) return {};
  if (!env.SUMMARY_SPOOL_DIR) return { sink: sender };
  const spool = createSpoolingSink({
    dir: env.SUMMARY_SPOOL_DIR,
    inner: sender,
    clock: systemClock,
    logger: logger.child({ component: 'summary-spool' }),
    ...(env.SUMMARY_SPOOL_MAX_FILES !== undefined ? { maxFiles: env.SUMMARY_SPOOL_MAX_FILES } : {}),
    ...(metrics ? { metrics } : {}),
  });
  return { sink: spool, spool };
}

/** Builds the call bridge from the environment. Throws (naming the variables) when no model is configured. */
export function createBridgeFromEnv(
  env: ServeEnv,
  logger: Logger,
  metrics?: Metrics,
  delivery: CallRecordDelivery = createCallRecordDelivery(env, logger, metrics),
  extras: {
    /** Call milestones (traces, console); absent: the bridge publishes nothing. */
    events?: CallEventListener;
    /** The model's handshake health (/readyz, first-refusal log). */
    health?: ModelHealth;
    /** Bot profiles and their tools; absent: the single bot from env, no tools. */
    bots?: BotDirectory;
    /** The instance carrying the calls (call.started); absent: hostname/pid. */
    instance?: string;
  } = {},
): BridgeFactory {
  const { events, health, bots, instance } = extras;
  const settings = connectSettingsFromEnv(env);
  assertAzureClient(settings);
  const connect = { ...settings, ...(health ? { health } : {}) };
  const { sink, spool, outbox } = delivery;
  return createBridgeFactory({
    env,
    connect,
    ...(bots ? { bots } : {}),
    ...(sink ? { sink } : {}),
    ...(metrics ? { metrics } : {}),
    ...(events ? { events } : {}),
    ...(instance ? { instance } : {}),
    // The spool and the outbox count webhook outcomes themselves (including later retries); count here only without them.
    onCallFinished: (record, result) => metrics && recordCallMetrics(metrics, record, spool || outbox ? undefined : result),
  });
}

/** Per-call usage and (without the spool) the webhook outcome; the session itself is counted by the server. */
function recordCallMetrics(metrics: Metrics, record: CallRecord, delivery: DeliveryResult | undefined): void {
  countCallTokens(metrics.tokens, record.usage);
  if (delivery) metrics.webhookDeliveries.inc(delivery.delivered ? 'delivered' : 'failed');
}

export async function serve(env: ServeEnv, options: ServeOptions = {}): Promise<Service> {
  const logger = options.logger ?? createLogger(env.LOG_LEVEL);
  for (const warning of options.configWarnings ?? []) logger.warn({ component: 'config' }, warning);
  const metrics = options.metrics ?? createMetrics();
  // First: a bad bots file must stop start-up before anything else is started.
  const bots = await createBotsFromEnv(env, logger, metrics);
  const otelEnv = options.otelEnv ?? process.env;
  // OpenTelemetry is loaded only when an endpoint is configured: without one, calls pay nothing.
  const tracing =
    tracesUrlFromEnv(otelEnv) === undefined
      ? undefined
      : (await import('../telemetry/tracing.js')).createTracing({ env: otelEnv, logger: logger.child({ component: 'tracing' }) });
  // Fleet mode before the bridge: the outbox, if any, is the call-record sink.
  const fleetSender = env.REDIS_URL ? createRecordSender(env, logger, tracing) : undefined;
  const fleet = env.REDIS_URL
    ? await (await import('../fleet/index.js')).startFleet({ ...env, REDIS_URL: env.REDIS_URL }, { logger, metrics, ...(fleetSender ? { sender: fleetSender } : {}) })
    : undefined;
  let fleetConsole: FleetConsole | undefined;
  try {
    const delivery = createCallRecordDelivery(env, logger, metrics, tracing, fleet);
    const model = modelStartupInfo(env);
    const health = new ModelHealth({
      provider: model.provider,
      logger: logger.child({ component: 'model-health' }),
      onRefusal: (status) => metrics.modelErrors.inc(`handshake_${status}`),
    });
    // The console (when CONSOLE_TOKEN is set) listens to every call's milestones, beside the tracer.
    const opsConsole = createConsoleFromEnv(env, { logger, registry: metrics.registry });
    // Fleet mode: the console shows every instance's calls (and every worker's: each worker is a fleet member
    // of its own), over Redis. The workers' IPC relay is then not used: it would bring sibling workers'
    // events a second time (src/fleet/console-channel.ts).
    fleetConsole =
      opsConsole && fleet
        ? (await import('../fleet/console-channel.js')).startFleetConsole({
            fleet,
            console: opsConsole,
            transcripts: env.CONSOLE_TRANSCRIPTS,
            timeoutMs: env.CONSOLE_INSTANCE_TIMEOUT_MS,
            logger,
            registry: metrics.registry,
          })
        : undefined;
    // Else, in a cluster worker, the other workers' calls reach this console too, and this worker's theirs.
    const relay = opsConsole && !fleetConsole ? options.consoleRelay : undefined;
    if (opsConsole) relay?.subscribe(opsConsole.listener);
    const events = callEventListeners([tracing?.calls, opsConsole?.listener, relay?.outbound, fleetConsole?.outbound], logger);
    const bridge = createBridgeFromEnv(env, logger, metrics, delivery, {
      ...(events ? { events } : {}),
      health,
      bots,
      // The console's instance column: the fleet's name for this process (per worker), else hostname/pid.
      ...(fleet ? { instance: fleet.instanceId } : {}),
    });
    const { spool } = delivery;
    // Before listening: an unusable spool directory stops start-up; earlier records replay in the background.
    await spool?.start();
    let stopReloading: (() => void) | undefined;
    const server = await startServer(env, {
      logger,
      createCall: bridge,
      shutdownOutputVariables: SHUTDOWN_OUTPUT_VARIABLES,
      metrics,
      model,
      modelStatus: () => health.status(),
      ...(env.METRICS_TOKEN ? { metricsToken: env.METRICS_TOKEN } : {}),
      ...(options.handleSignals === false ? { handleSignals: false } : {}),
      ...(options.signals ? { signals: options.signals } : {}),
      ...(options.nonceStore ? { nonceStore: options.nonceStore } : {}),
      // Fleet mode: a live session id is refused on every instance, the instance's own claims asked first.
      ...(fleet
        ? { sessionIds: fleet.registry.sessionIds(options.sessionIds ?? localSessionIds()) }
        : options.sessionIds
          ? { sessionIds: options.sessionIds }
          : {}),
      ...(opsConsole ? { console: opsConsole } : {}),
      ...(bots.hasProfiles
        ? {
            refuseConnector: (connectorId: string) => {
              const route = bots.route(connectorId);
              return route.ok ? undefined : route.reason;
            },
          }
        : {}),
      ...(fleet ? { nonceStore: fleet.nonceStore, fleet: fleet.registry } : {}),
      // Calls finishing during the drain still spool their records; after that, retry timers stop and
      // whatever is still pending stays on disk (or in the shared outbox, for another instance) for later.
      afterClose: async () => {
        await options.serverClosed?.();
        await bridge.drain();
        await spool?.close();
        // After the drain: the calls' endings are published before the goodbye.
        await fleetConsole?.close();
        await fleet?.close();
        stopReloading?.();
        await bots.close();
        await tracing?.shutdown();
        opsConsole?.close();
      },
    });
    if (options.handleSignals !== false && bots.hasProfiles) stopReloading = bots.reloadOnSignal('SIGHUP');
    return { server, bridge, metrics, bots, ...(spool ? { spool } : {}), ...(tracing ? { tracing } : {}), ...(fleet ? { fleet } : {}), ...(opsConsole ? { console: opsConsole } : {}) };
  } catch (err) {
    await fleetConsole?.close();
    await fleet?.close();
    throw err;
  }
}

/**
 * One listener for the bridge from several (traces, console): none → undefined (the bridge publishes
 * nothing), one → itself, more → each in turn, one's exception never keeping an event from the others.
 */
export function callEventListeners(listeners: ReadonlyArray<CallEventListener | undefined>, logger: Logger): CallEventListener | undefined {
  const present = listeners.filter((l): l is CallEventListener => l !== undefined);
  if (present.length <= 1) return present[0];
  return {
    onCallEvent(event) {
      for (const listener of present) {
        try {
          listener.onCallEvent(event);
        } catch (err) {
          logger.warn({ err, type: event.type, callId: event.callId }, 'call event listener failed');
        }
      }
    },
  };
}
