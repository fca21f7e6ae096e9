/**
 * A whole call through the production serve path (bridge + OpenTelemetry wiring) against the offline
 * Realtime emulator, driven by the strict Genesys simulator, exported to a local OTLP/HTTP receiver:
 * the span tree of the call, and the webhook request joined to it by `traceparent`.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEnv } from '../../src/cli/env.js';
import { serve, type Service } from '../../src/cli/serve.js';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { createLogger } from '../../src/log/logger.js';
import { silenceSource, ulawSource } from '../../src/simulator/audio-source.js';
import { createSimulatedCall } from '../../src/simulator/genesys-client.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './otlp-receiver.js';

const ROOT = join(import.meta.dirname, '..', '..');
const API_KEY = 'trace-test-api-key-0123456789';
const logger = createLogger('silent');

let emulator: Emulator;
let receiver: OtlpReceiver;
let service: Service;
let webhookUrl: string;
let closeWebhook: () => Promise<void>;
const traceparents: (string | undefined)[] = [];

beforeAll(async () => {
  emulator = await startEmulator({ script: join(ROOT, 'fixtures/scripts/order-status.json'), scriptBaseDir: ROOT, speed: 'instant', logger });
  receiver = await startOtlpReceiver();
  const webhook = createServer((req, res) => {
    traceparents.push(req.headers.traceparent as string | undefined);
    req.resume();
    req.on('end', () => res.writeHead(204).end());
  });
  await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
  webhookUrl = `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/hook`;
  closeWebhook = () => new Promise<void>((resolve) => webhook.close(() => resolve()));
  const env = parseEnv({
    GENESYS_API_KEY: API_KEY,
    OPENAI_API_KEY: 'sk-emulator',
    OPENAI_BASE_URL: emulator.baseURL,
    REALTIME_CA_FILE: emulator.caPath,
    SUMMARY_WEBHOOK_URL: webhookUrl,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
  });
  service = await serve(env, { logger, handleSignals: false, otelEnv: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url } });
});

afterAll(async () => {
  await service?.server.stop(2000);
  await emulator?.close();
  await closeWebhook?.();
  await receiver?.close();
});

const byName = (spans: ReceivedSpan[], name: string) => spans.filter((s) => s.name === name);

describe('a traced whole call', () => {
  it('exports call → model.connect, model.turn, call.summary, webhook.deliver → POST, with traceparent on the webhook', async () => {
    expect(service.tracing).toBeDefined();
    const conversationId = randomUUID();
    const client = await createSimulatedCall({
      url: `ws://127.0.0.1:${service.server.port}/audiohook/acme-support`,
      apiKey: API_KEY,
      conversationId,
      inputVariables: {},
    });
    // The caller speaks one turn (the emulator's VAD ends it), the bot answers; then 0# asks for a person.
    client.streamAudio(ulawSource(new Uint8Array(readFileSync(join(ROOT, 'fixtures/caller/hello.ulaw'))), { thenSilence: true }));
    await expect.poll(() => byNameLive('model.turn'), { timeout: 20_000 }).toBe(true);
    client.sendDtmf('0#');
    const disconnect = await client.nextMessage('disconnect', 20_000);
    expect(disconnect.parameters.outputVariables?.ESCALATION_REQUIRED).toBe('true');
    await client.waitForEnd(10_000);
    await expect.poll(() => traceparents.length, { timeout: 15_000 }).toBe(1);
    await expect.poll(() => service.tracing!.calls.openCalls, { timeout: 10_000 }).toBe(0);

    await service.tracing!.flush();
    await expect.poll(() => byName(receiver.spans, 'call').length, { timeout: 10_000 }).toBe(1);
    const spans = receiver.spans;
    const root = byName(spans, 'call')[0]!;
    expect(root.attributes).toMatchObject({
      'audiohook.connector_id': 'acme-support',
      'audiohook.conversation_id': conversationId,
      'audiohook.call.ending': 'escalated',
      'audiohook.call.escalated': true,
    });
    const children = spans.filter((s) => s.parentSpanId === root.spanId).map((s) => s.name);
    expect(children).toEqual(expect.arrayContaining(['model.connect', 'model.turn', 'call.summary', 'webhook.deliver']));
    for (const span of spans) expect(span.traceId).toBe(root.traceId);

    const [connect] = byName(spans, 'model.connect');
    expect(connect!.statusCode).not.toBe(2);
    const turn = byName(spans, 'model.turn').find((t) => t.attributes['audiohook.turn.replied'] === true)!;
    expect(turn.attributes['audiohook.response_id']).toMatch(/\S/);
    expect(turn.endMs).toBeGreaterThanOrEqual(turn.startMs);
    const [post] = byName(spans, 'POST');
    expect(post!.parentSpanId).toBe(byName(spans, 'webhook.deliver')[0]!.spanId);
    expect(traceparents[0]).toBe(`00-${root.traceId}-${post!.spanId}-01`);

    // Nothing the caller said or typed, nor the caller's number, is in the export.
    const exported = receiver.bodies.join('\n');
    expect(exported).not.toMatch(/order|keypad|\+1555/i);
    client.assertNoViolations();
  }, 60_000);
});

/** Whether a finished model turn has been exported yet (flushes first). */
async function byNameLive(name: string): Promise<boolean> {
  await service.tracing!.flush();
  return byName(receiver.spans, name).length > 0;
}
