import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { CallEvent } from '../../src/bridge/call-events.js';
import { createWebhookSender, type CallRecord } from '../../src/bridge/webhook.js';
import { emptyUsage } from '../../src/bridge/usage.js';
import { createLogger } from '../../src/log/logger.js';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { CallTracer } from '../../src/telemetry/call-tracer.js';
import { createTracing, TRACES_SHUTDOWN_MS, tracesUrlFromEnv, type Tracing } from '../../src/telemetry/tracing.js';
import { systemClock } from '../../src/util/clock.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './otlp-receiver.js';

const logger = createLogger('silent');
const SECRET_TEXT = 'my card number is 4111 1111 1111 1111';
const CALLER_NUMBER = '+15551234567';

/** A webhook receiver on loopback that keeps each request's traceparent. */
async function startWebhook(status = 200) {
  const traceparents: (string | undefined)[] = [];
  const server = createServer((req, res) => {
    traceparents.push(req.headers.traceparent as string | undefined);
    req.resume();
    req.on('end', () => res.writeHead(status).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    traceparents,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function record(sessionId: string, endReason: CallRecord['end_reason']): CallRecord {
  return {
    idempotency_key: `key-${sessionId}`,
    conversation_id: 'conv-1',
    session_id: sessionId,
    correlation_id: 'corr-1',
    organization_id: 'org-1',
    connector_id: 'connector-7',
    started_at: new Date(0).toISOString(),
    ended_at: new Date(1).toISOString(),
    duration_seconds: 1,
    end_reason: endReason,
    escalation: { required: endReason === 'escalated' },
    summary: { summary: SECRET_TEXT, sentiment: 'neutral', resolved: true, follow_ups: [], source: 'model' },
    transcript: [{ role: 'caller', itemId: 'i1', text: SECRET_TEXT }],
    usage: { ...emptyUsage(), responses: 1, totalTokens: 1, inputTokens: 1, inputAudioTokens: 1 },
    model: 'gpt-realtime-2.1-mini',
  };
}

const byName = (spans: ReceivedSpan[], name: string) => spans.filter((s) => s.name === name);

describe('traces over OTLP/HTTP', () => {
  let receiver: OtlpReceiver | undefined;
  let tracing: Tracing | undefined;
  afterEach(async () => {
    await tracing?.shutdown();
    await receiver?.close();
    tracing = undefined;
    receiver = undefined;
  });

  it('is off, and costs nothing, without the standard OTEL endpoint variables', () => {
    expect(createTracing({ env: {}, logger })).toBeUndefined();
    expect(createTracing({ env: { OTEL_SERVICE_NAME: 'x' }, logger })).toBeUndefined();
    expect(createTracing({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1', OTEL_SDK_DISABLED: 'true' }, logger })).toBeUndefined();
    expect(createTracing({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1', OTEL_TRACES_EXPORTER: 'none' }, logger })).toBeUndefined();
    expect(tracesUrlFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' })).toBe('http://collector:4318/v1/traces');
    expect(tracesUrlFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://b:4318/custom' })).toBe('http://b:4318/custom');
  });

  it('exports the span tree of a whole call, with traceparent on the webhook and no caller data', async () => {
    receiver = await startOtlpReceiver();
    const webhook = await startWebhook();
    tracing = createTracing({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url }, logger });
    expect(tracing).toBeDefined();
    const calls = tracing!.calls;
    const sink = calls.wrapSink(
      createWebhookSender({ url: webhook.url, timeoutMs: 2000, retries: 0, clock: systemClock, logger, fetchImpl: calls.wrapFetch(fetch) }),
    );

    const t0 = Date.now() - 10_000;
    const callId = 'call-1';
    const emit = (offset: number, event: Record<string, unknown>) => calls.onCallEvent({ callId, at: t0 + offset, ...event } as CallEvent);
    emit(0, { type: 'call.started', sessionId: 'session-1', conversationId: 'conv-1', connectorId: 'connector-7', bot: 'billing', instance: 'host/1' });
    emit(1, { type: 'activity', activity: 'connecting' });
    emit(400, { type: 'activity', activity: 'greeting' });
    emit(500, { type: 'bot.speech_started', responseId: 'resp-greeting' }); // the greeting: no caller turn before it
    emit(2000, { type: 'caller.speech_started' });
    emit(3000, { type: 'caller.speech_stopped' });
    emit(3100, { type: 'transcript', role: 'caller', text: SECRET_TEXT });
    emit(3700, { type: 'bot.speech_started', responseId: 'resp-1' });
    emit(4000, { type: 'dtmf', count: 4 });
    emit(5000, { type: 'caller.speech_stopped' });
    emit(5100, { type: 'tool.started', toolCallId: 'tc-1', name: 'lookup_order' });
    emit(5400, { type: 'tool.finished', toolCallId: 'tc-1', name: 'lookup_order', outcome: 'ok', durationMs: 300 });
    emit(5900, { type: 'bot.speech_started', responseId: 'resp-2' });
    emit(6000, { type: 'barge_in', responseId: 'resp-2' });
    emit(7000, { type: 'activity', activity: 'ending' });
    const delivery = await sink.deliver(record('session-1', 'escalated'));
    expect(delivery.delivered).toBe(true);
    calls.onCallEvent({ callId, at: Date.now(), type: 'call.ended', record: record('session-1', 'escalated'), delivery });
    expect(calls.openCalls).toBe(0);

    await tracing!.flush();
    await expect.poll(() => receiver!.spans.length).toBeGreaterThanOrEqual(8);
    const spans = receiver.spans;
    expect(receiver.contentTypes.every((c) => c.startsWith('application/json'))).toBe(true);

    // One trace, rooted at the call.
    expect(new Set(spans.map((s) => s.traceId)).size).toBe(1);
    const [root] = byName(spans, 'call');
    expect(root).toBeDefined();
    expect(root!.parentSpanId).toBeUndefined();
    expect(root!.attributes).toMatchObject({
      'audiohook.bot': 'billing',
      'audiohook.connector_id': 'connector-7',
      'audiohook.conversation_id': 'conv-1',
      'audiohook.call.ending': 'escalated',
      'audiohook.call.escalated': true,
    });
    expect(root!.events).toEqual(['barge_in']);
    expect(root!.resource['service.name']).toBe('audiohook-realtime');

    const childrenOf = (span: ReceivedSpan) => spans.filter((s) => s.parentSpanId === span.spanId).map((s) => s.name).sort();
    expect(childrenOf(root!)).toEqual(['call.summary', 'model.connect', 'model.turn', 'model.turn', 'tool.call', 'webhook.deliver']);

    const [connect] = byName(spans, 'model.connect');
    expect([connect!.startMs - t0, connect!.endMs - t0]).toEqual([1, 400]);
    // Model turns: caller end of speech → first bot audio of the reply (the greeting is not one).
    const turns = byName(spans, 'model.turn').sort((a, b) => a.startMs - b.startMs);
    expect(turns.map((t) => [t.startMs - t0, t.endMs - t0, t.attributes['audiohook.response_id']])).toEqual([
      [3000, 3700, 'resp-1'],
      [5000, 5900, 'resp-2'],
    ]);
    const [tool] = byName(spans, 'tool.call');
    expect(tool!.attributes).toEqual({ 'audiohook.tool.name': 'lookup_order', 'audiohook.tool.outcome': 'ok' });
    const [summary] = byName(spans, 'call.summary');
    expect(summary!.startMs - t0).toBe(7000);
    const [deliver] = byName(spans, 'webhook.deliver');
    expect(deliver!.attributes).toMatchObject({ 'audiohook.webhook.delivered': true, 'audiohook.webhook.attempts': 1, 'http.response.status_code': 200 });
    expect(summary!.endMs).toBeLessThanOrEqual(deliver!.startMs);
    const [post] = byName(spans, 'POST');
    expect(post!.parentSpanId).toBe(deliver!.spanId);
    expect(post!.attributes).toMatchObject({ 'http.request.method': 'POST', 'http.response.status_code': 200 });

    // The webhook request carried the W3C trace context of its HTTP span.
    expect(webhook.traceparents).toEqual([`00-${root!.traceId}-${post!.spanId}-01`]);

    // No caller data left the process.
    const exported = receiver.bodies.join('\n');
    // The card number as spoken (a timestamp in the export may well contain "4111" on its own).
    expect(exported).not.toContain('4111 1111');
    expect(exported).not.toContain('card number');
    expect(exported).not.toContain(CALLER_NUMBER);
    expect(exported).not.toContain(webhook.url); // not even the webhook URL (it may carry a token)
    expect(exported).not.toContain('/hook');
    await webhook.close();
  });

  it('a failed call and a failed delivery are errors; open spans end with the call', async () => {
    receiver = await startOtlpReceiver();
    const webhook = await startWebhook(500);
    tracing = createTracing({ env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/v1/traces` }, logger });
    const calls = tracing!.calls;
    const sink = calls.wrapSink(
      createWebhookSender({ url: webhook.url, timeoutMs: 2000, retries: 1, clock: systemClock, logger, fetchImpl: calls.wrapFetch(fetch) }),
    );
    const t0 = Date.now();
    const emit = (offset: number, event: Record<string, unknown>) => calls.onCallEvent({ callId: 'call-2', at: t0 + offset, ...event } as CallEvent);
    emit(0, { type: 'call.started', sessionId: 'session-2', conversationId: 'conv-2', connectorId: 'c', bot: '', instance: 'i' });
    emit(1, { type: 'activity', activity: 'connecting' });
    emit(5, { type: 'activity', activity: 'ending' });
    const delivery = await sink.deliver(record('session-2', 'error'));
    expect(delivery).toMatchObject({ delivered: false, attempts: 2 });
    emit(10, { type: 'call.ended', record: record('session-2', 'error'), delivery });
    await tracing!.flush();
    await expect.poll(() => receiver!.spans.length).toBeGreaterThanOrEqual(6);
    const ERROR = 2;
    expect(byName(receiver.spans, 'call')[0]!.statusCode).toBe(ERROR);
    expect(byName(receiver.spans, 'model.connect')[0]!.statusCode).toBe(ERROR); // never ready
    expect(byName(receiver.spans, 'webhook.deliver')[0]!.statusCode).toBe(ERROR);
    expect(byName(receiver.spans, 'POST').map((s) => s.statusCode)).toEqual([ERROR, ERROR]);
    expect(webhook.traceparents).toHaveLength(2);
    expect(new Set(webhook.traceparents).size).toBe(2); // one span per attempt
    await webhook.close();
  });

  it('shutdown does not wait for a collector that does not answer', async () => {
    // A collector that accepts the connection and never replies.
    const sockets: import('node:net').Socket[] = [];
    const silent = createServer(() => undefined);
    silent.on('connection', (s) => sockets.push(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const stuck = createTracing({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: url }, logger })!;
    stuck.calls.onCallEvent({ callId: 'c9', at: Date.now(), type: 'call.started', sessionId: 's9', conversationId: 'v', connectorId: 'c', bot: '', instance: 'i' });
    stuck.calls.onCallEvent({ callId: 'c9', at: Date.now(), type: 'call.ended', record: record('s9', 'caller_hangup') });
    const started = Date.now();
    await stuck.shutdown();
    expect(Date.now() - started).toBeLessThan(TRACES_SHUTDOWN_MS + 2000);
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  }, 15_000);

  it('tool HTTP requests get the traceparent of their tool span; calls tracked are bounded', async () => {
    receiver = await startOtlpReceiver();
    tracing = createTracing({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url }, logger });
    const calls = tracing!.calls;
    const at = Date.now();
    calls.onCallEvent({ callId: 'c3', at, type: 'call.started', sessionId: 's3', conversationId: 'v', connectorId: 'c', bot: '', instance: 'i' });
    expect(calls.toolRequestHeaders('c3', 'tc')).toEqual({});
    calls.onCallEvent({ callId: 'c3', at, type: 'tool.started', toolCallId: 'tc', name: 'lookup' });
    expect(calls.toolRequestHeaders('c3', 'tc').traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    // An HTTP tool's request (its Idempotency-Key is the tool call id) through the wrapped fetch.
    const seen: (string | null)[] = [];
    const fakeFetch = (async (_url: unknown, init?: RequestInit) => {
      seen.push(new Headers(init?.headers).get('traceparent'));
      return new Response('{}', { status: 200 });
    }) as typeof fetch;
    await calls.wrapFetch(fakeFetch)('http://127.0.0.1:1/tool', { method: 'POST', headers: { 'idempotency-key': 'tc' }, body: '{}' });
    await calls.wrapFetch(fakeFetch)('http://127.0.0.1:1/other', { method: 'POST', headers: { 'idempotency-key': 'unrelated' } });
    expect(seen[0]).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(seen[1]).toBeNull();
    calls.onCallEvent({ callId: 'c3', at, type: 'tool.finished', toolCallId: 'tc', name: 'lookup', outcome: 'timeout', durationMs: 1 });
    expect(calls.toolRequestHeaders('c3', 'tc')).toEqual({});
    await tracing!.flush();
    await expect.poll(() => receiver!.spans.some((s) => s.name === 'POST')).toBe(true);
    const post = receiver!.spans.find((s) => s.name === 'POST')!;
    const tool = receiver!.spans.find((s) => s.name === 'tool.call')!;
    expect(post.parentSpanId).toBe(tool.spanId);
    expect(seen[0]).toBe(`00-${post.traceId}-${post.spanId}-01`);
  });
});

describe('CallTracer bounds', () => {
  function tracerWithMemory(maxOpenCalls: number) {
    const exporter = new InMemorySpanExporter();
    const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
    return { calls: new CallTracer(provider.getTracer('test'), { maxOpenCalls }), exporter };
  }
  const started = (callId: string, sessionId: string): CallEvent => ({
    callId, at: Date.now(), type: 'call.started', sessionId, conversationId: 'v', connectorId: 'c', bot: '', instance: 'i',
  });

  it('tracks at most maxOpenCalls: the oldest is ended as abandoned (an error), never leaked', () => {
    const { calls, exporter } = tracerWithMemory(3);
    for (let i = 0; i < 5; i++) calls.onCallEvent(started(`c${i}`, `s${i}`));
    expect(calls.openCalls).toBe(3);
    const ended = exporter.getFinishedSpans().filter((s) => s.name === 'call');
    expect(ended).toHaveLength(2);
    expect(ended.every((s) => s.status.code === 2)).toBe(true);
  });

  it('a webhook delivery after the call ended still joins its trace', async () => {
    const { calls, exporter } = tracerWithMemory(10);
    calls.onCallEvent(started('late', 'session-late'));
    calls.onCallEvent({ callId: 'late', at: Date.now(), type: 'call.ended', record: record('session-late', 'shutdown') });
    const sink = calls.wrapSink({ deliver: async () => ({ delivered: true, attempts: 1, status: 200 }) });
    await sink.deliver(record('session-late', 'shutdown'));
    const spans = exporter.getFinishedSpans();
    const call = spans.find((s) => s.name === 'call')!;
    const deliver = spans.find((s) => s.name === 'webhook.deliver')!;
    expect(deliver.spanContext().traceId).toBe(call.spanContext().traceId);
    expect(deliver.parentSpanContext?.spanId).toBe(call.spanContext().spanId);
  });
});
