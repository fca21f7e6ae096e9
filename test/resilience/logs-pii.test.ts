/**
 * PII-safe logs across a whole call: the production entry (`serve`) runs one call through the TLS Realtime
 * emulator with the simulator acting as Genesys, while a pino destination captures every log line.
 * At info no line may contain a credential, the caller's numbers, the prompt, customer data, keypad digits
 * or any transcript. The same call at debug is captured too, to show (and pin) what debug adds.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serve, type Service } from '../../src/cli/serve.js';
import { parseEnv } from '../../src/cli/env.js';
import { loadCallScript, startEmulator, type CallScript, type Emulator } from '../../src/emulator/index.js';
import { createLogger } from '../../src/log/logger.js';
import { CallerLine, createSimulatedCall, type GenesysClient } from '../../src/simulator/index.js';

const SCRIPT_PATH = 'fixtures/scripts/order-status.json';

/** Distinctive values: any of them in a log line is a leak. */
const SECRETS = {
  genesysApiKey: 'GENESYS-KEY-q7Zr4vXw9Lm2',
  // base64 of "client-secret-for-the-pii-log-test"
  genesysClientSecret: Buffer.from('client-secret-for-the-pii-log-test').toString('base64'),
  openaiApiKey: 'sk-openai-LEAKCHECK-8f3kd93jd8',
  webhookSecret: 'WEBHOOK-SECRET-x8c7v6b5n4',
  metricsToken: 'METRICS-TOKEN-p0o9i8u7y6',
};
const CALLER = { ani: 'tel:+15550199887', dnis: 'tel:+18005550123', aniName: 'Zanzibar Quillfeather' };
const PROMPT_PHRASE = 'purple walrus protocol seventeen';
const SYSTEM_PROMPT = `You are Acme's order assistant. Secret house rule: ${PROMPT_PHRASE}.`;
const CUSTOMER = { account: 'ACCT-55XK-0917', name: 'Bartholomew Fennimore' };
const DTMF_DIGITS = '7391582';

function scriptTexts(script: CallScript): string[] {
  const replies = [script.greeting, script.fallback, script.idle, ...script.turns.flatMap((t) => [t.reply, t.followUp])];
  return [
    ...replies.flatMap((r) => (r ? [r.transcript] : [])),
    ...script.turns.map((t) => t.transcript),
    ...script.textCues.flatMap((c) => [c.reply?.transcript, c.followUp?.transcript]).filter((t): t is string => !!t),
  ].filter((t) => t.length > 0);
}


/** Collects every line pino writes. */
function captureStream(lines: string[]): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.length > 0) lines.push(line);
      done();
    },
  });
}

const ulaw = (name: string) => readFileSync(`fixtures/caller/${name}.ulaw`);
const receivedBytes = (c: GenesysClient) => c.report().receivedFrames.reduce((n, f) => n + f.bytes, 0);

interface CallCapture {
  lines: string[];
  sessionId: string;
  correlationId: string;
  outputs: Record<string, string>;
}

let emulator: Emulator;
let webhook: Server;
let webhookUrl: string;
const webhookBodies: string[] = [];
const services: Service[] = [];

beforeAll(async () => {
  // Replies stream instantly from the emulator; the bridge still paces them to the caller in real time.
  emulator = await startEmulator({ script: SCRIPT_PATH, speed: 'instant', logger: createLogger('silent') });
  webhook = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      webhookBodies.push(body);
      res.end();
    });
  });
  await new Promise<void>((r) => webhook.listen(0, '127.0.0.1', r));
  webhookUrl = `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/summary`;
});

afterAll(async () => {
  for (const s of services) await s.server.stop(2_000);
  await emulator?.close();
  await new Promise<void>((r) => webhook?.close(() => r()));
});

/**
 * One whole call: greeting; "hello" → ask-order; keypad digits → anything-else; "order number" → the long
 * order status, interrupted by "goodbye" (barge-in) → end_call with the farewell → disconnect with outputs.
 */
