/**
 * The HTTP server: health endpoints, optional /metrics, and the AudioHook WebSocket endpoint.
 *
 * Upgrade order: route by path (404 otherwise) → authenticate (ids, API key, signature; failures answered
 * no earlier than 500 ms after we started) → only then the WebSocket handshake and one protocol session
 * per connection. Nothing is allocated for a request that fails authentication except its pending timer,
 * and those are capped (rejection.ts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP, type AddressInfo, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import type { CallHandlerFactory, ProtocolSession, SessionOptions } from '../audiohook/handler.js';
import { createSession } from '../audiohook/session.js';
import { systemClock, type Clock } from '../util/clock.js';
import { apiKeysFromEnv } from './api-keys.js';
import { createAuthenticator, type AuthOutcome } from './auth.js';
import { BACKPRESSURE_DEFAULTS, OutboundBackpressure, type BackpressureLimits } from './backpressure.js';
import { ConnectionAdmission, connectionBudget, FALLBACK_DESCRIPTOR_LIMIT, readDescriptorLimit } from './connections.js';
import { DEFAULT_MAX_SESSIONS, type ServerEnv } from './env-shape.js';
import { writeResponseAndClose } from './http-response.js';
import { metricsRequestAllowed, type Metrics } from './metrics.js';
import type { NonceStore } from './nonce-cache.js';
import { RejectionScheduler } from './rejection.js';
import { localSessionIds, type SessionIdClaims } from './session-ids.js';
import { sessionMetricsObserver } from './session-metrics.js';
import { connectorIdFor, isValidConnectorId, MAX_CONNECTOR_ID_CHARS, pathOf } from './routes.js';
import type { AudiohookIds } from './upgrade-headers.js';
import { protocolSocketFor, routeSocketEvents, watchOutbound, type OutboundWatch } from './ws-session.js';

/**
 * Largest WebSocket message ws will buffer (it rejects bigger ones with 1009 before they reach us).
 * Above the protocol's limits on purpose: a text message over 65,535 characters then reaches the session,
 * which ends the call politely with `disconnect error`; binary over 64 KiB is closed by the adapter
 * (ws-session.ts). Memory per connection is thus bounded by this (inbound) plus the back-pressure
 * high-water mark (outbound, backpressure.ts): about 0.5 MiB, times MAX_SESSIONS in the worst case.
 */
export const MAX_WS_PAYLOAD_BYTES = 256 * 1024;
/** A client gets this long to send its request headers (an idle or slowloris socket is closed then). */
export const HEADERS_TIMEOUT_MS = 10_000;
/** And this long for the whole request (health and metrics requests have no body worth waiting for). */
export const REQUEST_TIMEOUT_MS = 15_000;
/** How often Node enforces the two timeouts above (its default, 30 s, let idle sockets live ~40 s). */
export const CONNECTIONS_CHECK_INTERVAL_MS = 1_000;
/** Clients are told to retry a refused upgrade (draining, at capacity) after this many seconds. */
const RETRY_AFTER_SECONDS = '5';
/** How often every live socket's send queue is judged, so a stalled peer is ended even when nothing is sent. */
const BACKPRESSURE_SWEEP_MS = 1_000;

export const SHUTDOWN_DEFAULTS = {
  /**
   * After the drain time, sessions are asked to end politely (disconnect with outputs). This long is given
   * to their close transactions: the call's onShutdown (≤ 3 s), Genesys's `close`, onClose (≤ 3 s), `closed`.
   */
  politeEndWaitMs: 7_000,
  /** Then sockets still open get a 1001 close, and this long before they are terminated. */
  socketCloseWaitMs: 1_000,
} as const;

/** Session limits the server may set for every session (defaults in SESSION_DEFAULTS, session-limits.ts). */
export type SessionLimits = Pick<
  SessionOptions,
  'closeHandlerTimeoutMs' | 'shutdownHandlerTimeoutMs' | 'idleTimeoutMs' | 'openTimeoutMs' | 'disconnectCloseTimeoutMs'
>;

