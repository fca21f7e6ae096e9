/**
 * Helpers for the console tests: the front end compiled into a private directory (tests never depend on a
 * prior `npm run build`, and parallel test files never write the same files), the app server with a console
 * on 127.0.0.1:0, Debian's chromium through playwright-core (failing loudly when it is missing), and
 * CallEvent builders.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium, type BrowserContext } from 'playwright-core';
import type { CallEvent } from '../../src/bridge/call-events.js';
import type { CallRecord, DeliveryResult } from '../../src/bridge/webhook.js';
import { createConsole, type ConsoleOptions, type OperationsConsole } from '../../src/console/index.js';
import { captureLogs, startApp, type StartedApp } from '../server/support.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const CHROMIUM = '/usr/bin/chromium';
export const TOKEN = 'console-test-token-0123456789';

/** Compiles web/console (type-checking it too) into a temporary directory; returns the modules' directory. */
export async function buildConsoleApp(): Promise<{ assetsDir: string; cleanup: () => Promise<void> }> {
  const out = await mkdtemp(join(tmpdir(), 'console-web-'));
  await promisify(execFile)(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', join(REPO, 'web/console/tsconfig.json'), '--outDir', out], {
    cwd: REPO,
  });
  return { assetsDir: join(out, 'web/console/src'), cleanup: () => rm(out, { recursive: true, force: true }) };
}

export interface ConsoleApp extends StartedApp {
  console: OperationsConsole;
  logLines: string[];
}

export async function startConsoleApp(options: Partial<ConsoleOptions> & { assetsDir: string }): Promise<ConsoleApp> {
  const logs = captureLogs();
  const opsConsole = createConsole({
    token: TOKEN,
    transcripts: false,
    maxEnded: 20,
    trustProxy: true,
    logger: logs.logger,
    ...options,
  });
  const started = await startApp({}, { console: opsConsole });
  return { ...started, console: opsConsole, logLines: logs.lines };
}

/** A fresh headless chromium profile (its own user-data-dir, removed by close()). */
export async function launchBrowser(): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: the console browser tests need Debian's chromium (apt-get install chromium; .ci/run installs it)`);
  }
  const profile = await mkdtemp(join(tmpdir(), 'console-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
    viewport: { width: 1400, height: 1000 },
  });
  return {
    context,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** Builds one call's CallEvents with a moving clock (epoch ms). */
export class CallScript {
  at: number;
  constructor(
    readonly callId: string,
    start = Date.now(),
  ) {
    this.at = start;
  }

  ev<T extends CallEvent['type']>(type: T, body: Omit<Extract<CallEvent, { type: T }>, 'type' | 'callId' | 'at'>, advanceMs = 0): CallEvent {
    this.at += advanceMs;
    return { type, callId: this.callId, at: this.at, ...body } as CallEvent;
  }

  started(connectorId = 'connector-7', bot = 'order-status'): CallEvent {
    return this.ev('call.started', { sessionId: `s-${this.callId}`, conversationId: `conv-${this.callId}`, connectorId, bot, instance: 'host-a/1234' });
  }
}

export function callRecord(callId: string, overrides: Partial<CallRecord> = {}): CallRecord {
  return {
    idempotency_key: `key-${callId}`,
    conversation_id: `conv-${callId}`,
    session_id: `s-${callId}`,
    correlation_id: `corr-${callId}`,
    organization_id: 'org-1',
    connector_id: 'connector-7',
    started_at: new Date(Date.now() - 30_000).toISOString(),
    ended_at: new Date().toISOString(),
    duration_seconds: 30,
    end_reason: 'bot_ended',
    escalation: { required: false },
    summary: { summary: 'Caller asked about order 42; the bot confirmed it ships tomorrow.', sentiment: 'positive', resolved: true, follow_ups: ['email tracking link'], source: 'model' },
    transcript: [
      { role: 'caller', itemId: 'i1', text: 'Where is my order?' },
      { role: 'bot', itemId: 'i2', text: 'It ships tomorrow.' },
    ],
    usage: { responses: 3, totalTokens: 1200, inputTokens: 900, outputTokens: 300, inputTextTokens: 100, inputAudioTokens: 800, cachedTokens: 50, outputTextTokens: 60, outputAudioTokens: 240, transcriptions: 2, transcriptionInputTokens: 30, transcriptionOutputTokens: 12, transcriptionSeconds: 0 },
    model: 'gpt-realtime-2.1-mini',
    ...overrides,
  };
}

export const delivered: DeliveryResult = { delivered: true, attempts: 1, status: 200 };
