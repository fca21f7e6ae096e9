/**
 * `serve`: the production entry. Environment → bridge (model connection, webhook) → HTTP server.
 * The Realtime emulator is never used here: with no model configured, start-up fails naming the variables.
 */
import type { Env } from '../config/env.js';
import { createBridgeFactory, type BridgeFactory } from '../bridge/call.js';
import { createWebhookSender, type CallRecord, type DeliveryResult } from '../bridge/webhook.js';
import { createLogger, type Logger } from '../log/logger.js';
import { connectSettingsFromEnv } from '../realtime/connection.js';
import { startServer, type RunningServer } from '../server/main.js';
import { createMetrics, type Metrics, type SessionEndReason } from '../server/metrics.js';
import { systemClock } from '../util/clock.js';

export interface ServeOptions {
  logger?: Logger;
  handleSignals?: boolean;
}

export interface Service {
  server: RunningServer;
  bridge: BridgeFactory;
  metrics: Metrics;
}

/** Builds the call bridge from the environment. Throws (naming the variables) when no model is configured. */
export function createBridgeFromEnv(env: Env, logger: Logger, metrics?: Metrics): BridgeFactory {
  const connect = connectSettingsFromEnv(env);
  const sink = env.SUMMARY_WEBHOOK_URL
    ? createWebhookSender({
        url: env.SUMMARY_WEBHOOK_URL,
        ...(env.SUMMARY_WEBHOOK_SECRET ? { secret: env.SUMMARY_WEBHOOK_SECRET } : {}),
        timeoutMs: env.SUMMARY_WEBHOOK_TIMEOUT_MS,
        retries: env.SUMMARY_WEBHOOK_RETRIES,
        clock: systemClock,
        logger: logger.child({ component: 'webhook' }),
      })
    : undefined;
  return createBridgeFactory({
    env,
    connect,
    ...(sink ? { sink } : {}),
    onCallFinished: (record, delivery) => metrics && recordCallMetrics(metrics, record, delivery),
  });
}

const END_REASON_METRIC: Record<CallRecord['end_reason'], SessionEndReason> = {
  bot_ended: 'completed',
  escalated: 'escalated',
  caller_hangup: 'caller_hangup',
  error: 'error',
};

function recordCallMetrics(metrics: Metrics, record: CallRecord, delivery: DeliveryResult | undefined): void {
  metrics.sessions.inc(END_REASON_METRIC[record.end_reason]);
  const u = record.usage;
  metrics.tokens.inc('input_text', u.inputTextTokens);
  metrics.tokens.inc('input_audio', u.inputAudioTokens);
  metrics.tokens.inc('input_cached', u.cachedTokens);
  metrics.tokens.inc('output_text', u.outputTextTokens);
  metrics.tokens.inc('output_audio', u.outputAudioTokens);
  if (delivery) metrics.webhookDeliveries.inc(delivery.delivered ? 'delivered' : 'failed');
}

export async function serve(env: Env, options: ServeOptions = {}): Promise<Service> {
  const logger = options.logger ?? createLogger(env.LOG_LEVEL);
  const metrics = createMetrics();
  const bridge = createBridgeFromEnv(env, logger, metrics);
  const server = await startServer(env, {
    logger,
    createCall: bridge,
    metrics,
    ...(env.METRICS_TOKEN ? { metricsToken: env.METRICS_TOKEN } : {}),
    ...(options.handleSignals === false ? { handleSignals: false } : {}),
    afterClose: () => bridge.drain(),
  });
  return { server, bridge, metrics };
}
