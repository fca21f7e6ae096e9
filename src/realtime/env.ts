/**
 * Environment variables of the model connection. Exported as a zod shape; src/config/env.ts merges it.
 * Per-call Architect input variables (src/bridge/variables.ts) override the call-level defaults here.
 */
import { z } from 'zod';
import { intInRange, msInRange, number01 } from '../config/env-fields.js';

/** GA Realtime voices (OPENAI_REALTIME.md §4.3). `fable/onyx/nova` are not Realtime voices. */
export const REALTIME_VOICES = ['alloy', 'ash', 'ballad', 'coral', 'echo', 'sage', 'shimmer', 'verse', 'marin', 'cedar'] as const;
export type RealtimeVoice = (typeof REALTIME_VOICES)[number];

export const VAD_TYPES = ['server_vad', 'semantic_vad'] as const;
export const VAD_EAGERNESS = ['low', 'medium', 'high', 'auto'] as const;
export const NOISE_REDUCTIONS = ['near_field', 'far_field', 'off'] as const;

export const DEFAULT_MODEL = 'gpt-realtime-2.1-mini';
/**
 * `gpt-transcribe`: current (not on the 2027-02-26 deprecation list with whisper-1 / gpt-4o-*-transcribe),
 * and it accepts `language`, which phone audio benefits from. `gpt-realtime-whisper` only adds `delay`,
 * which matters for live captions, not for our after-the-fact transcript.
 */
export const DEFAULT_TRANSCRIPTION_MODEL = 'gpt-transcribe';

const httpsOrHttpUrl = z.string().url({ message: 'must be a URL' });

export const realtimeEnvShape = {
  /** Optional at parse time; a call fails with a clear `disconnect` error if neither OpenAI nor Azure is configured. */
  OPENAI_API_KEY: z.string().min(1).optional(),
  OPENAI_BASE_URL: httpsOrHttpUrl.optional(),
  OPENAI_MODEL: z.string().min(1).default(DEFAULT_MODEL),
  OPENAI_VOICE: z.enum(REALTIME_VOICES, { message: `must be one of ${REALTIME_VOICES.join(', ')}` }).default('marin'),
  OPENAI_INSTRUCTIONS: z.string().min(1).optional(),
  VAD_TYPE: z.enum(VAD_TYPES, { message: 'must be server_vad or semantic_vad' }).default('server_vad'),
  VAD_THRESHOLD: number01.default(0.5),
  VAD_PREFIX_PADDING_MS: msInRange(0, 5000).default(300),
  VAD_SILENCE_DURATION_MS: msInRange(0, 10_000).default(500),
  /** server_vad only: after this much silence following the bot's audio the model prompts the caller. */
  VAD_IDLE_TIMEOUT_MS: msInRange(5000, 30_000).optional(),
  VAD_EAGERNESS: z.enum(VAD_EAGERNESS, { message: 'must be low, medium, high or auto' }).default('auto'),
  /** PSTN handsets are close-talking; switch to far_field for speakerphone-heavy traffic. */
  NOISE_REDUCTION: z.enum(NOISE_REDUCTIONS, { message: 'must be near_field, far_field or off' }).default('near_field'),
  /**
   * A transcription model name, or "off". Unset: `gpt-transcribe` with OpenAI, `off` with Azure, where it
   * must name a transcription *deployment* of the resource (an OpenAI model id is rejected there).
   */
  INPUT_TRANSCRIPTION_MODEL: z.string().min(1).optional(),
  AZURE_OPENAI_ENDPOINT: httpsOrHttpUrl.optional(),
  AZURE_OPENAI_DEPLOYMENT: z.string().min(1).optional(),
  AZURE_OPENAI_API_KEY: z.string().min(1).optional(),
  AZURE_OPENAI_API_VERSION: z.string().min(1).optional(),
  /** Path of an extra CA (PEM) to trust for the model socket: the emulator's test CA or a corporate proxy. */
  REALTIME_CA_FILE: z.string().min(1).optional(),
  /** Time allowed from connect to a verified `session.updated`. */
  MODEL_CONNECT_TIMEOUT_MS: msInRange(1000, 60_000).default(10_000),
  /** Time allowed for retrying a refused/failed model handshake (429, 5xx, timeout) while the call is held. */
  MODEL_RETRY_BUDGET_MS: msInRange(0, 60_000).default(8000),
  /** Mid-call model sessions re-established after a drop, per call (renewals before the 60-minute cap not counted). */
  MODEL_MAX_RECONNECTS: intInRange(0, 20).default(3),
  /** Session age after which the model session is renewed at a quiet moment (the server caps it at 60 min). */
  MODEL_SESSION_RENEW_AFTER_MS: msInRange(1000, 3_540_000).default(3_300_000),
  /** After the caller's turn is committed, ask for a reply once if none has started within this. */
  MODEL_RESPONSE_TIMEOUT_MS: msInRange(1000, 60_000).default(8000),
  /** Longest "try again in Xs" wait honoured for a rate-limited response before escalating. */
  MODEL_RATE_LIMIT_MAX_WAIT_MS: msInRange(0, 60_000).default(10_000),
};

export const realtimeEnvSchema = z.object(realtimeEnvShape);
export type RealtimeEnv = z.infer<typeof realtimeEnvSchema>;

/** Azure is selected by its endpoint (connectSettingsFromEnv insists on the other two variables with it). */
export function usesAzure(env: Pick<RealtimeEnv, 'AZURE_OPENAI_ENDPOINT'>): boolean {
  return env.AZURE_OPENAI_ENDPOINT !== undefined;
}

/**
 * The caller transcription model, or null when off. Unset on Azure means off: a deployment name cannot be
 * guessed, and an OpenAI model id there fails the session.update (see the start-up log, modelStartupInfo).
 */
export function transcriptionModelOf(env: Pick<RealtimeEnv, 'INPUT_TRANSCRIPTION_MODEL' | 'AZURE_OPENAI_ENDPOINT'>): string | null {
  const configured = env.INPUT_TRANSCRIPTION_MODEL ?? (usesAzure(env) ? 'off' : DEFAULT_TRANSCRIPTION_MODEL);
  return configured.toLowerCase() === 'off' ? null : configured;
}
