/**
 * Prometheus metrics for the connector, on a registry of its own (never prom-client's global one, so
 * tests and embedders can create several without "already registered" clashes or shared state).
 *
 * Custom series are named `audiohook_…`; the Node process series (CPU, memory, GC, event-loop lag) keep
 * prom-client's standard names so stock Node.js dashboards work. Label values come from closed sets
 * (typed below), or are sanitised, so a bad peer cannot blow up series cardinality.
 */
import { timingSafeEqual } from 'node:crypto';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { z } from 'zod';
import type { UsageTotals } from '../bridge/usage.js';
import type { ToolMetrics } from '../tools/metrics.js';
import { WEBHOOK_OUTCOMES, type WebhookOutcome } from '../bridge/webhook.js';
import { errorCodeLabel } from '../realtime/model-metrics.js';

/** Why a session ended (one label value per ending, counted once per session). */
export const SESSION_END_REASONS = [
  'completed', // the bot ended the call (disconnect reason "completed")
  'escalated', // the bot ended the call asking Architect to transfer
  'caller_hangup', // Genesys closed (close reason "end")
  'probe', // a connection probe (null conversation id): opened and closed without a model
  'error', // we or Genesys ended the session with an error
  'shutdown', // still running when the process had to stop
] as const;
export type SessionEndReason = (typeof SESSION_END_REASONS)[number];

/**
 * Why an AudioHook upgrade was refused (busy: too many failed upgrades already waiting for their answer;
 * fleet_capacity: MAX_FLEET_SESSIONS reached across the fleet, src/fleet).
 */
export const UPGRADE_REFUSALS = ['unauthorized', 'bad_request', 'busy', 'at_capacity', 'fleet_capacity', 'draining', 'not_found'] as const;
export type UpgradeRefusal = (typeof UPGRADE_REFUSALS)[number];

/** Back-pressure on Genesys sockets: a socket crossed the mark (audio refused), or stayed over it and was ended. */
export const BACKPRESSURE_EVENTS = ['congested', 'stalled', 'reading_paused', 'overflow'] as const;
export type BackpressureEvent = (typeof BACKPRESSURE_EVENTS)[number];

/** The caller-transcription model is billed separately from the conversation model, so it has its own kinds. */
export const TOKEN_KINDS = [
  'input_text',
  'input_audio',
  'input_cached',
  'output_text',
  'output_audio',
  'transcription_input',
  'transcription_output',
] as const;
export type TokenKind = (typeof TOKEN_KINDS)[number];

/** Adds one finished call's token usage (conversation and transcription models) to the counter. */
export function countCallTokens(tokens: LabeledCounter<TokenKind>, usage: UsageTotals): void {
  tokens.inc('input_text', usage.inputTextTokens);
  tokens.inc('input_audio', usage.inputAudioTokens);
  tokens.inc('input_cached', usage.cachedTokens);
  tokens.inc('output_text', usage.outputTextTokens);
  tokens.inc('output_audio', usage.outputAudioTokens);
  tokens.inc('transcription_input', usage.transcriptionInputTokens);
  tokens.inc('transcription_output', usage.transcriptionOutputTokens);
}

export { WEBHOOK_OUTCOMES, type WebhookOutcome };

/** A counter with one label whose values are a closed set of strings. */
export interface LabeledCounter<Value extends string> {
  inc(value: Value, by?: number): void;
}

export interface SecondsHistogram {
  observe(seconds: number): void;
}

export interface Metrics {
  readonly registry: Registry;
  /** The Content-Type for the `/metrics` response. */
  readonly contentType: string;
  readonly activeSessions: { inc(): void; dec(): void };
  /** Counted once per session at its end, by the server only (session-metrics.ts). */
  readonly sessions: LabeledCounter<SessionEndReason>;
  /** `open` received → `opened` sent (Genesys allows 5 s). */
  readonly openToOpenedSeconds: SecondsHistogram;
  /** Model WebSocket dial → session ready (session.updated confirmed). */
  readonly modelConnectSeconds: SecondsHistogram;
  /** Caller stopped speaking (VAD speech_stopped) → first bot audio sent to Genesys. */
  readonly firstBotAudioSeconds: SecondsHistogram;
  readonly bargeIns: { inc(): void };
  /** Genesys told us to slow down (error code 429 from the client); counted by the server only. */
  readonly genesysRateLimited: { inc(): void };
  /** Model error events and failed responses, by OpenAI error code (sanitised, see `errorCodeLabel`). */
  readonly modelErrors: LabeledCounter<string>;
  readonly modelReconnects: { inc(): void };
  readonly tokens: LabeledCounter<TokenKind>;
  readonly webhookDeliveries: LabeledCounter<WebhookOutcome>;
  readonly webhookSpoolDepth: { set(depth: number): void };
  readonly upgradesRefused: LabeledCounter<UpgradeRefusal>;
  readonly outboundBackpressure: LabeledCounter<BackpressureEvent>;
  /** Tool calls by tool and outcome, their latency, and unreachable tool servers (src/tools). */
  readonly tools: ToolMetrics;
  /** Prometheus text exposition of every series in this registry. */
  render(): Promise<string>;
}

export interface MetricsOptions {
  /** Process/Node series (CPU, memory, GC, event-loop lag). Default true. */
  defaultMetrics?: boolean;
  /** Labels added to every series, e.g. `{ instance_group: 'blue' }`. */
  labels?: Record<string, string>;
}

