/**
 * The emulated OpenAI Realtime endpoint: an https server whose upgrade handler accepts OpenAI's
 * `/v1/realtime?model=…`, or (option `azure`) one Azure resource's `/openai/v1/realtime?model=<deployment>`,
 * over TLS (the SDK dials wss: only).
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { STATUS_CODES } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { createLogger, type Logger } from '../log/logger.js';
import { systemClock, type Clock } from '../util/clock.js';
import { checkAzureHandshake, checkHandshake, type AzureResource } from './auth.js';
import { EmulatorFaults, type HandshakeFault } from './faults.js';
import type { Speed } from './pacing.js';
import { REALISTIC, TIDY, type Realism } from './realism.js';
import {
  createReplyAudioResolver,
  DEFAULT_SCRIPT,
  loadCallScript,
  parseCallScript,
  REPO_ROOT,
  type CallScript,
  type CallScriptInput,
  type ReplyAudioResolver,
} from './script.js';
import { EmulatorSession, type EmulatorObserver, type EmulatorSessionRecord } from './session.js';
import { loadTestServerTls, TEST_CA_PATH, type TlsMaterial } from './tls-fixtures.js';

export const EMULATOR_BANNER = 'Realtime emulator (offline stand-in, not OpenAI)';

export interface EmulatorOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** Accepted keys; default: any non-empty key. */
  apiKeys?: readonly string[];
  /**
   * Act as an Azure OpenAI resource instead of OpenAI: only `/openai/v1/realtime?model=<deployment>` with
   * an `api-key` header (its own `apiKeys`), deployments by name, and a transcription model that must name
   * a deployment too. OpenAI's path and Bearer auth are then refused, as Azure refuses them.
   */
  azure?: AzureResource;
  /** A script object (validated; defaults applied, so `textCues` may be left out) or a path to a script JSON file. Default: tones only. */
  script?: CallScriptInput | string;
  /** Reply streaming speed. Default `realtime` (`realistic`: 2×). */
  speed?: Speed;
  /** Audio per output delta in ms. Default 100. */
  chunkMs?: number;
  /**
   * Behave like the real API (src/emulator/realism.ts REALISTIC): replies stream at 2× real time with the
   * transcript running ahead of the audio, caller transcription lands ~600 ms after the commit (often after
   * the reply has started), and client-created assistant text turns replies text-only. Default false.
   */
  realistic?: boolean;
  /** Individual realism settings, over the tidy defaults (or over REALISTIC with `realistic`). */
  realism?: Partial<Realism>;
  /** Server certificate; default the test-only fixtures/tls material. */
  tls?: TlsMaterial;
  /** Relative script audio paths resolve against this (default: repository root). */
  scriptBaseDir?: string;
  logger?: Logger;
  clock?: Clock;
  /** Measurement hooks on every session's client and server events (benchmarks). */
  observer?: EmulatorObserver;
  /** Keep each session's appended input audio (default true); turn off for thousands of long calls. */
  retainInputAudio?: boolean;
  /** A slow model: out-of-band summary requests start this long after they arrive (default 0). */
  summaryDelayMs?: number;
}

export interface Emulator {
  /** wss://host:port/v1/realtime */
  readonly url: string;
  /** https://host:port/v1 — pass as the OpenAI client's baseURL (or OPENAI_BASE_URL). */
  readonly baseURL: string;
  /** https://host:port — pass as AZURE_OPENAI_ENDPOINT when started with `azure`. */
  readonly azureEndpoint: string;
  readonly port: number;
  readonly host: string;
  /** The CA that signed the default certificate. */
  readonly caPath: string;
  /** Every session that completed the WebSocket handshake, in order. */
  readonly sessions: readonly EmulatorSessionRecord[];
  readonly faults: EmulatorFaults;
  /** Scripts used by sessions that connect from now on. */
  setScript(script: CallScriptInput | string): void;
  /** Resolves with session number `index` (0-based) once it has connected. */
  waitForSession(index: number, timeoutMs?: number): Promise<EmulatorSessionRecord>;
  close(): Promise<void>;
}

