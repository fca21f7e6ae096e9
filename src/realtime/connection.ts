/**
 * One model connection per call: the GA `OpenAIRealtimeWS` client (never the beta client, never an
 * OpenAI-Beta header) wrapped in a small typed ModelConnection so the bridge can be tested without sockets.
 * The emulator and OpenAI take the same path: the emulator is just a baseURL plus an extra CA.
 */
import OpenAI, { AzureOpenAI } from 'openai';
import { OpenAIRealtimeWS } from 'openai/realtime/ws';
import type { RealtimeClientEvent, RealtimeServerEvent } from 'openai/resources/realtime/realtime';
import type { Logger } from 'pino';
import { ModelConnectionError, type AzureSettings, type ConnectSettings } from './connect-settings.js';
import { modelDials } from './dial-queue.js';
import type { HandshakeObserver } from './model-health.js';

export type { RealtimeClientEvent, RealtimeServerEvent };
export { connectSettingsFromEnv, modelStartupInfo, ModelConnectionError } from './connect-settings.js';
export type { AzureSettings, ConnectSettings, HandshakeFailure, ModelStartupInfo } from './connect-settings.js';

export interface ModelConnection {
  /** Sends a typed client event; a no-op once closed. */
  send(event: RealtimeClientEvent): void;
  onEvent(listener: (event: RealtimeServerEvent) => void): void;
  /** Server `error` events and transport failures. Most server errors are recoverable (the session stays). */
  onError(listener: (error: ModelConnectionError) => void): void;
  /** The socket closed (after `ready` or instead of it). */
  onClose(listener: (code: number, reason: string) => void): void;
  /** Resolves when the socket is open; rejects if the handshake fails or times out. */
  readonly ready: Promise<void>;
  close(): void;
  readonly bufferedAmount: number;
}

/**
 * The `api-version` the SDK's AzureOpenAI constructor insists on (it throws without one). The GA realtime
 * URL it builds (`/openai/v1/realtime?model=<deployment>`) drops every query parameter, so this value is
 * never sent; it only satisfies the constructor when AZURE_OPENAI_API_VERSION is not set.
 */
const AZURE_UNSENT_API_VERSION = 'v1';

/**
 * The SDK's Azure client, built only from our settings: `baseURL` derived from the endpoint (passing
 * `endpoint` instead makes the SDK read OPENAI_BASE_URL from the environment and throw "baseURL and
 * endpoint are mutually exclusive" when it is set), the key and the deployment explicit.
 */
export function createAzureClient(azure: AzureSettings): AzureOpenAI {
  // Accept the resource URL with or without the /openai or /openai/v1 suffix.
  const resource = azure.endpoint.replace(/\/+$/, '').replace(/\/openai(\/v1)?$/, '');
  return new AzureOpenAI({
    baseURL: `${resource}/openai`,
    apiKey: azure.apiKey,
    deployment: azure.deployment,
    apiVersion: azure.apiVersion ?? AZURE_UNSENT_API_VERSION,
  });
}

/**
 * What the settings check (connect-settings.ts) cannot do without the SDK: build the Azure client once at
 * start-up, so a refusal by its constructor names our variables instead of failing every call.
 */
export function assertAzureClient(settings: Pick<ConnectSettings, 'azure'>): void {
  if (!settings.azure) return;
  try {
    createAzureClient(settings.azure);
  } catch (err) {
    throw new ModelConnectionError(`AZURE_OPENAI_ENDPOINT / AZURE_OPENAI_API_KEY rejected by the Azure client: ${(err as Error).message}`);
  }
}

/**
 * The SDK client a dial uses, one per configuration and process: it only carries the key, the base URL
 * and headers (the realtime socket is the call's own), and building one per call cost ~7 KB held for the
 * whole call plus its construction at every dial. Few configurations exist (bots share the key), the map
 * is bounded anyway.
 */
const MAX_SHARED_CLIENTS = 16;
const sharedClients = new Map<string, OpenAI>();
export function sharedClient<C extends OpenAI>(key: readonly string[], create: () => C): C {
  const id = key.join('\n');
  let client = sharedClients.get(id) as C | undefined;
  if (!client) {
    client = create();
    if (sharedClients.size >= MAX_SHARED_CLIENTS) sharedClients.delete(sharedClients.keys().next().value!);
    sharedClients.set(id, client);
  }
  return client;
}