export { errorCodeLabel };

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (options.labels) registry.setDefaultLabels(options.labels);
  if (options.defaultMetrics !== false) {
    // 10 ms resolution is plenty to see a blocked loop delaying 20 ms audio frames.
    collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });
  }
  const registers = [registry];

  const labeled = <Value extends string>(
    name: string,
    help: string,
    label: string,
    initial: readonly Value[],
  ): LabeledCounter<Value> => {
    const counter = new Counter({ name, help, labelNames: [label], registers });
    // Zero-initialised series make rate() and absent-alerts work before the first event.
    for (const value of initial) counter.inc({ [label]: value }, 0);
    return { inc: (value, by = 1) => counter.inc({ [label]: value }, by) };
  };
  const histogram = (name: string, help: string, buckets: number[]): SecondsHistogram => {
    const h = new Histogram({ name, help, buckets, registers });
    return { observe: (seconds) => h.observe(seconds) };
  };
  const counter = (name: string, help: string) => new Counter({ name, help, registers });

  const active = new Gauge({ name: 'audiohook_active_sessions', help: 'AudioHook sessions now open', registers });
  const spool = new Gauge({
    name: 'audiohook_webhook_spool_depth',
    help: 'Summary webhook deliveries waiting for a retry',
    registers,
  });

  const toolCalls = new Counter({
    name: 'audiohook_tool_calls_total',
    help: 'Tool calls made by the model, by tool and outcome (ok, error, timeout, cancelled, limited)',
    labelNames: ['tool', 'outcome'],
    registers,
  });
  const toolSeconds = new Histogram({
    name: 'audiohook_tool_call_seconds',
    help: 'Tool call duration, by tool',
    labelNames: ['tool'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5, 8, 15],
    registers,
  });
  const toolSourceFailures = new Counter({
    name: 'audiohook_tool_source_failures_total',
    help: 'Failed connection attempts to MCP tool servers, by source',
    labelNames: ['source'],
    registers,
  });

  return {
    registry,
    contentType: registry.contentType,
    activeSessions: { inc: () => active.inc(), dec: () => active.dec() },
    sessions: labeled('audiohook_sessions_total', 'AudioHook sessions ended, by end reason', 'reason', SESSION_END_REASONS),
    openToOpenedSeconds: histogram(
      'audiohook_open_to_opened_seconds',
      'Time from receiving open to sending opened',
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    ),
    modelConnectSeconds: histogram(
      'audiohook_model_connect_seconds',
      'Time to connect and configure the Realtime model session',
      [0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20],
    ),
    firstBotAudioSeconds: histogram(
      'audiohook_first_bot_audio_seconds',
      'Time from the caller stopping speaking to the first bot audio sent',
      [0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 8],
    ),
    bargeIns: counter('audiohook_barge_ins_total', 'Caller barge-ins that interrupted bot audio'),
    genesysRateLimited: counter('audiohook_genesys_rate_limited_total', 'Rate-limit (429) errors from Genesys'),
    modelErrors: labeled('audiohook_model_errors_total', 'Realtime model errors, by error code', 'code', []),
    modelReconnects: counter('audiohook_model_reconnects_total', 'Realtime model sessions re-established mid-call'),
    tokens: labeled('audiohook_tokens_total', 'Realtime and transcription model tokens used, by kind', 'kind', TOKEN_KINDS),
    webhookDeliveries: labeled(
      'audiohook_webhook_deliveries_total',
      'Summary webhook delivery attempts, by outcome',
      'outcome',
      WEBHOOK_OUTCOMES,
    ),
    webhookSpoolDepth: { set: (depth) => spool.set(depth) },
    upgradesRefused: labeled('audiohook_upgrades_refused_total', 'AudioHook upgrades refused, by reason', 'reason', UPGRADE_REFUSALS),
    outboundBackpressure: labeled(
      'audiohook_outbound_backpressure_total',
      'Genesys sockets whose send queue crossed the back-pressure mark (congested), stayed over it and were ended (stalled), made us stop reading from the peer (reading_paused) or reached the hard cap and were ended at once (overflow)',
      'event',
      BACKPRESSURE_EVENTS,
    ),
    tools: {
      toolCalls: { inc: (tool, outcome) => toolCalls.inc({ tool, outcome }) },
      toolCallSeconds: { observe: (tool, seconds) => toolSeconds.observe({ tool }, seconds) },
      toolSourceFailures: { inc: (source) => toolSourceFailures.inc({ source }) },
    },
    render: () => registry.metrics(),
  };
}

/** Optional bearer token for `/metrics` (at least 16 characters so it is not guessable). */
export const metricsEnvShape = {
  METRICS_TOKEN: z.string().min(16, { message: 'must be at least 16 characters' }).optional(),
};

/**
 * Whether a `/metrics` request may be served: always when no token is configured, otherwise only
 * with `Authorization: Bearer <token>` (compared in constant time).
 */
export function metricsRequestAllowed(authorization: string | undefined, token: string | undefined): boolean {
  if (!token) return true;
  const match = /^Bearer (.+)$/.exec(authorization ?? '');
  if (!match) return false;
  const given = Buffer.from(match[1]!, 'utf8');
  const expected = Buffer.from(token, 'utf8');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
