/**
 * What the composition root (src/cli/serve.ts) gives every call bridge: settings, the model connection,
 * where records go, metrics and event listeners, and the seams tests replace (clock, pacer, connect).
 */
import type { Logger } from 'pino';
import type { OutboundPacer, OutboundPacerOptions } from '../audio/pacer.js';
import type { ConnectSettings, ModelConnection } from '../realtime/connection.js';
import type { ModelSessionMetrics, ResilienceEnv } from '../realtime/model-session.js';
import type { Clock } from '../util/clock.js';
import type { CallEventListener } from './call-events.js';
import type { BotRouter } from './call-tools.js';
import type { BridgeEnv } from './env.js';
import type { CallDefaults } from './variables.js';
import type { CallRecord, CallRecordSink, DeliveryResult } from './webhook.js';

/**
 * The metric series a call feeds: a subset of src/server/metrics.ts `Metrics`, declared here so the bridge
 * depends on nothing above it.
 */
export interface CallMetrics extends ModelSessionMetrics {
  bargeIns: { inc(): void };
  firstBotAudioSeconds: { observe(seconds: number): void };
}

export interface BridgeDeps {
  env: CallDefaults & ResilienceEnv & BridgeEnv & { TOOL_FILLER_AFTER_MS?: number };
  /** Bot profiles and tools; without it every call is the single bot from env, with no tools. */
  bots?: BotRouter;
  /** From connectSettingsFromEnv at start-up; an Error (no model configured) ends every call with it. */
  connect: Omit<ConnectSettings, 'model'> | Error;
  connectModel?: (settings: ConnectSettings, logger: Logger) => Promise<ModelConnection>;
  createPacer?: (options: OutboundPacerOptions) => OutboundPacer;
  /** Where call records go (the summary webhook); none → records are only logged as delivered=false. */
  sink?: CallRecordSink;
  clock?: Clock;
  wallClock?: () => Date;
  /** Observes each finished call (after the webhook attempt): metrics, tests. */
  onCallFinished?: (record: CallRecord, delivery: DeliveryResult | undefined) => void;
  /** Per-call counters and latencies (barge-ins, model connect time, reconnects, errors…). */
  metrics?: CallMetrics;
  /** Call milestones (call-events.ts) for the console, traces and tests. */
  events?: CallEventListener;
  /** The instance carrying the calls, for call.started (default hostname/pid). */
  instance?: string;
  /** [0, 1) for backoff jitter; Math.random by default. */
  random?: () => number;
}