/** Opens the model socket. Resolves once the client object exists; await `ready` for the handshake. */
export async function connectRealtime(settings: ConnectSettings, logger: Logger): Promise<ModelConnection> {
  // Dials take turns (dial-queue.ts): in a burst of `open`s, callers get `opened` before calls spend CPU on
  // TLS handshakes.
  await modelDials.turn();
  const options = {
    handshakeTimeout: settings.connectTimeoutMs,
    ...(settings.secureContext !== undefined ? { secureContext: settings.secureContext } : {}),
  };
  let rt: OpenAIRealtimeWS;
  if (settings.azure) {
    const azure = settings.azure;
    const client = sharedClient(['azure', azure.endpoint, azure.deployment, azure.apiKey, azure.apiVersion ?? ''], () => createAzureClient(azure));
    rt = await OpenAIRealtimeWS.azure(client, { deploymentName: azure.deployment, options });
  } else {
    const { apiKey, baseURL } = settings;
    if (apiKey === undefined) throw new ModelConnectionError('OPENAI_API_KEY is not set');
    const client = sharedClient(['openai', apiKey, baseURL ?? ''], () => new OpenAI({ apiKey, ...(baseURL ? { baseURL } : {}) }));
    rt = new OpenAIRealtimeWS({ model: settings.model, options }, client);
  }
  return wrap(rt, logger, settings.health);
}

function wrap(rt: OpenAIRealtimeWS, logger: Logger, health: HandshakeObserver | undefined): ModelConnection {
  const errorListeners: Array<(e: ModelConnectionError) => void> = [];
  const closeListeners: Array<(code: number, reason: string) => void> = [];
  let closed = false;
  let opened = false;

  const ready = new Promise<void>((resolve, reject) => {
    rt.socket.once('open', () => {
      opened = true;
      health?.handshakeSucceeded();
      resolve();
    });
    rt.socket.once('unexpected-response', (req, res) => {
      // With this listener ws leaves aborting to us; the status is the useful part (401, 404 model, 429).
      const httpStatus = res.statusCode ?? 0;
      health?.handshakeRefused(httpStatus);
      reject(new ModelConnectionError(`model handshake refused: HTTP ${httpStatus || 'unknown'}`, undefined, undefined, { httpStatus }));
      res.resume();
      req.destroy();
      rt.socket.terminate();
    });
    rt.socket.once('close', (code) => {
      if (!opened) reject(new ModelConnectionError(`model socket closed during handshake (code ${code})`, undefined, undefined, { closeCode: code }));
    });
    rt.socket.once('error', (err) => {
      if (!opened) reject(new ModelConnectionError(`model handshake failed: ${err.message}`, undefined, undefined, { transport: true }));
    });
  });
  // The bridge may never await `ready` (e.g. the caller hangs up first); never leave it unhandled.
  ready.catch(() => undefined);

  // Always registered: without an 'error' listener the SDK turns errors into unhandled rejections.
  rt.on('error', (err) => {
    const code = err.error?.code ?? undefined;
    const message = err.error?.message ?? err.message;
    logger.debug({ code, type: err.error?.type }, 'model error');
    const wrapped = new ModelConnectionError(message, code ?? undefined, err.error?.event_id ?? undefined);
    for (const l of errorListeners) l(wrapped);
  });
  rt.socket.on('close', (code, reason) => {
    closed = true;
    for (const l of closeListeners) l(code, reason.toString());
  });

  return {
    send(event) {
      if (closed || rt.socket.readyState !== rt.socket.OPEN) return;
      rt.send(event);
    },
    onEvent(listener) {
      rt.on('event', listener);
    },
    onError(listener) {
      errorListeners.push(listener);
    },
    onClose(listener) {
      closeListeners.push(listener);
    },
    ready,
    close() {
      if (closed) return;
      if (rt.socket.readyState === rt.socket.CONNECTING) {
        rt.socket.terminate();
        return;
      }
      rt.close({ code: 1000, reason: 'call ended' });
    },
    get bufferedAmount() {
      return rt.socket.bufferedAmount;
    },
  };
}
