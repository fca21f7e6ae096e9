/**
 * The HTTP server: health endpoints, optional /metrics, and the AudioHook WebSocket endpoint.
 *
 * Upgrade order: route by path (404 otherwise) → authenticate (ids, API key, signature; failures answered
 * no earlier than 500 ms after we started) → only then the WebSocket handshake and one protocol session
 * per connection. Nothing is allocated for a request that fails authentication except its pending timer,
 * and those are capped (rejection.ts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import type { CallHandlerFactory, ProtocolSession } from '../audiohook/call.js';
import { createSession } from '../audiohook/session.js';
import type { Env } from '../config/env.js';
import { systemClock, type Clock } from '../util/clock.js';
import { apiKeysFromEnv } from './api-keys.js';
import { createAuthenticator } from './auth.js';
import { writeResponseAndClose } from './http-response.js';
import { metricsRequestAllowed, type Metrics } from './metrics.js';
import { RejectionScheduler } from './rejection.js';
import { connectorIdFor, pathOf } from './routes.js';
import type { AudiohookIds } from './upgrade-headers.js';
import { protocolSocketFor, routeSocketEvents } from './ws-session.js';

/** RI server value; bounds the memory one frame can take (Genesys frames are ≤ 64,000 bytes). */
export const MAX_WS_PAYLOAD_BYTES = 65_536;
const HEADERS_TIMEOUT_MS = 10_000;
/** After sockets are terminated at shutdown, how long sessions get to run their close handlers. */
const SESSION_FINISH_WAIT_MS = 5_000;

export interface AppServerOptions {
  env: Env;
  logger: Logger;
  /** The call logic for each accepted session (the Realtime bridge). None: sessions open and ignore audio. */
  createCall?: CallHandlerFactory;
  /** Monotonic clock for sessions, the nonce cache and the rejection floor. */
  clock?: Clock;
  /** Wall-clock ms since the epoch, for signature `created`/`expires`. */
  wallClockMs?: () => number;
  /** When given, GET /metrics serves it and the active-sessions gauge is maintained. */
  metrics?: Metrics;
  /** Bearer token required by /metrics (METRICS_TOKEN). */
  metricsToken?: string;
  /** Cap on failed upgrades waiting for their delayed response (default 1000). */
  maxPendingRejections?: number;
}

export interface CloseOptions {
  /** How long live sessions may continue before their sockets are closed (default 0). */
  graceMs?: number;
}

export interface AppServer {
  readonly server: Server;
  listen(): Promise<{ port: number; host: string }>;
  /** Readiness turns 503 and new AudioHook connections are refused; live sessions continue. */
  startDrain(): void;
  readonly draining: boolean;
  /** Drains, stops listening, lets live sessions run for `graceMs`, then closes what is left. */
  close(options?: CloseOptions): Promise<void>;
  activeSessions(): number;
}

export function createAppServer(options: AppServerOptions): AppServer {
  const { env, logger, metrics } = options;
  const clock = options.clock ?? systemClock;
  const authenticate = createAuthenticator({
    keys: apiKeysFromEnv(env),
    trustProxy: env.TRUST_PROXY,
    clock,
    wallClockMs: options.wallClockMs,
  });
  const rejections = new RejectionScheduler({ clock, maxPending: options.maxPendingRejections });
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_WS_PAYLOAD_BYTES });
  const sessions = new Map<ProtocolSession, WebSocket>();
  let draining = false;

  const remoteOf = (req: IncomingMessage) => {
    const forwarded = req.headers['x-forwarded-for'];
    return {
      remoteAddress: req.socket.remoteAddress,
      ...(env.TRUST_PROXY && typeof forwarded === 'string' ? { forwardedFor: forwarded.split(',')[0]?.trim() } : {}),
    };
  };

  const server = createServer((req, res) => handleRequest(req, res));
  // A client gets 10 s to send its request headers (slow-header clients hold no session either way).
  server.headersTimeout = HEADERS_TIMEOUT_MS;

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
    if (path === '/readyz') return draining ? json(503, { status: 'draining' }) : json(200, { status: 'ready' });
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
    if (connectorIdFor(req.url ?? '/', env.AUDIOHOOK_PATH) !== undefined) {
      res.writeHead(426, { Upgrade: 'websocket', Connection: 'Upgrade', 'Content-Type': 'text/plain' });
      res.end('426 Upgrade Required: this is a WebSocket endpoint\n');
      return;
    }
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('404 Not Found\n');
  }

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // A reset from the peer must never surface as an unhandled 'error'.
    socket.on('error', () => socket.destroy());
    const target = req.url ?? '/';
    const connectorId = connectorIdFor(target, env.AUDIOHOOK_PATH);
    if (connectorId === undefined) {
      writeResponseAndClose(socket, { status: 404 });
      return;
    }
    if (draining) {
      writeResponseAndClose(socket, { status: 503, reason: 'shutting down', headers: { 'Retry-After': '5' } });
      return;
    }
    const startedAt = clock.now();
    const outcome = authenticate({ url: target, headers: req.headers });
    if (!outcome.ok) {
      const delivery = rejections.reject(socket, startedAt, { status: outcome.status, reason: outcome.reason });
      logger.warn(
        { ...outcome.ids, ...remoteOf(req), status: outcome.status, reason: outcome.detail, delivery },
        'audiohook upgrade rejected',
      );
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      try {
        startSession(ws, outcome.ids, connectorId, req);
      } catch (err) {
        // A bug in session set-up must cost this connection only.
        logger.error({ err, ...outcome.ids }, 'could not start the protocol session');
        ws.terminate();
      }
    });
  });

  function startSession(ws: WebSocket, ids: AudiohookIds, connectorId: string, req: IncomingMessage): void {
    const connectionLog = logger.child({ ...ids });
    // The session adds sessionId and correlationId to its own child logger; pass it the rest only.
    const session = createSession({
      socket: protocolSocketFor(ws),
      ...ids,
      connectorId,
      logger: logger.child({ organizationId: ids.organizationId, connectorId }),
      createCall: options.createCall,
      clock,
    });
    sessions.set(session, ws);
    metrics?.activeSessions.inc();
    connectionLog.info({ connectorId, ...remoteOf(req) }, 'audiohook connection accepted');
    routeSocketEvents(ws, session, connectionLog);
    const forget = () => {
      if (sessions.delete(session)) metrics?.activeSessions.dec();
    };
    void session.finished.then(forget, forget);
  }

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

  return {
    server,
    get draining() {
      return draining;
    },
    startDrain,
    activeSessions: () => sessions.size,
    listen: () =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(env.PORT, env.HOST, () => {
          server.off('error', reject);
          const address = server.address() as AddressInfo;
          resolve({ port: address.port, host: address.address });
        });
      }),
    close: async (closeOptions = {}) => {
      startDrain();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      rejections.cancelAll();
      await waitForSessions(closeOptions.graceMs ?? 0);
      if (sessions.size > 0) {
        logger.warn({ sessions: sessions.size }, 'closing sessions still open at shutdown');
        for (const ws of sessions.values()) ws.close(1001, 'server shutting down');
        await waitForSessions(SESSION_FINISH_WAIT_MS);
        for (const ws of sessions.values()) ws.terminate();
      }
      server.closeAllConnections();
      await closed;
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