/** Paths are loaded, objects parsed the same way (schema defaults applied, e.g. `textCues`). */
function resolveScript(script: CallScriptInput | string | undefined): CallScript {
  if (script === undefined) return DEFAULT_SCRIPT;
  if (typeof script === 'string') return loadCallScript(script);
  try {
    return parseCallScript(script);
  } catch (err) {
    throw new Error(`invalid call script: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const host = options.host ?? '127.0.0.1';
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger('warn');
  const log = logger.child({ component: 'realtime-emulator' });
  let script = resolveScript(options.script);
  const { speed: _speed, chunkMs: _chunkMs, ...realisticDefaults } = REALISTIC;
  const realism: Realism = { ...(options.realistic ? realisticDefaults : TIDY), ...options.realism };
  const resolveAudio: ReplyAudioResolver = createReplyAudioResolver(options.scriptBaseDir ?? REPO_ROOT, (path) =>
    log.warn({ path }, 'script audio file missing; using a tone'),
  );
  const sessions: EmulatorSession[] = [];
  const live = new Set<EmulatorSession>();
  const waiters: (() => void)[] = [];
  const faults = new EmulatorFaults(() => live);
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 16 * 1024 * 1024 });
  const server: Server = createServer(options.tls ?? loadTestServerTls(), (req, res) => {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { message: `Invalid URL (${req.method} ${req.url})`, type: 'invalid_request_error', code: null, param: null } }));
  });

  const accept = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const url = new URL(req.url ?? '/', `https://${host}`);
    const verdict = options.azure ? checkAzureHandshake(url, req.headers, options.azure) : checkHandshake(url, req.headers, options.apiKeys);
    if (!verdict.ok) {
      log.info({ status: verdict.status, path: url.pathname }, 'handshake rejected');
      writeHttpError(socket, verdict.status, verdict.body);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const session = new EmulatorSession({
        model: verdict.model,
        script,
        resolveAudio,
        speed: options.speed ?? (options.realistic ? REALISTIC.speed : 'realtime'),
        chunkMs: options.chunkMs ?? (options.realistic ? REALISTIC.chunkMs : 100),
        realism,
        ...(options.azure ? { azureDeployments: options.azure.deployments } : {}),
        clock,
        wallNow: () => Date.now(),
        logger: log,
        transport: socketTransport(ws),
        ...(options.observer ? { observer: options.observer } : {}),
        ...(options.retainInputAudio !== undefined ? { retainInputAudio: options.retainInputAudio } : {}),
        ...(options.summaryDelayMs !== undefined ? { summaryDelayMs: options.summaryDelayMs } : {}),
      });
      session.path = verdict.path;
      sessions.push(session);
      live.add(session);
      ws.on('message', (data, isBinary) => {
        const receivedAt = clock.now();
        if (isBinary) {
          // Client events are JSON text frames; a binary frame is refused and ignored (what OpenAI does with
          // one is unverified — refusing keeps a bridge that sends them from passing a test).
          ws.send(JSON.stringify({ type: 'error', event_id: 'event_binary', error: { type: 'invalid_request_error', code: 'invalid_message_type', message: 'Binary messages are not supported: send each client event as a JSON text message.', param: null, event_id: null } }));
          return;
        }
        try {
          session.handleMessage(data.toString(), receivedAt);
        } catch (err) {
          // A bug here must cost one session an error event, never the process.
          log.error({ err, emulatorSession: session.id }, 'emulator failed on a client event');
          ws.send(JSON.stringify({ type: 'error', event_id: 'event_internal', error: { type: 'server_error', code: null, message: 'The server had an error while processing your request.', param: null, event_id: null } }));
        }
      });
      ws.on('close', (code, reason) => {
        live.delete(session);
        session.dispose(code, reason.toString());
      });
      ws.on('error', (err) => log.debug({ err: err.message, emulatorSession: session.id }, 'socket error'));
      for (const wake of waiters.splice(0)) wake();
      if (verdict.beta) {
        session.rejectBetaShape();
        return;
      }
      session.start();
      for (const fault of faults.takeNextSessionFaults()) session.applyFault(fault);
    });
  };

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => undefined);
    const fault: HandshakeFault | undefined = faults.takeHandshakeFault();
    if (fault?.type === 'refuse') {
      log.info({ status: fault.status }, 'handshake refused by fault injection');
      const headers: Record<string, string> = fault.retryAfterSeconds !== undefined ? { 'retry-after': String(fault.retryAfterSeconds) } : {};
      writeHttpError(socket, fault.status, refusalBody(fault.status, fault.message), headers);
      return;
    }
    if (fault?.type === 'delay') {
      clock.setTimeout(() => {
        if (!socket.destroyed) accept(req, socket, head);
      }, fault.ms);
      return;
    }
    accept(req, socket, head);
  });

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolveListen();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : (options.port ?? 0);
  const urlHost = host.includes(':') ? `[${host}]` : host;
  log.info({ port, host, script: script.name }, EMULATOR_BANNER);

  return {
    url: `wss://${urlHost}:${port}/v1/realtime`,
    baseURL: `https://${urlHost}:${port}/v1`,
    azureEndpoint: `https://${urlHost}:${port}`,
    port,
    host,
    caPath: TEST_CA_PATH,
    sessions,
    faults,
    setScript(next) {
      script = resolveScript(next);
    },
    waitForSession(index, timeoutMs = 10_000) {
      return new Promise((resolveWait, reject) => {
        const deadline = Date.now() + timeoutMs;
        const check = (): void => {
          const found = sessions[index];
          if (found) return resolveWait(found);
          if (Date.now() >= deadline) return reject(new Error(`emulator session #${index} did not connect within ${timeoutMs} ms`));
          waiters.push(check);
          setTimeout(check, Math.min(100, timeoutMs)).unref();
        };
        check();
      });
    },
    async close() {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      await new Promise<void>((resolveClose) => server.close(() => resolveClose()));
      server.closeAllConnections?.();
    },
  };
}

function socketTransport(ws: WebSocket) {
  return {
    send(event: Record<string, unknown>): void {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(event));
    },
    close(code: number, reason: string): void {
      if (code === 1006) ws.terminate();
      else ws.close(code, reason);
    },
  };
}

function refusalBody(status: number, message: string | undefined): object {
  const fallback =
    status === 429
      ? 'Rate limit reached for requests. Please try again in 1s.'
      : status >= 500
        ? 'The server is overloaded or not ready yet.'
        : STATUS_CODES[status] ?? 'Error';
  const type = status === 429 ? 'rate_limit_exceeded' : status >= 500 ? 'server_error' : 'invalid_request_error';
  return { error: { message: message ?? fallback, type, code: status === 429 ? 'rate_limit_exceeded' : null, param: null } };
}

function writeHttpError(socket: Duplex, status: number, body: object, extraHeaders: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  const headers = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`,
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(text)}`,
    'Connection: close',
    ...Object.entries(extraHeaders).map(([k, v]) => `${k}: ${v}`),
  ];
  socket.end(`${headers.join('\r\n')}\r\n\r\n${text}`);
}
