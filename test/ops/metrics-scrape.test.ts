/**
 * Issue 6, whole-call scrape: the production entry (`serve`) with the Realtime emulator, one simulated call
 * (greeting; "hello" → ask-order; order number → the long status, interrupted by "goodbye" = a barge-in →
 * end_call → disconnect completed; a Genesys 429 along the way), one connection probe, and a summary webhook.
 * Then GET /metrics as Prometheus would: 401 without the bearer token, 200 with it, and every series of the
 * issue present with the values this traffic must have produced.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serve, type Service } from '../../src/cli/serve.js';
import { parseEnv } from '../../src/cli/env.js';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { createLogger } from '../../src/log/logger.js';
import { CallerLine, createSimulatedCall, type GenesysClient } from '../../src/simulator/index.js';

const API_KEY = 'metrics-scrape-key';
const CLIENT_SECRET = Buffer.from('client secret of the metrics scrape').toString('base64');
const METRICS_TOKEN = 'scrape-token-0123456789abcdef';


const ulaw = (name: string) => readFileSync(`fixtures/caller/${name}.ulaw`);
const receivedBytes = (c: GenesysClient) => c.report().receivedFrames.reduce((n, f) => n + f.bytes, 0);

/** Every sample in a Prometheus text exposition, keyed by `name{labels}` as written. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const cut = line.lastIndexOf(' ');
    out.set(line.slice(0, cut), Number(line.slice(cut + 1)));
  }
  return out;
}

/** The sum of a series over all its label sets (undefined when the series is absent). */
function total(all: Map<string, number>, name: string): number | undefined {
  let sum: number | undefined;
  for (const [key, value] of all) if (key === name || key.startsWith(`${name}{`)) sum = (sum ?? 0) + value;
  return sum;
}

let emulator: Emulator;
let webhook: Server;
let service: Service | undefined;
const webhookBodies: string[] = [];
let metricsUrl: string;
let scrape: Map<string, number>;
let scrapeText: string;
let disconnectReason: string | undefined;

async function getMetrics(authorization?: string): Promise<{ status: number; body: string; contentType: string | null }> {
  const res = await fetch(metricsUrl, authorization ? { headers: { Authorization: authorization } } : {});
  return { status: res.status, body: await res.text(), contentType: res.headers.get('content-type') };
}

beforeAll(async () => {
  emulator = await startEmulator({ script: 'fixtures/scripts/order-status.json', speed: 'instant', logger: createLogger('silent') });
  webhook = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      webhookBodies.push(body);
      res.end();
    });
  });
  await new Promise<void>((r) => webhook.listen(0, '127.0.0.1', r));
  const env = parseEnv({
    PORT: '0',
    HOST: '127.0.0.1',
    GENESYS_API_KEY: API_KEY,
    GENESYS_CLIENT_SECRET: CLIENT_SECRET,
    OPENAI_API_KEY: 'sk-emulated',
    OPENAI_BASE_URL: emulator.baseURL,
    REALTIME_CA_FILE: emulator.caPath,
    LOG_LEVEL: 'silent',
    SUMMARY_WEBHOOK_URL: `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/summary`,
    METRICS_TOKEN,
  });
  service = await serve(env, { logger: createLogger('silent'), handleSignals: false });
  const base = `127.0.0.1:${service.server.port}`;
  metricsUrl = `http://${base}/metrics`;

  // A connection probe (integration activation): opened, then closed by the client.
  const probe = await createSimulatedCall({ url: `ws://${base}/audiohook/acme-bot`, apiKey: API_KEY, clientSecret: CLIENT_SECRET, probe: true });
  await probe.close('end');

  const client = await createSimulatedCall({ url: `ws://${base}/audiohook/acme-bot`, apiKey: API_KEY, clientSecret: CLIENT_SECRET });
  try {
    const line = new CallerLine();
    client.streamAudio(line);
    const waitAudio = (bytes: number) => client.waitForServerAudio(receivedBytes(client) + bytes, 30_000);
    await waitAudio(2 * 8000); // the greeting is playing
    client.sendError(429, 'Too many requests', 300); // Genesys asks us to slow down for 0.3 s
    await waitAudio(2 * 8000); // and the greeting resumes
    line.say(ulaw('hello'));
    await waitAudio(3 * 8000); // most of the ask-order reply
    line.say(ulaw('order-number'));
    await waitAudio(1 * 8000); // the long order status has started…
    line.say(ulaw('goodbye')); // …and the caller talks over it: barge-in, then end_call
    const disconnect = await client.nextMessage('disconnect', 40_000);
    disconnectReason = disconnect.parameters.reason;
    const report = await client.waitForEnd(20_000);
    client.assertNoViolations();
    expect(report.events.map((e) => e.entity.type)).toContain('barge_in');
  } finally {
    client.terminate();
  }

  // The summary webhook goes out after the session has closed; its outcome is the last series to move.
  const authorization = `Bearer ${METRICS_TOKEN}`;
  const deadline = Date.now() + 30_000;
  const delivered = async () => samples((await getMetrics(authorization)).body).get('audiohook_webhook_deliveries_total{outcome="delivered"}') ?? 0;
  while ((await delivered()) < 1) {
    if (Date.now() > deadline) throw new Error('no webhook delivery counted within 30 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  scrapeText = (await getMetrics(authorization)).body;
  scrape = samples(scrapeText);
}, 120_000);

