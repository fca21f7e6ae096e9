import { pino } from 'pino';
import { systemClock } from '../../src/util/clock.js';
import type { ToolMetrics } from '../../src/tools/metrics.js';
import { ToolRegistry, type ToolSettings } from '../../src/tools/registry.js';
import type { ToolSpec } from '../../src/tools/spec.js';
import type { GenesysPlatformClient } from '../../src/tools/genesys.js';
import { FILLER_PURPOSE } from '../../src/tools/tool-turns.js';
import { botSpeaks, flush, type Harness, type ScriptedModel } from '../bridge/harness.js';

export const quietLogger = pino({ level: 'silent' });

export const SETTINGS: ToolSettings = { timeoutMs: 8000, maxCallsPerCall: 20, maxOutputChars: 4000, logArguments: false };

/** Records every metric call, for assertions. */
export function recordingMetrics() {
  const calls: Array<{ tool: string; outcome: string }> = [];
  const seconds: Array<{ tool: string; seconds: number }> = [];
  const failures: string[] = [];
  const metrics: ToolMetrics = {
    toolCalls: { inc: (tool, outcome) => calls.push({ tool, outcome }) },
    toolCallSeconds: { observe: (tool, s) => seconds.push({ tool, seconds: s }) },
    toolSourceFailures: { inc: (source) => failures.push(source) },
  };
  return { metrics, calls, seconds, failures };
}

export function registry(
  tools: Record<string, ToolSpec>,
  extra: { settings?: Partial<ToolSettings>; metrics?: ToolMetrics; genesys?: GenesysPlatformClient } = {},
): ToolRegistry {
  return new ToolRegistry({
    tools,
    settings: { ...SETTINGS, ...extra.settings },
    clock: systemClock,
    logger: quietLogger,
    ...(extra.metrics ? { metrics: extra.metrics } : {}),
    ...(extra.genesys ? { genesys: extra.genesys } : {}),
  });
}

export async function waitFor(check: () => boolean, ms = 10_000, what = 'condition'): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Replies to the caller the model was asked for (the holding phrase is not one). */
export const replyRequests = (m: ScriptedModel) =>
  (m.sent as Array<Record<string, any>>).filter((e) => e.type === 'response.create' && e.response?.metadata?.purpose !== FILLER_PURPOSE);

/**
 * Plays the model: every reply request not yet answered gets a spoken response (the real model answers each
 * response.create with one), so a queued second request is sent and heard too.
 */
export async function answerReplies(h: Harness, answered: Set<unknown>): Promise<void> {
  for (let round = 0; round < 5; round++) {
    const next = replyRequests(h.model).find((e) => !answered.has(e));
    if (!next) return;
    answered.add(next);
    const n = answered.size;
    botSpeaks(h, `resp_after_${n}`, `item_after_${n}`, 200, { done: true });
    h.clock.advance(400);
    await flush();
  }
}
