/**
 * Process start-up for the server: logger → HTTP server, and graceful shutdown on SIGTERM/SIGINT.
 * `startServer` is what the CLI calls (the environment is read and checked there, src/cli/env.ts).
 */
import type { CallHandlerFactory } from '../audiohook/handler.js';
import { createLogger, type Logger } from '../log/logger.js';
import { createAppServer, type AppServer, type AppServerOptions, type FleetHooks } from './http.js';
import type { NonceStore } from './nonce-cache.js';
import { DEFAULT_DRAIN_TIMEOUT, type ServerEnv } from './env-shape.js';
import { createMetrics, type Metrics } from './metrics.js';

/** The environment; DRAIN_TIMEOUT and MAX_SESSIONS may be absent in hand-built ones (defaults apply). */
export type StartServerEnv = ServerEnv;

export interface StartServerOptions {
  logger?: Logger;
  createCall?: CallHandlerFactory;
  /** Outputs of the shutdown disconnect a session sends itself when its call could not (the call logic's names). */
  shutdownOutputVariables?: Readonly<Record<string, string>>;
  /** Served at /metrics; default: a new registry (so /metrics is always available). */
  metrics?: Metrics;
  /** Default: env.METRICS_TOKEN. */
  metricsToken?: string;
  /**
   * After SIGTERM, how long live calls may continue before they are ended politely (disconnect completed
   * with outputs, see AppServer.close). Default: env.DRAIN_TIMEOUT, else 110 s.
   */
  shutdownGraceMs?: number;
  /** Runs after every session has closed on shutdown (e.g. the bridge's background summary work). */
  afterClose?: () => Promise<void>;
  /** Install SIGTERM/SIGINT handlers that drain, close and exit (default true). */
  handleSignals?: boolean;
  /** The signals handled (default SIGTERM and SIGINT; a cluster worker takes SIGTERM from its primary only). */
  signals?: readonly NodeJS.Signals[];
  /** The operations console (src/console), routed under /console. */
  console?: AppServerOptions['console'];
  /** Bot routing: a reason to refuse a Connector ID with 404 (AppServerOptions.refuseConnector). */
  refuseConnector?: (connectorId: string) => string | undefined;
  /** Stated on the start-up line: provider, model, voice, transcription (no secrets). */
  model?: { provider: string; model: string; voice: string; transcription: string; notes: string[] };
  /** The model's health for /readyz (see AppServerOptions.modelStatus). */
  modelStatus?: AppServerOptions['modelStatus'];
  /**
   * Signature nonces shared beyond this process: fleet mode's (REDIS_URL, src/fleet), else a cluster worker's
   * (asks its primary, src/cluster/worker.ts). The fleet's admission/registration hooks.
   */
  nonceStore?: NonceStore;
  /** A cluster worker's live-session-id claims, held by its primary for the instance (AppServerOptions.sessionIds). */
  sessionIds?: AppServerOptions['sessionIds'];
  fleet?: FleetHooks;
}

export interface RunningServer {
  app: AppServer;
  port: number;
  metrics: Metrics;
  logger: Logger;
  /** Drains and closes (what the signal handlers do, without exiting). */
  stop(graceMs?: number): Promise<void>;
}

export async function startServer(env: StartServerEnv, options: StartServerOptions = {}): Promise<RunningServer> {
  const logger = options.logger ?? createLogger(env.LOG_LEVEL);
  const metrics = options.metrics ?? createMetrics();
  const app = createAppServer({
    env,
    logger,
    createCall: options.createCall,
    ...(options.shutdownOutputVariables ? { shutdownOutputVariables: options.shutdownOutputVariables } : {}),
    metrics,
    metricsToken: options.metricsToken ?? env.METRICS_TOKEN,
    ...(options.console ? { console: options.console } : {}),
    ...(options.refuseConnector ? { refuseConnector: options.refuseConnector } : {}),
    ...(options.modelStatus ? { modelStatus: options.modelStatus } : {}),
    ...(options.nonceStore ? { nonceStore: options.nonceStore } : {}),
    ...(options.sessionIds ? { sessionIds: options.sessionIds } : {}),
    ...(options.fleet ? { fleet: options.fleet } : {}),
  });
  const { port, host } = await app.listen();
  const model = options.model;
  // Genesys signs requests only for a key with a client secret; then a signature is required for that key.
  const signaturesRequired = env.GENESYS_CLIENT_SECRET !== undefined || env.GENESYS_CLIENT_SECRET_2 !== undefined;
  logger.info(
    {
      host,
      port,
      path: env.AUDIOHOOK_PATH,
      trustProxy: env.TRUST_PROXY,
      signaturesRequired,
      ...(model
        ? { provider: model.provider, model: model.model, voice: model.voice, transcription: model.transcription }
        : { model: options.createCall ? 'custom call handler' : 'none (sessions open and ignore audio)' }),
    },
    `listening on ${host}:${port}, AudioHook endpoint ${env.AUDIOHOOK_PATH}` +
      (model ? `, ${model.provider === 'azure' ? 'Azure OpenAI deployment' : 'OpenAI model'} ${model.model}, voice ${model.voice}` : '') +
      `, signatures ${signaturesRequired ? 'required' : 'not required'}`,
  );
  for (const note of model?.notes ?? []) logger.warn(note);

  const graceMs = options.shutdownGraceMs ?? (env.DRAIN_TIMEOUT ?? DEFAULT_DRAIN_TIMEOUT) * 1000;
  let stopping: Promise<void> | undefined;
  const stop = (ms = graceMs) => {
    // After the sockets: let call work that outlives them (summaries, webhook deliveries) finish.
    stopping ??= app.close({ graceMs: ms }).then(() => options.afterClose?.());
    return stopping;
  };

  if (options.handleSignals !== false) {
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      signals++;
      if (signals > 1) {
        // A second signal means "now": close what is left without waiting for calls.
        logger.warn({ signal }, 'second signal: closing immediately');
        void app.close({ graceMs: 0 }).finally(() => process.exit(0));
        return;
      }
      logger.info({ signal, activeSessions: app.activeSessions(), graceMs }, 'shutting down');
      stop().then(
        () => {
          logger.info('shutdown complete');
          process.exit(0);
        },
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    for (const signal of options.signals ?? ['SIGTERM', 'SIGINT']) process.on(signal, onSignal);
  }

  return { app, port, metrics, logger, stop };
}