export interface AppServerOptions {
  env: ServerEnv;
  logger: Logger;
  /** The call logic for each accepted session (the Realtime bridge). None: sessions open and ignore audio. */
  createCall?: CallHandlerFactory;
  /** Monotonic clock for sessions, the nonce cache and the rejection floor. */
  clock?: Clock;
  /** Wall-clock ms since the epoch, for signature `created`/`expires`. */
  wallClockMs?: () => number;
  /**
   * When given, GET /metrics serves it; the server maintains the active-sessions gauge and counts every
   * session once at its end (sessions by reason, open → opened latency, Genesys 429s: session-metrics.ts).
   */
  metrics?: Metrics;
  /** Bearer token required by /metrics (METRICS_TOKEN). */
  metricsToken?: string;
  /** Outputs of the shutdown disconnect a session sends itself (SessionOptions.shutdownOutputVariables). */
  shutdownOutputVariables?: Readonly<Record<string, string>>;
  /** Cap on failed upgrades waiting for their delayed response (default 1000). */
  maxPendingRejections?: number;
  /** Session timeouts (defaults: SESSION_DEFAULTS). */
  sessionLimits?: SessionLimits;
  /** Outbound back-pressure per Genesys socket (default BACKPRESSURE_DEFAULTS). */
  backpressure?: BackpressureLimits;
  /** The operations console (src/console): answers requests under /console and returns true, else false. */
  console?: { handle(req: IncomingMessage, res: ServerResponse): boolean };
  /** The process's descriptor limit (default: read from /proc/self/limits; connections.ts). */
  descriptorLimit?: number;
  /**
   * Bot routing (BOTS_FILE, src/bots): a short reason to refuse a Connector ID with 404, or undefined to
   * accept it. Asked only after authentication, so an unauthenticated client cannot probe for bots.
   */
  refuseConnector?: (connectorId: string) => string | undefined;
  /**
   * The model provider's health (src/realtime/model-health.ts), reported in the /readyz body. A failing
   * model keeps /readyz at 200 (the reason is in the body): a shared bad key must not empty the fleet.
   */
  modelStatus?: () => { status: string; reason?: string; consecutiveRefusals?: number };
  /** Signature nonces: default an in-memory cache; fleet-wide with REDIS_URL (src/fleet/nonce-store.ts). */
  nonceStore?: NonceStore;
  /** Live Audiohook-Session-Id claims: default this process's own set; a cluster worker's span the instance. */
  sessionIds?: SessionIdClaims;
  /** Fleet mode (REDIS_URL, src/fleet): fleet-wide admission and live-session registration. */
  fleet?: FleetHooks;
}

/** What the server asks of the fleet (src/fleet/registry.ts); all synchronous, none may throw. */
export interface FleetHooks {
  /** False when the fleet-wide cap (MAX_FLEET_SESSIONS) is reached: the upgrade gets 503. */
  admit(): boolean;
  sessionStarted(ids: AudiohookIds): void;
  sessionEnded(ids: AudiohookIds): void;
}

/** An upgrade whose authentication answered asynchronously (the fleet-wide replay check), re-entering onUpgrade. */
interface AuthenticatedLater {
  outcome: AuthOutcome;
  startedAt: number;
}

export interface CloseOptions {
  /** How long live sessions may continue before they are asked to end (default 0). */
  graceMs?: number;
  /** Override SHUTDOWN_DEFAULTS.politeEndWaitMs. */
  politeEndWaitMs?: number;
  /** Override SHUTDOWN_DEFAULTS.socketCloseWaitMs. */
  socketCloseWaitMs?: number;
}

export interface AppServer {
  readonly server: Server;
  listen(): Promise<{ port: number; host: string }>;
  /** Readiness turns 503 and new AudioHook connections are refused; live sessions continue. */
  startDrain(): void;
  readonly draining: boolean;
  /**
   * Drains (still listening: readiness and upgrades answer 503), lets live sessions run for `graceMs`,
   * ends the rest politely (each session's shutdown(): disconnect completed with outputs, close
   * transaction), closes what is left, then stops listening.
   */
  close(options?: CloseOptions): Promise<void>;
  activeSessions(): number;
  /** Failed upgrades waiting for their delayed 401/400 (capped by maxPendingRejections). */
  pendingRejections(): number;
  /** Upgrades beyond this many live sessions (plus handshakes in progress) get 503. */
  readonly maxSessions: number;
  /** server.maxConnections, from the descriptor limit (connections.ts). */
  readonly maxConnections: number;
}

