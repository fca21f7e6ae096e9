import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/server/metrics.js';
import { botSpeaks, makeReady, responseDone, startCall } from './harness.js';
import { sample } from '../support/prometheus.js';


describe('bridge metrics', () => {
  it('counts barge-ins, model errors by code, connect time and first-bot-audio latency', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const h = startCall({ vars: { AI_GREETING: 'false' }, deps: { metrics } });
    await makeReady(h);
    // Caller stops speaking at t; the first bot frame goes out 700 ms later.
    h.model.emit({ type: 'input_audio_buffer.speech_stopped', audio_end_ms: 900, item_id: 'u1' });
    h.clock.advance(700);
    botSpeaks(h, 'r1', 'i1', 2000);
    h.clock.advance(300);
    h.model.emit({ type: 'input_audio_buffer.speech_started', audio_start_ms: 2000, item_id: 'u2' });
    responseDone(h, 'r1', { status: 'cancelled' });
    h.handler.onClientError!({ code: 429, message: 'Too many requests', retryAfterMs: 1000 });
    h.handler.onClientError!({ code: 500, message: 'oops' });
    h.model.error('rate_limit_exceeded', 'slow down');
    h.model.error('rate_limit_exceeded', 'slow down');
    h.model.error('Bad Code!', 'odd');

    const text = await metrics.render();
    expect(sample(text, 'audiohook_barge_ins_total')).toBe(1);
    // Genesys 429s are counted once, by the server (src/server/session-metrics.ts), not here.
    expect(sample(text, 'audiohook_genesys_rate_limited_total')).toBe(0);
    expect(sample(text, 'audiohook_model_errors_total{code="rate_limit_exceeded"}')).toBe(2);
    expect(sample(text, 'audiohook_model_errors_total{code="other"}')).toBe(1);
    expect(sample(text, 'audiohook_model_connect_seconds_count')).toBe(1);
    expect(sample(text, 'audiohook_first_bot_audio_seconds_count')).toBe(1);
    expect(sample(text, 'audiohook_first_bot_audio_seconds_sum')).toBeCloseTo(0.7, 5);
    expect(sample(text, 'audiohook_model_reconnects_total')).toBe(0);
  });

  it('counts a mid-call model reconnect', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const h = startCall({ vars: { AI_GREETING: 'false' }, deps: { metrics } });
    await makeReady(h);
    h.model.drop(1011);
    await makeReady(h);
    expect(h.models).toHaveLength(2);
    const text = await metrics.render();
    expect(sample(text, 'audiohook_model_reconnects_total')).toBe(1);
    expect(sample(text, 'audiohook_model_errors_total{code="close_1011"}')).toBe(1);
  });
});
