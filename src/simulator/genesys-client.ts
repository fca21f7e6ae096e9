/**
 * The simulated Genesys Cloud Audio Connector client over a real WebSocket: upgrade headers (optionally
 * signed like Genesys), then a strict ClientSession. I/O only; every protocol decision is in ClientSession.
 */
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { NULL_UUID, type MediaOffer, type ServerMessage, type ServerMessageType } from '../audiohook/schemas.js';
import { signRequest } from '../audiohook/signature.js';
import { systemClock, type Clock } from '../util/clock.js';
import type { AudioSource } from './audio-source.js';
import { AudioStreamer, type StreamOptions } from './audio-streamer.js';
import type { ClientTiming, Participant } from './client-contract.js';
import { ClientSession } from './client-session.js';
import { DEFAULT_OFFERS } from './media.js';
import type { SimulationReport } from './report.js';
import { assertNoViolations } from './violations.js';

export const GENESYS_USER_AGENT = 'GenesysCloud-AudioHook-Client';

export interface SignatureOverrides {
  nonce?: string;
  /** Unix seconds. */
  created?: number;
  expires?: number;
}

export interface SimulatedCallOptions {
  /** ws:// or wss:// URL (Base Connection URI + Connector ID). */
  url: string;
  apiKey: string;
  /** Base64 client secret; when set the upgrade is signed (AudioHook spec: HTTP Message Signatures). */
  clientSecret?: string;
  /** Fixes signature parameters (tests of expiry, replay). */
  signature?: SignatureOverrides;
  sessionId?: string;
  organizationId?: string;
  correlationId?: string;
  /** A connection probe: null conversation and participant ids, empty ani/dnis (AudioHook spec: connection probe). */
  probe?: boolean;
  conversationId?: string;
  participant?: Partial<Participant>;
  /** Offered media in preference order. Default: PCMU external 8000. */
  offers?: MediaOffer[];
  language?: string;
  supportedLanguages?: boolean;
  inputVariables?: Record<string, string>;
  customConfig?: Record<string, unknown>;
  timing?: Partial<ClientTiming>;
  clock?: Clock;
  /** Headers to add or replace (null removes one), for authentication tests. */
  headers?: Record<string, string | null>;
  /** Upgrade deadline (default 10 s). */
  connectTimeoutMs?: number;
}

/** The upgrade was refused or failed. */
export class ConnectError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
  ) {
    super(message);
    this.name = 'ConnectError';
  }
}

/** A wait on the call ended without its condition (timeout, or the session ended first). */
export class WaitError extends Error {
  constructor(
    message: string,
    readonly report: SimulationReport,
  ) {
    super(message);
    this.name = 'WaitError';
  }
}

export class GenesysClient {
  readonly session: ClientSession;
  readonly ended: Promise<SimulationReport>;
  private readonly options: SimulatedCallOptions;
  private readonly clock: Clock;
  private socketClosed = false;