export function createAppServer(options: AppServerOptions): AppServer {
  const { env, logger, metrics } = options;
  const clock = options.clock ?? systemClock;
  const authenticate = createAuthenticator({
    keys: apiKeysFromEnv(env),
    trustProxy: env.TRUST_PROXY,
    clock,
    wallClockMs: options.wallClockMs,
    ...(options.nonceStore ? { nonceCache: options.nonceStore } : {}),
  });
  const rejections = new RejectionScheduler({ clock, maxPending: options.maxPendingRejections });
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_WS_PAYLOAD_BYTES, perMessageDeflate: false });
  const sessions = new Map<ProtocolSession, { ws: WebSocket; outbound: OutboundWatch }>();
  const maxSessions = env.MAX_SESSIONS ?? DEFAULT_MAX_SESSIONS;
  /** Authenticated upgrades whose WebSocket handshake has not completed yet: they count against capacity. */
  let handshakes = 0;
  const atCapacity = () => sessions.size + handshakes >= maxSessions;
  /** Live session ids (session-ids.ts): this process's own set, or a cluster worker's claims through its primary. */
  const sessionIds = options.sessionIds ?? localSessionIds();
  let draining = false;

  const remoteOf = (req: IncomingMessage) => {
    const forwarded = req.headers['x-forwarded-for'];
    const first = env.TRUST_PROXY && typeof forwarded === 'string' ? forwarded.split(',', 1)[0]!.trim() : undefined;
    return {
      remoteAddress: req.socket.remoteAddress,
      // Only behind a trusted proxy, and only an address: the header is the client's to write.
      ...(first !== undefined ? { forwardedFor: isIP(first) ? first : 'invalid' } : {}),
    };
  };

  const descriptorLimit = options.descriptorLimit ?? readDescriptorLimit() ?? FALLBACK_DESCRIPTOR_LIMIT;
  const budget = connectionBudget(descriptorLimit, maxSessions);
  if (budget.tooLow) {
    logger.warn(
      { descriptorLimit, maxSessions, maxConnections: budget.maxConnections },
      'descriptor limit too low for MAX_SESSIONS: raise it (ulimit -n) or lower MAX_SESSIONS',
    );
  }
  const admission = new ConnectionAdmission(budget.evictAbove);

  const server = createServer(
    {
      headersTimeout: HEADERS_TIMEOUT_MS,
      requestTimeout: REQUEST_TIMEOUT_MS,
      connectionsCheckingInterval: CONNECTIONS_CHECK_INTERVAL_MS,
    },
    (req, res) => {
      admission.requestStarted(req.socket);
      res.once('finish', () => admission.requestDone(req.socket));
      handleRequest(req, res);
    },
  );
  server.maxConnections = budget.maxConnections;
  server.on('connection', (socket: Socket) => {
    if (admission.admit(socket) && (admission.evicted === 1 || admission.evicted % 1000 === 0)) {
      logger.warn({ connections: admission.size, evicted: admission.evicted }, 'connection cap near: evicting idle connections');
    }
  });

  function handleRequest(req: IncomingMessage, res: ServerResponse): void {
    const path = pathOf(req.url ?? '/');
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : JSON.stringify(body));
    };
    const known = path === '/healthz' || path === '/readyz' || (metrics !== undefined && path === '/metrics');
    if (known && req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/healthz') return json(200, { status: 'ok' });
    if (path === '/readyz') {
      if (draining) return json(503, { status: 'draining' });
      const model = options.modelStatus?.();
      return atCapacity() ? json(503, { status: 'at capacity', ...(model ? { model } : {}) }) : json(200, { status: 'ready', ...(model ? { model } : {}) });
    }
    if (metrics !== undefined && path === '/metrics') {
      if (!metricsRequestAllowed(req.headers.authorization, options.metricsToken)) {
        res.writeHead(401, { 'WWW-Authenticate': 'Bearer' }).end();
        return;
      }
      metrics.render().then(
        (text) => res.writeHead(200, { 'Content-Type': metrics.contentType }).end(text),
        (err: unknown) => {
          logger.error({ err }, 'rendering metrics failed');
          res.writeHead(500).end();
        },
      );
      return;
    }
    if (options.console?.handle(req, res)) return;
    if (connectorIdFor(req.url ?? '/', env.AUDIOHOOK_PATH) !== undefined) {
      res.writeHead(426, { Upgrade: 'websocket', Connection: 'Upgrade', 'Content-Type': 'text/plain' });
      res.end('426 Upgrade Required: this is a WebSocket endpoint\n');
      return;
    }
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('404 Not Found\n');
  }

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => onUpgrade(req, socket, head));

  /**
   * One upgrade. Called again with `later` when authentication answered asynchronously: every check
   * before it is made again (draining and capacity may have changed while Valkey answered).
   */
  function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, later?: AuthenticatedLater): void {
    // A reset from the peer must never surface as an unhandled 'error'.
    socket.on('error', () => socket.destroy());
    const target = req.url ?? '/';
    admission.requestStarted(socket as Socket);
    const connectorId = connectorIdFor(target, env.AUDIOHOOK_PATH);
    if (connectorId === undefined) {
      metrics?.upgradesRefused.inc('not_found');
      writeResponseAndClose(socket, { status: 404 });
      return;
    }
    if (!isValidConnectorId(connectorId)) {
      // Not an authentication matter: answered at once. Only the length is logged, never the value.
      metrics?.upgradesRefused.inc('bad_request');
      logger.warn({ connectorIdChars: connectorId.length, ...remoteOf(req) }, 'audiohook upgrade refused: invalid connector id');
      writeResponseAndClose(socket, {
        status: 400,
        reason: `invalid connector id (at most ${MAX_CONNECTOR_ID_CHARS} characters: letters, digits, '-', '_', '.', '~', '/')`,
      });
      return;
    }
    if (draining) {
      metrics?.upgradesRefused.inc('draining');
      writeResponseAndClose(socket, { status: 503, reason: 'shutting down', headers: { 'Retry-After': RETRY_AFTER_SECONDS } });
      return;
    }
    // Before authentication: no HMAC work for a connection we could not serve anyway.
    if (atCapacity()) {
      metrics?.upgradesRefused.inc('at_capacity');
      logger.warn({ activeSessions: sessions.size, maxSessions, ...remoteOf(req) }, 'audiohook upgrade refused: at capacity');
      writeResponseAndClose(socket, { status: 503, reason: 'at capacity', headers: { 'Retry-After': RETRY_AFTER_SECONDS } });
      return;
    }
    if (options.fleet && !options.fleet.admit()) {
      metrics?.upgradesRefused.inc('fleet_capacity');
      logger.warn({ activeSessions: sessions.size, ...remoteOf(req) }, 'audiohook upgrade refused: fleet at capacity');
      writeResponseAndClose(socket, { status: 503, reason: 'fleet at capacity', headers: { 'Retry-After': RETRY_AFTER_SECONDS } });
      return;
    }
    const startedAt = later?.startedAt ?? clock.now();
    const checked = later?.outcome ?? authenticate({ url: target, headers: req.headers });
    if (checked instanceof Promise) {
      awaitAuthentication(checked, req, socket, head, startedAt);
      return;
    }
    const outcome = checked;
    if (!outcome.ok) {
      const delivery = rejections.reject(socket, startedAt, { status: outcome.status, reason: outcome.reason });
      metrics?.upgradesRefused.inc(delivery === 'overflow' ? 'busy' : outcome.status === 401 ? 'unauthorized' : 'bad_request');
      logger.warn(
        { ...outcome.ids, ...remoteOf(req), status: outcome.status, reason: outcome.detail, delivery },
        'audiohook upgrade rejected',
      );
      return;
    }
    const unrouted = options.refuseConnector?.(connectorId);
    if (unrouted !== undefined) {
      metrics?.upgradesRefused.inc('not_found');
      logger.warn({ ...outcome.ids, connectorId: connectorId.slice(0, 128), reason: unrouted }, 'audiohook upgrade refused: no bot');
      writeResponseAndClose(socket, { status: 404, reason: unrouted });
      return;
    }
    // After authentication, so an unauthenticated client learns nothing about which ids are live.
    const sessionKey = outcome.ids.sessionId.toLowerCase();
    const claimed = sessionIds.claim(sessionKey);
    if (typeof claimed === 'boolean') {
      upgradeClaimed(claimed, req, socket, head, outcome.ids, connectorId, sessionKey);
      return;
    }
    // A cluster worker asks its primary: the upgrade holds a capacity slot meanwhile.
    handshakes++;
    claimed.then(
      (ok) => {
        handshakes--;
        if (!ok || (!socket.destroyed && !draining)) return upgradeClaimed(ok, req, socket, head, outcome.ids, connectorId, sessionKey);
        sessionIds.release(sessionKey);
        if (draining) writeResponseAndClose(socket, { status: 503, reason: 'shutting down', headers: { 'Retry-After': RETRY_AFTER_SECONDS } });
      },
      (err: unknown) => {
        handshakes--;
        logger.error({ err, ...outcome.ids }, 'session id check failed unexpectedly');
        writeResponseAndClose(socket, { status: 503, reason: 'try again', headers: { 'Retry-After': RETRY_AFTER_SECONDS } });
      },
    );
  }

  /** The session id claim answered: refuse a live id (400), else complete the WebSocket handshake holding it. */
  function upgradeClaimed(
    claimed: boolean,
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    ids: AudiohookIds,
    connectorId: string,
    sessionKey: string,
  ): void {
    if (!claimed) {
      metrics?.upgradesRefused.inc('bad_request');
      logger.warn({ ...ids, ...remoteOf(req) }, 'audiohook upgrade refused: session id already live');
      writeResponseAndClose(socket, { status: 400, reason: 'Audiohook-Session-Id is already in use by a live session' });
      return;
    }
    // ws never calls back for a handshake it aborts (bad WebSocket headers): release on socket close too.
    handshakes++;
    let handshaking = true;
    const handshakeDone = (started: boolean) => {
      if (handshaking) {
        handshakes--;
        if (!started) sessionIds.release(sessionKey);
      }
      handshaking = false;
    };
    socket.once('close', () => handshakeDone(false));
    wss.handleUpgrade(req, socket, head, (ws) => {
      handshakeDone(true);
      try {
        startSession(ws, ids, connectorId, req, () => sessionIds.release(sessionKey));
      } catch (err) {
        // A bug in session set-up must cost this connection only.
        sessionIds.release(sessionKey);
        logger.error({ err, ...ids }, 'could not start the protocol session');
        ws.terminate();
      }
    });
  }

  /** A fleet-wide replay check is in flight: the upgrade holds a capacity slot meanwhile. */
  function awaitAuthentication(pending: Promise<AuthOutcome>, req: IncomingMessage, socket: Duplex, head: Buffer, startedAt: number): void {
    handshakes++;
    pending.then(
      (outcome) => {
        handshakes--;
        if (!socket.destroyed) onUpgrade(req, socket, head, { outcome, startedAt });
      },
      (err: unknown) => {
        handshakes--;
        logger.error({ err, ...remoteOf(req) }, 'upgrade authentication failed unexpectedly');
        writeResponseAndClose(socket, { status: 503, reason: 'try again', headers: { 'Retry-After': RETRY_AFTER_SECONDS } });
      },
    );
  }

  function startSession(ws: WebSocket, ids: AudiohookIds, connectorId: string, req: IncomingMessage, release: () => void): void {
    const connectionLog = logger.child({ ...ids });
    const outbound = watchOutbound(
      ws,
      new OutboundBackpressure(clock, options.backpressure ?? BACKPRESSURE_DEFAULTS),
      connectionLog,
      (event) => metrics?.outboundBackpressure.inc(event),
    );
    // The session adds sessionId and correlationId to its own child logger; pass it the rest only.
    const session = createSession({
      ...options.sessionLimits,
      socket: protocolSocketFor(ws, outbound),
      ...ids,
      connectorId,
      logger: logger.child({ organizationId: ids.organizationId, connectorId }),
      createCall: options.createCall,
      clock,
      ...(metrics ? { observer: sessionMetricsObserver(metrics) } : {}),
      ...(options.shutdownOutputVariables ? { shutdownOutputVariables: options.shutdownOutputVariables } : {}),
    });
    sessions.set(session, { ws, outbound });
    metrics?.activeSessions.inc();
    if (options.fleet) registerInFleet(options.fleet, ids, session);
    connectionLog.info({ connectorId, ...remoteOf(req) }, 'audiohook connection accepted');
    routeSocketEvents(ws, session, connectionLog);
    const forget = () => {
      release();
      if (sessions.delete(session)) metrics?.activeSessions.dec();
    };
    void session.finished.then(forget, forget);
  }

  function registerInFleet(fleet: FleetHooks, ids: AudiohookIds, session: ProtocolSession): void {
    fleet.sessionStarted(ids);
    const ended = () => fleet.sessionEnded(ids);
    void session.finished.then(ended, ended);
  }

  // One sweep for all sockets: a peer that stopped reading is ended even while nothing new is sent to it.
  let sweepTimer: ReturnType<Clock['setTimeout']> | undefined;
  const sweepBackpressure = () => {
    for (const { outbound } of sessions.values()) outbound.acceptsAudio(); // judges the whole queue too
    sweepTimer = clock.setTimeout(sweepBackpressure, BACKPRESSURE_SWEEP_MS);
  };

  const startDrain = () => {
    if (!draining) logger.info('draining: readiness is 503 and new AudioHook connections are refused');
    draining = true;
  };

  const waitForSessions = (ms: number) =>
    new Promise<void>((resolve) => {
      if (sessions.size === 0 || ms <= 0) return resolve();
      const timer = setTimeout(resolve, ms);
      void Promise.all([...sessions.keys()].map((s) => s.finished)).then(() => {
        clearTimeout(timer);
        resolve();
      });
    });

  const endPolitely = async (politeEndWaitMs: number, socketCloseWaitMs: number) => {
    if (sessions.size === 0) return;
    logger.info({ sessions: sessions.size }, 'drain time is up: ending live calls with disconnect');
    for (const [session, { ws }] of sessions) {
      // Nothing to end politely (not opened yet): the socket is closed right away.
      if (session.shutdown?.() !== true) ws.close(1001, 'server shutting down');
    }
    await waitForSessions(politeEndWaitMs);
    if (sessions.size === 0) return;
    logger.warn({ sessions: sessions.size }, 'closing sessions still open at shutdown');
    for (const { ws } of sessions.values()) ws.close(1001, 'server shutting down');
    await waitForSessions(socketCloseWaitMs);
    for (const { ws } of sessions.values()) ws.terminate();
  };

  return {
    server,
    maxSessions,
    maxConnections: budget.maxConnections,
    get draining() {
      return draining;
    },
    startDrain,
    activeSessions: () => sessions.size,
    pendingRejections: () => rejections.pending,
    listen: () =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(env.PORT, env.HOST, () => {
          server.off('error', reject);
          clock.clearTimeout(sweepTimer);
          sweepTimer = clock.setTimeout(sweepBackpressure, BACKPRESSURE_SWEEP_MS);
          const address = server.address() as AddressInfo;
          resolve({ port: address.port, host: address.address });
        });
      }),
    close: async (closeOptions = {}) => {
      startDrain();
      rejections.cancelAll();
      // Still listening while calls drain: /readyz and new upgrades must answer 503, not connection refused.
      await waitForSessions(closeOptions.graceMs ?? 0);
      await endPolitely(
        closeOptions.politeEndWaitMs ?? SHUTDOWN_DEFAULTS.politeEndWaitMs,
        closeOptions.socketCloseWaitMs ?? SHUTDOWN_DEFAULTS.socketCloseWaitMs,
      );
      clock.clearTimeout(sweepTimer);
      sweepTimer = undefined;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