async function runCall(level: 'info' | 'debug'): Promise<CallCapture> {
  const lines: string[] = [];
  const env = parseEnv({
    PORT: '0',
    HOST: '127.0.0.1',
    GENESYS_API_KEY: SECRETS.genesysApiKey,
    GENESYS_CLIENT_SECRET: SECRETS.genesysClientSecret,
    OPENAI_API_KEY: SECRETS.openaiApiKey,
    OPENAI_BASE_URL: emulator.baseURL,
    REALTIME_CA_FILE: emulator.caPath,
    LOG_LEVEL: level,
    SUMMARY_WEBHOOK_URL: webhookUrl,
    SUMMARY_WEBHOOK_SECRET: SECRETS.webhookSecret,
    METRICS_TOKEN: SECRETS.metricsToken,
    BOT_TURN_EVENTS: 'true',
  });
  const logger = createLogger(env.LOG_LEVEL, captureStream(lines));
  const service = await serve(env, { logger, handleSignals: false });
  services.push(service);

  const correlationId = randomUUID();
  const client = await createSimulatedCall({
    correlationId,
    url: `ws://127.0.0.1:${service.server.port}/audiohook/acme-bot`,
    apiKey: SECRETS.genesysApiKey,
    clientSecret: SECRETS.genesysClientSecret,
    participant: CALLER,
    inputVariables: {
      AI_SYSTEM_PROMPT: SYSTEM_PROMPT,
      CUSTOMER_DATA: `account:${CUSTOMER.account};name:${CUSTOMER.name}`,
      COMPANY_NAME: 'Acme',
    },
  });
  try {
    const line = new CallerLine();
    client.streamAudio(line);
    const waitAudio = async (bytes: number) => client.waitForServerAudio(receivedBytes(client) + bytes, 30_000);

    await waitAudio(4 * 8000); // most of the 4.4 s greeting
    line.say(ulaw('hello'));
    await waitAudio(3 * 8000); // most of the 3.9 s ask-order reply
    client.sendDtmf(`${DTMF_DIGITS}#`);
    await waitAudio(2 * 8000); // anything-else (2.5 s)
    line.say(ulaw('order-number'));
    await waitAudio(1 * 8000); // the 13.8 s order status has started…
    line.say(ulaw('goodbye')); // …and the caller talks over it
    const disconnect = await client.nextMessage('disconnect', 40_000);
    const report = await client.waitForEnd(20_000);
    client.assertNoViolations();
    expect(report.events.map((e) => e.entity.type)).toContain('barge_in');
    // The webhook delivery is logged by the bridge after the session closes.
    await client.waitUntil(() => lines.some((l) => l.includes('"call finished"')), 'call finished log', 20_000, true);
    return {
      lines,
      sessionId: client.sessionId,
      correlationId,
      outputs: disconnect.parameters.outputVariables ?? {},
    };
  } finally {
    client.terminate();
  }
}

function forbiddenStrings(): Array<[string, string]> {
  const script = loadCallScript(SCRIPT_PATH);
  return [
    ...Object.entries(SECRETS).map(([k, v]): [string, string] => [k, v]),
    ['ani', CALLER.ani],
    ['ani digits', CALLER.ani.replace('tel:', '')],
    ['dnis', CALLER.dnis],
    ['dnis digits', CALLER.dnis.replace('tel:', '')],
    ['aniName', CALLER.aniName],
    ['prompt phrase', PROMPT_PHRASE],
    ['customer account', CUSTOMER.account],
    ['customer name', CUSTOMER.name],
    ['dtmf digits', DTMF_DIGITS],
    ...scriptTexts(script).map((t): [string, string] => ['transcript', t]),
    // A distinctive fragment too, in case a transcript is logged cut or re-punctuated.
    ['transcript fragment', 'tracking link'],
    ['transcript fragment', 'status of my order'],
  ];
}

function leaks(lines: string[]): string[] {
  const found: string[] = [];
  for (const [what, value] of forbiddenStrings()) {
    const hit = lines.find((l) => l.toLowerCase().includes(value.toLowerCase()));
    if (hit) found.push(`${what} (${value}) in: ${hit.slice(0, 300)}`);
  }
  return found;
}

describe('logs across a whole call', () => {
  let info: CallCapture;
  let debug: CallCapture;

  beforeAll(async () => {
    // Both calls run at once (separate servers, separate log levels) to keep the wall time of one call.
    [info, debug] = await Promise.all([runCall('info'), runCall('debug')]);
  }, 120_000);

  it('the call really happened: summary outputs, webhook delivered, transcripts reached the model', () => {
    for (const c of [info, debug]) {
      expect(c.outputs.CONVERSATION_SUMMARY?.length ?? 0).toBeGreaterThan(0);
      expect(c.outputs.ESCALATION_REQUIRED).toBe('false');
    }
    expect(webhookBodies.length).toBeGreaterThanOrEqual(2);
    // The forbidden strings are real call data: the model saw the prompt, the customer data and the digits.
    const sessions = emulator.sessions.filter((s) => s.config.instructions.includes(PROMPT_PHRASE));
    expect(sessions).toHaveLength(2);
    for (const session of sessions) {
      expect(session.config.instructions).toContain(CUSTOMER.account);
      expect(session.conversation.some((e) => e.text.includes(DTMF_DIGITS))).toBe(true);
      expect(session.conversation.some((e) => e.text === "It's order number one two three four.")).toBe(true);
    }
  });

  it('at info: no credential, caller number, prompt, customer data, digits or transcript in any line', () => {
    expect(info.lines.length).toBeGreaterThan(10);
    // The detector itself can fail: a planted caller number is found.
    expect(leaks([JSON.stringify({ note: `caller ${CALLER.ani}` })])).toHaveLength(2);
    expect(leaks(info.lines)).toEqual([]);
  });

  it('at debug: still no credential, caller number, prompt, customer data or transcript', () => {
    expect(debug.lines.length).toBeGreaterThan(info.lines.length);
    expect(leaks(debug.lines)).toEqual([]);
  });

  it('every line is JSON; per-session lines carry sessionId and correlationId', () => {
    for (const c of [info, debug]) {
      const records = c.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      const perSession = records.filter((r) => r.sessionId === c.sessionId);
      expect(perSession.length).toBeGreaterThan(5);
      for (const r of perSession) expect(r.correlationId).toBe(c.correlationId);
      // Lines naming a session id always name the correlation id too (no half-keyed lines).
      for (const r of records.filter((r) => 'sessionId' in r)) expect(r).toHaveProperty('correlationId');
      // The bridge's own lines are keyed as well.
      expect(perSession.some((r) => r.component === 'bridge')).toBe(true);
      expect(perSession.map((r) => r.msg)).toEqual(expect.arrayContaining(['session opened', 'call finished']));
    }
  });
});
