import { describe, expect, it } from 'vitest';
import { register as globalRegistry } from 'prom-client';
import { countCallTokens, createMetrics, errorCodeLabel, metricsRequestAllowed, SESSION_END_REASONS } from '../../src/server/metrics.js';
import { emptyUsage } from '../../src/bridge/usage.js';
import { sample } from '../support/prometheus.js';


describe('createMetrics', () => {
  it('counts what is recorded and renders it in Prometheus text format', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.activeSessions.inc();
    metrics.activeSessions.inc();
    metrics.activeSessions.dec();
    metrics.sessions.inc('completed');
    metrics.sessions.inc('caller_hangup');
    metrics.sessions.inc('caller_hangup');
    metrics.openToOpenedSeconds.observe(0.004);
    metrics.openToOpenedSeconds.observe(0.2);
    metrics.modelConnectSeconds.observe(0.8);
    metrics.firstBotAudioSeconds.observe(0.6);
    metrics.bargeIns.inc();
    metrics.genesysRateLimited.inc();
    metrics.modelErrors.inc(errorCodeLabel('rate_limit_exceeded'));
    metrics.modelReconnects.inc();
    metrics.tokens.inc('input_audio', 120);
    metrics.tokens.inc('output_audio', 340);
    metrics.tokens.inc('output_audio', 10);
    metrics.webhookDeliveries.inc('delivered');
    metrics.webhookSpoolDepth.set(3);

    const text = await metrics.render();
    expect(metrics.contentType).toMatch(/^text\/plain/);
    expect(sample(text, 'audiohook_active_sessions')).toBe(1);
    expect(sample(text, 'audiohook_sessions_total{reason="completed"}')).toBe(1);
    expect(sample(text, 'audiohook_sessions_total{reason="caller_hangup"}')).toBe(2);
    expect(sample(text, 'audiohook_open_to_opened_seconds_count')).toBe(2);
    expect(sample(text, 'audiohook_open_to_opened_seconds_bucket{le="0.005"}')).toBe(1);
    expect(sample(text, 'audiohook_open_to_opened_seconds_bucket{le="0.25"}')).toBe(2);
    expect(sample(text, 'audiohook_open_to_opened_seconds_sum')).toBeCloseTo(0.204, 9);
    expect(sample(text, 'audiohook_model_connect_seconds_count')).toBe(1);
    expect(sample(text, 'audiohook_first_bot_audio_seconds_bucket{le="0.5"}')).toBe(0);
    expect(sample(text, 'audiohook_first_bot_audio_seconds_bucket{le="0.75"}')).toBe(1);
    expect(sample(text, 'audiohook_barge_ins_total')).toBe(1);
    expect(sample(text, 'audiohook_genesys_rate_limited_total')).toBe(1);
    expect(sample(text, 'audiohook_model_errors_total{code="rate_limit_exceeded"}')).toBe(1);
    expect(sample(text, 'audiohook_model_reconnects_total')).toBe(1);
    expect(sample(text, 'audiohook_tokens_total{kind="input_audio"}')).toBe(120);
    expect(sample(text, 'audiohook_tokens_total{kind="output_audio"}')).toBe(350);
    expect(sample(text, 'audiohook_webhook_deliveries_total{outcome="delivered"}')).toBe(1);
    expect(sample(text, 'audiohook_webhook_spool_depth')).toBe(3);
  });

  it('shows every end reason, token kind and webhook outcome at zero before any event', async () => {
    const text = await createMetrics({ defaultMetrics: false }).render();
    for (const reason of SESSION_END_REASONS) expect(sample(text, `audiohook_sessions_total{reason="${reason}"}`)).toBe(0);
    expect(sample(text, 'audiohook_tokens_total{kind="input_cached"}')).toBe(0);
    expect(sample(text, 'audiohook_webhook_deliveries_total{outcome="failed"}')).toBe(0);
    expect(text).toContain('# TYPE audiohook_first_bot_audio_seconds histogram');
  });

  it('counts a finished call\'s transcription tokens next to the conversation model\'s', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const usage = { ...emptyUsage(), inputAudioTokens: 90, outputAudioTokens: 200, transcriptions: 2, transcriptionInputTokens: 30, transcriptionOutputTokens: 8 };
    countCallTokens(metrics.tokens, usage);
    countCallTokens(metrics.tokens, usage);

    const text = await metrics.render();
    expect(sample(text, 'audiohook_tokens_total{kind="transcription_input"}')).toBe(60);
    expect(sample(text, 'audiohook_tokens_total{kind="transcription_output"}')).toBe(16);
    expect(sample(text, 'audiohook_tokens_total{kind="input_audio"}')).toBe(180);
    expect(sample(text, 'audiohook_tokens_total{kind="output_audio"}')).toBe(400);
  });

  it('keeps each instance separate and leaves the global registry alone', async () => {
    const before = (await globalRegistry.getMetricsAsJSON()).length;
    const a = createMetrics();
    const b = createMetrics();
    a.bargeIns.inc();
    expect(sample(await a.render(), 'audiohook_barge_ins_total')).toBe(1);
    expect(sample(await b.render(), 'audiohook_barge_ins_total')).toBe(0);
    expect((await globalRegistry.getMetricsAsJSON()).length).toBe(before);
  });

  it('includes Node process series with event-loop lag by default, and default labels everywhere', async () => {
    const text = await createMetrics({ labels: { deployment: 'blue' } }).render();
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds\{deployment="blue"\} /m);
    expect(text).toMatch(/^process_resident_memory_bytes\{deployment="blue"\} /m);
    expect(text).toMatch(/^audiohook_active_sessions\{deployment="blue"\} 0$/m);
  });
});

describe('errorCodeLabel', () => {
  it('passes short identifiers and folds anything else', () => {
    expect(errorCodeLabel('rate_limit_exceeded')).toBe('rate_limit_exceeded');
    expect(errorCodeLabel('Session_Expired')).toBe('session_expired');
    expect(errorCodeLabel(undefined)).toBe('unknown');
    expect(errorCodeLabel('')).toBe('unknown');
    expect(errorCodeLabel('has spaces and "quotes"')).toBe('other');
    expect(errorCodeLabel('x'.repeat(65))).toBe('other');
  });
});

describe('metricsRequestAllowed', () => {
  const token = 'a-long-metrics-token-123';
  it('serves everyone when no token is set', () => {
    expect(metricsRequestAllowed(undefined, undefined)).toBe(true);
  });
  it('requires the exact bearer token when one is set', () => {
    expect(metricsRequestAllowed(`Bearer ${token}`, token)).toBe(true);
    expect(metricsRequestAllowed(undefined, token)).toBe(false);
    expect(metricsRequestAllowed(token, token)).toBe(false);
    expect(metricsRequestAllowed(`Bearer ${token}x`, token)).toBe(false);
    expect(metricsRequestAllowed(`Bearer ${token.slice(0, -1)}X`, token)).toBe(false);
    expect(metricsRequestAllowed(`Basic ${token}`, token)).toBe(false);
  });
});