  private constructor(
    private readonly socket: WebSocket,
    options: SimulatedCallOptions,
    readonly sessionId: string,
    readonly organizationId: string,
  ) {
    this.options = options;
    this.clock = options.clock ?? systemClock;
    this.session = new ClientSession({
      sessionId,
      clock: this.clock,
      timing: options.timing,
      transport: {
        sendText: (text) => this.sendIfOpen(text),
        sendBinary: (data) => this.sendIfOpen(data),
        close: () => {
          if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING) socket.close();
        },
      },
    });
    this.ended = new Promise((resolve) => {
      socket.on('close', () => {
        this.socketClosed = true;
        this.session.handleTransportClosed();
        resolve(this.session.report());
      });
    });
    socket.on('message', (data, isBinary) => {
      const buffer = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      if (isBinary) this.session.handleBinary(new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength));
      else this.session.handleText(buffer.toString('utf8'));
    });
    // Socket errors end in 'close'; the session records an early close as a violation.
    socket.on('error', () => {});
  }

  /** Opens the WebSocket with Genesys' upgrade headers. Rejects with ConnectError when refused. */
  static connect(options: SimulatedCallOptions): Promise<GenesysClient> {
    const sessionId = options.sessionId ?? randomUUID();
    const organizationId = options.organizationId ?? randomUUID();
    const correlationId = options.correlationId ?? randomUUID();
    const url = new URL(options.url);
    const headers: Record<string, string> = {
      'User-Agent': GENESYS_USER_AGENT,
      'Audiohook-Organization-Id': organizationId,
      'Audiohook-Session-Id': sessionId,
      'Audiohook-Correlation-Id': correlationId,
      'X-API-KEY': options.apiKey,
    };
    if (options.clientSecret !== undefined) {
      const signed = signRequest({
        path: `${url.pathname}${url.search}`,
        authority: url.host,
        organizationId,
        sessionId,
        correlationId,
        apiKey: options.apiKey,
        clientSecretBase64: options.clientSecret,
        ...options.signature,
      });
      headers.Signature = signed.signature;
      headers['Signature-Input'] = signed.signatureInput;
    }
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      const existing = Object.keys(headers).find((k) => k.toLowerCase() === name.toLowerCase());
      if (existing) delete headers[existing];
      if (value !== null) headers[name] = value;
    }
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, {
        headers,
        perMessageDeflate: false,
        handshakeTimeout: options.connectTimeoutMs ?? 10_000,
        // Accept oversize frames so the session can report them as violations (413) instead of ws dropping them.
        maxPayload: 4 * 1024 * 1024,
      });
      const fail = (error: ConnectError) => {
        socket.removeAllListeners();
        socket.on('error', () => {});
        socket.terminate();
        reject(error);
      };
      socket.once('unexpected-response', (_req, res) => {
        fail(new ConnectError(`upgrade refused with HTTP ${res.statusCode ?? '?'}`, res.statusCode ?? null));
      });
      socket.once('error', (error) => fail(new ConnectError(`connection failed: ${error.message}`, null)));
      socket.once('open', () => {
        socket.removeAllListeners('unexpected-response');
        socket.removeAllListeners('error');
        resolve(new GenesysClient(socket, options, sessionId, organizationId));
      });
    });
  }

  /** Sends `open` and resolves with `opened` (rejects if the session fails or ends first). */
  async open(): Promise<ServerMessage<'opened'>> {
    const o = this.options;
    const probe = o.probe === true;
    this.session.open({
      organizationId: this.organizationId,
      conversationId: probe ? NULL_UUID : (o.conversationId ?? randomUUID()),
      participant: {
        id: probe ? NULL_UUID : (o.participant?.id ?? randomUUID()),
        ani: probe ? '' : (o.participant?.ani ?? 'tel:+15555550100'),
        aniName: probe ? '' : (o.participant?.aniName ?? ''),
        dnis: probe ? '' : (o.participant?.dnis ?? 'tel:+18005550199'),
      },
      offers: o.offers ?? DEFAULT_OFFERS,
      language: o.language,
      supportedLanguages: o.supportedLanguages,
      inputVariables: o.inputVariables,
      customConfig: o.customConfig,
    });
    return this.nextMessage('opened', (o.timing?.openTimeoutMs ?? 5_000) + 1_000);
  }

  streamAudio(source: AudioSource, options?: StreamOptions): AudioStreamer {
    return new AudioStreamer(this.clock, this.session, source, options).start();
  }

  sendDtmf(digits: string): void {
    this.session.sendDtmf(digits);
  }

  pause(): void {
    this.session.pause();
  }

  resume(): void {
    this.session.resume();
  }

  sendError(code: number, message: string, retryAfterMs?: number): void {
    this.session.sendError(code, message, retryAfterMs);
  }

  sendUpdate(parameters: { language?: string }): void {
    this.session.sendUpdate(parameters);
  }

  sendDiscarded(discardedMs: number): void {
    this.session.sendDiscarded(discardedMs);
  }

  sendRawText(text: string): void {
    this.session.sendRawText(text);
  }

  sendRawBinary(data: Uint8Array): void {
    this.session.sendRawBinary(data);
  }

  /** Runs the close transaction and resolves with the report once the socket has closed. */
  async close(reason = 'end', timeoutMs = 15_000): Promise<SimulationReport> {
    if (this.session.state === 'opening' || this.session.state === 'open') this.session.close(reason);
    return this.waitForEnd(timeoutMs);
  }

  /** Resolves with the next server message of this type (only messages arriving from now on). */
  nextMessage<T extends ServerMessageType>(type: T, timeoutMs = 10_000): Promise<ServerMessage<T>> {
    let found: ServerMessage<T> | undefined;
    return new Promise<ServerMessage<T>>((resolve, reject) => {
      const unsubscribe = this.session.onEvent((event) => {
        if (!found && event.kind === 'server-message' && event.message.type === type) {
          found = event.message as ServerMessage<T>;
        }
      });
      this.waitUntil(() => found !== undefined, `a server ${type}`, timeoutMs).then(
        () => {
          unsubscribe();
          resolve(found!);
        },
        (error: unknown) => {
          unsubscribe();
          reject(error);
        },
      );
    });
  }

  /** Resolves once at least `bytes` of server audio (μ-law mono) have arrived. */
  waitForServerAudio(bytes: number, timeoutMs = 10_000): Promise<void> {
    return this.waitUntil(() => this.session.receivedAudioBytes >= bytes, `${bytes} bytes of server audio`, timeoutMs);
  }

  /** Resolves when the socket has closed (the session ended one way or another). */
  waitForEnd(timeoutMs = 15_000): Promise<SimulationReport> {
    return this.waitUntil(() => this.socketClosed, 'the end of the session', timeoutMs, true).then(() => this.ended);
  }

  /**
   * Resolves when `condition` holds, re-checked on every session event. Rejects on timeout, or when the
   * session fails or its socket closes first (unless `allowEnd`).
   */
  waitUntil(condition: () => boolean, what: string, timeoutMs = 10_000, allowEnd = false): Promise<void> {
    return new Promise((resolve, reject) => {
      let timer: ReturnType<Clock['setTimeout']> | undefined;
      let unsubscribe = () => {};
      let onClose = () => {};
      const settle = (error?: Error) => {
        this.clock.clearTimeout(timer);
        unsubscribe();
        this.socket.off('close', onClose);
        if (error) reject(error);
        else resolve();
      };
      const check = () => {
        if (condition()) return settle();
        const ended = this.socketClosed || this.session.state === 'failed';
        if (ended && !allowEnd) settle(this.waitError(`session ended (${this.session.state}) while waiting for ${what}`));
      };
      onClose = () => queueMicrotask(check);
      unsubscribe = this.session.onEvent(check);
      this.socket.on('close', onClose);
      timer = this.clock.setTimeout(() => settle(this.waitError(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
      check();
    });
  }

  report(): SimulationReport {
    return this.session.report();
  }

  assertNoViolations(): void {
    assertNoViolations(this.session.violationList);
  }

  /** Drops the socket without the close transaction (a vanished client). */
  terminate(): void {
    this.socket.terminate();
  }

  private sendIfOpen(data: string | Uint8Array): void {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(data);
  }

  private waitError(message: string): WaitError {
    const report = this.session.report();
    const violations = report.violations.map((v) => `[${v.code}] ${v.message}`).join('; ');
    return new WaitError(violations ? `${message}; violations: ${violations}` : message, report);
  }
}

/** Connects and runs the open transaction; resolves with the client once `opened` has arrived. */
export async function createSimulatedCall(options: SimulatedCallOptions): Promise<GenesysClient> {
  const client = await GenesysClient.connect(options);
  try {
    await client.open();
  } catch (error) {
    client.terminate();
    throw error;
  }
  return client;
}
