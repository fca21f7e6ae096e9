/**
 * Whole-call rig for fault-injection tests: simulator (strict Genesys client) ↔ server ↔ bridge ↔ TLS
 * Realtime emulator, plus a local webhook receiver and the bridge's logs (JSON lines) for assertions.
 * The bridge reaches the emulator exactly as it would OpenAI: a baseURL plus an extra CA file.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { createBridgeFactory, type BridgeFactory } from '../../src/bridge/call.js';
import { bridgeEnvSchema } from '../../src/bridge/env.js';
import { createWebhookSender, type CallRecord } from '../../src/bridge/webhook.js';
import { parseEnv } from '../../src/cli/env.js';
import { createLogger } from '../../src/log/logger.js';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../src/emulator/server.js';
import type { EmulatorSessionRecord } from '../../src/emulator/session.js';
import type { CallScript } from '../../src/emulator/script.js';
import { connectSettingsFromEnv } from '../../src/realtime/connection.js';
import { realtimeEnvSchema } from '../../src/realtime/env.js';
import { createAppServer, type AppServer } from '../../src/server/http.js';
import { createMetrics, type Metrics } from '../../src/server/metrics.js';
import { createSimulatedCall, type GenesysClient } from '../../src/simulator/genesys-client.js';
import { systemClock, type Clock, type TimerHandle } from '../../src/util/clock.js';

/** The system clock, counting the bridge's timers still pending (a leaked call leaves some behind). */
export class CountingClock implements Clock {
  private readonly live = new Set<TimerHandle>();
  now(): number {
    return systemClock.now();
  }
  setTimeout(callback: () => void, ms: number): TimerHandle {
    const handle: TimerHandle = systemClock.setTimeout(() => {
      this.live.delete(handle);
      callback();
    }, ms);
    this.live.add(handle);
    return handle;
  }
  clearTimeout(handle: TimerHandle | undefined): void {
    if (handle === undefined) return;
    this.live.delete(handle);
    systemClock.clearTimeout(handle);
  }
  get pending(): number {
    return this.live.size;
  }
}

const API_KEY = 'SGVsbG8sIEkgYW0gdGhlIEFQSSBrZXkh';

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface WholeCallRig {
  emulator: Emulator;
  app: AppServer;
  factory: BridgeFactory;
  metrics: Metrics;
  /** The bridge's clock: `pending` counts its live timers. */
  clock: CountingClock;
  hooks: CallRecord[];
  logs: LogLine[];
  call(inputVariables?: Record<string, string>): Promise<GenesysClient>;
  /** The emulator session opened after `index` sessions existed. */
  nextSession(index: number, timeoutMs?: number): Promise<EmulatorSessionRecord>;
  recordFor(client: GenesysClient, timeoutMs?: number): Promise<CallRecord>;
  close(): Promise<void>;
}

export async function startWholeCallRig(options: {
  script: CallScript;
  env?: Record<string, string> | ((emulator: Emulator) => Record<string, string>);
  /** Emulator options over the default (instant replies), e.g. `realistic: true` or `azure`. */
  emulator?: Omit<EmulatorOptions, 'script' | 'logger'>;
}): Promise<WholeCallRig> {
  const quiet = createLogger('silent');
  const emulator = await startEmulator({ script: options.script, speed: 'instant', ...options.emulator, logger: quiet });
  const hooks: CallRecord[] = [];
  const webhook: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      hooks.push(JSON.parse(body) as CallRecord);
      res.end();
    });
  });
  await new Promise<void>((r) => webhook.listen(0, '127.0.0.1', r));
  const hookUrl = `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/hook`;
  const extraEnv = typeof options.env === 'function' ? options.env(emulator) : options.env;
  const raw = { OPENAI_API_KEY: 'sk-emulator', OPENAI_BASE_URL: emulator.baseURL, REALTIME_CA_FILE: emulator.caPath, ...extraEnv };
  const rtEnv = realtimeEnvSchema.parse(raw);
  const bridgeEnv = bridgeEnvSchema.parse({ ...raw, SUMMARY_WEBHOOK_URL: hookUrl });
  const logs: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) logs.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  const bridgeLogger = pino({ level: 'info' }, sink);
  const metrics = createMetrics({ defaultMetrics: false });
  const clock = new CountingClock();
  const factory = createBridgeFactory({
    clock,
    env: { ...rtEnv, ...bridgeEnv },
    connect: connectSettingsFromEnv(rtEnv),
    metrics,
    sink: createWebhookSender({ url: hookUrl, timeoutMs: 5000, retries: 1, clock: systemClock, logger: quiet }),
  });
  const app = createAppServer({
    env: parseEnv({ GENESYS_API_KEY: API_KEY, PORT: '0', HOST: '127.0.0.1' }),
    logger: bridgeLogger,
    createCall: factory,
  });
  const { port } = await app.listen();
  const url = `ws://127.0.0.1:${port}/audiohook/bot`;
  const clients: GenesysClient[] = [];

  return {
    emulator,
    app,
    factory,
    metrics,
    clock,
    hooks,
    logs,
    async call(inputVariables = {}) {
      const client = await createSimulatedCall({ url, apiKey: API_KEY, inputVariables });
      clients.push(client);
      return client;
    },
    async nextSession(index, timeoutMs = 10_000) {
      return emulator.waitForSession(index, timeoutMs);
    },
    async recordFor(client, timeoutMs = 15_000) {
      await waitFor(() => hooks.some((h) => h.session_id === client.sessionId), 'the webhook record', timeoutMs);
      return hooks.find((h) => h.session_id === client.sessionId)!;
    },
    async close() {
      for (const c of clients) c.terminate();
      await app.close();
      await factory.drain();
      await emulator.close();
      await new Promise<void>((r) => webhook.close(() => r()));
    },
  };
}

export function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = () => {
      if (condition()) return resolve();
      if (Date.now() - started > timeoutMs) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 20);
    };
    tick();
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Client event types the emulator received in a session, in order. */
export const clientEventTypes = (session: EmulatorSessionRecord) => session.clientEvents.map((e) => e.type);