afterAll(async () => {
  await service?.server.stop(2_000);
  await emulator?.close();
  await new Promise<void>((r) => webhook?.close(() => r()));
});

describe('GET /metrics after a whole call and a probe', () => {
  it('the call really happened: the bot ended it with disconnect completed and the summary webhook was delivered', () => {
    expect(disconnectReason).toBe('completed');
    expect(webhookBodies.length).toBe(1);
  });

  it('needs the bearer token when METRICS_TOKEN is set', async () => {
    expect((await getMetrics()).status).toBe(401);
    expect((await getMetrics(`Bearer ${METRICS_TOKEN}x`)).status).toBe(401);
    const ok = await getMetrics(`Bearer ${METRICS_TOKEN}`);
    expect(ok.status).toBe(200);
    expect(ok.contentType).toMatch(/^text\/plain/);
  });

  it('sessions: none active, the call counted once as completed and the probe as probe', () => {
    expect(scrape.get('audiohook_active_sessions')).toBe(0);
    expect(scrape.get('audiohook_sessions_total{reason="completed"}')).toBe(1);
    expect(scrape.get('audiohook_sessions_total{reason="probe"}')).toBe(1);
    // Nothing else ended: the two sessions are counted exactly once each.
    expect(total(scrape, 'audiohook_sessions_total')).toBe(2);
  });

  it('latencies: open → opened for both sessions, model connect and first bot audio for the call', () => {
    expect(scrape.get('audiohook_open_to_opened_seconds_count')).toBeGreaterThanOrEqual(2);
    expect(scrape.get('audiohook_open_to_opened_seconds_sum')).toBeGreaterThanOrEqual(0);
    expect(scrape.get('audiohook_model_connect_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(scrape.get('audiohook_model_connect_seconds_sum')).toBeGreaterThan(0);
    // Three caller turns, each answered with bot audio.
    expect(scrape.get('audiohook_first_bot_audio_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(scrape.get('audiohook_first_bot_audio_seconds_sum')).toBeGreaterThan(0);
  });

  it('call events: the barge-in, the one Genesys 429 (counted once), no model errors or reconnects', () => {
    expect(scrape.get('audiohook_barge_ins_total')).toBeGreaterThanOrEqual(1);
    expect(scrape.get('audiohook_genesys_rate_limited_total')).toBe(1);
    expect(total(scrape, 'audiohook_model_errors_total') ?? 0).toBe(0);
    expect(scrape.get('audiohook_model_reconnects_total')).toBe(0);
  });

  it('tokens by kind, webhook deliveries, spool depth', () => {
    expect(total(scrape, 'audiohook_tokens_total')).toBeGreaterThan(0);
    expect(scrape.get('audiohook_tokens_total{kind="input_audio"}')).toBeGreaterThan(0);
    expect(scrape.get('audiohook_tokens_total{kind="output_audio"}')).toBeGreaterThan(0);
    expect(scrape.get('audiohook_webhook_deliveries_total{outcome="delivered"}')).toBe(1);
    expect(scrape.get('audiohook_webhook_deliveries_total{outcome="failed"}')).toBe(0);
    expect(scrape.has('audiohook_webhook_spool_depth')).toBe(true);
  });

  it('the Node process series, event-loop lag included', () => {
    expect(scrape.get('nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
    expect(scrape.has('nodejs_eventloop_lag_p99_seconds')).toBe(true);
    expect(scrape.get('process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(scrapeText).toContain('# TYPE audiohook_open_to_opened_seconds histogram');
  });
});
