/**
 * The model connection's settings, read once at start-up, and its error type. Kept apart from the
 * connection itself (connection.ts) so that what only reads configuration — the cluster primary, the CLI's
 * exit codes — does not load the OpenAI SDK and ws (~20 MB per process).
 */
import { readFileSync } from 'node:fs';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import { transcriptionModelOf, usesAzure, type RealtimeEnv } from './env.js';
import type { HandshakeObserver, ModelProvider } from './model-health.js';

/** A failure of the model connection, with a message fit for `disconnect.info` (no secrets). */
export class ModelConnectionError extends Error {
  constructor(
    message: string,
    /** Server error code (e.g. `session_expired`, `invalid_api_key`) when the server sent one. */
    readonly code?: string,
    /** The `event_id` of our client event the server error refers to, when it says so. */
    readonly clientEventId?: string,
    /** How the handshake failed, for the retry decision (src/realtime/backoff.ts). */
    readonly handshake?: HandshakeFailure,
  ) {
    super(message);
    this.name = 'ModelConnectionError';
  }
}

/** A refused HTTP upgrade, a close before open, or a transport failure (DNS, TCP, TLS, timeout). */
export type HandshakeFailure = { httpStatus: number } | { closeCode: number } | { transport: true };

export interface AzureSettings {
  endpoint: string;
  deployment: string;
  apiKey: string;
  apiVersion?: string;
}

export interface ConnectSettings {
  model: string;
  apiKey?: string;
  baseURL?: string;
  azure?: AzureSettings;
  /**
   * Node's roots plus the extra CA (REALTIME_CA_FILE), built once at start-up and shared by every call:
   * building a trust store per connection costs milliseconds of CPU and close to 1 MB each (see BENCHMARKS.md).
   */
  secureContext?: SecureContext;
  connectTimeoutMs: number;
  /** Told about every handshake's outcome (process-wide model health: metric, error log, /readyz). */
  health?: HandshakeObserver;
}

/** What the start-up line states about the model (no secrets). */
export interface ModelStartupInfo {
  provider: ModelProvider;
  /** The OpenAI model, or the Azure deployment (which decides the model there). */
  model: string;
  voice: string;
  transcription: string;
  /** Configuration facts an operator should see at start-up. */
  notes: string[];
}

export function modelStartupInfo(env: RealtimeEnv): ModelStartupInfo {
  const azure = usesAzure(env) && env.AZURE_OPENAI_DEPLOYMENT !== undefined;
  const notes: string[] = [];
  if (azure) {
    notes.push('Azure OpenAI: OPENAI_MODEL and AI_MODEL are ignored; the deployment decides the model');
    if (env.INPUT_TRANSCRIPTION_MODEL === undefined) {
      notes.push('Azure OpenAI: caller transcription is off; set INPUT_TRANSCRIPTION_MODEL to a transcription deployment to enable it');
    }
    if (env.OPENAI_BASE_URL !== undefined) notes.push('Azure OpenAI: OPENAI_BASE_URL is ignored');
  }
  return {
    provider: azure ? 'azure' : 'openai',
    model: azure ? env.AZURE_OPENAI_DEPLOYMENT! : env.OPENAI_MODEL,
    voice: env.OPENAI_VOICE,
    transcription: transcriptionModelOf(env) ?? 'off',
    notes,
  };
}

/**
 * Builds connection settings from the environment; reads the CA file once (call it at start-up, not per call).
 * Throws a ModelConnectionError naming what is missing when neither OpenAI nor Azure is configured.
 */
export function connectSettingsFromEnv(env: RealtimeEnv, readFile: (path: string) => string = (p) => readFileSync(p, 'utf8')): Omit<ConnectSettings, 'model'> {
  const azureParts = [env.AZURE_OPENAI_ENDPOINT, env.AZURE_OPENAI_DEPLOYMENT, env.AZURE_OPENAI_API_KEY];
  const azureCount = azureParts.filter((p) => p !== undefined).length;
  if (azureCount > 0 && azureCount < 3) {
    throw new ModelConnectionError(
      'Azure OpenAI needs AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_DEPLOYMENT and AZURE_OPENAI_API_KEY together',
    );
  }
  if (azureCount === 0 && env.OPENAI_API_KEY === undefined) {
    throw new ModelConnectionError('no model configured: set OPENAI_API_KEY, or the AZURE_OPENAI_* variables');
  }
  const secureContext =
    env.REALTIME_CA_FILE === undefined
      ? undefined
      : createSecureContext({ ca: [...rootCertificates, readFile(env.REALTIME_CA_FILE)] });
  return {
    ...(env.OPENAI_API_KEY !== undefined ? { apiKey: env.OPENAI_API_KEY } : {}),
    ...(env.OPENAI_BASE_URL !== undefined ? { baseURL: env.OPENAI_BASE_URL } : {}),
    ...(azureCount === 3
      ? {
          azure: {
            endpoint: env.AZURE_OPENAI_ENDPOINT!,
            deployment: env.AZURE_OPENAI_DEPLOYMENT!,
            apiKey: env.AZURE_OPENAI_API_KEY!,
            ...(env.AZURE_OPENAI_API_VERSION ? { apiVersion: env.AZURE_OPENAI_API_VERSION } : {}),
          },
        }
      : {}),
    ...(secureContext !== undefined ? { secureContext } : {}),
    connectTimeoutMs: env.MODEL_CONNECT_TIMEOUT_MS,
  };
}
