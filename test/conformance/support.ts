/**
 * Conformance harness: the real server (createAppServer) on 127.0.0.1:0 with a recording call handler,
 * and helpers to drive the simulator against it.
 */
import type { CallContext, CallControl, CallHandler, CallHandlerFactory, ClientErrorInfo, CloseCause } from '../../src/audiohook/handler.js';
import { parseEnv } from '../../src/cli/env.js';
import { createLogger } from '../../src/log/logger.js';
import { createAppServer, type AppServer } from '../../src/server/http.js';
import type { SimulatedCallOptions } from '../../src/simulator/genesys-client.js';

export const API_KEY = 'SGVsbG8sIEkgYW0gdGhlIEFQSSBrZXkh';
export const CLIENT_SECRET = 'TXlTdXBlclNlY3JldEtleVRlbGxOby0xITJAMyM0JDU=';

/** What the server-side call logic observed for one session. */
export interface RecordedCall {
  context: CallContext;
  control: CallControl;
  audio: Uint8Array[];
  dtmf: string[];
  callbacks: string[];
  resumed: Array<{ startMs: number; discardedMs: number }>;
  discarded: Array<{ startMs: number; discardedMs: number }>;
  updates: Array<{ language?: string }>;
  clientErrors: ClientErrorInfo[];
  closeCause: CloseCause | null;
}

export function audioBytes(call: RecordedCall): number {
  return call.audio.reduce((n, a) => n + a.length, 0);
}

export function concatAudio(call: RecordedCall): Uint8Array {
  const out = new Uint8Array(audioBytes(call));
  let offset = 0;
  for (const chunk of call.audio) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/**
 * Test call logic. inputVariables.test_action selects a behaviour:
 * - "disconnect": ends the call with disconnect completed + outputVariables shortly after opening;
 * - "echo_dtmf": answers each digit with 200 ms of bot audio.
 */
export function recordingCallFactory(calls: Map<string, RecordedCall>): CallHandlerFactory {
  return (context, control) => {
    const call: RecordedCall = {
      context,
      control,
      audio: [],
      dtmf: [],
      callbacks: [],
      resumed: [],
      discarded: [],
      updates: [],
      clientErrors: [],
      closeCause: null,
    };
    calls.set(context.sessionId, call);
    const action = context.inputVariables.test_action;
    if (action === 'disconnect') {
      setTimeout(() => control.disconnect('completed', 'test finished', { summary: 'caller was helped', escalate: 'false' }), 100);
    }
    const handler: CallHandler = {
      onAudio: (ulaw) => call.audio.push(Uint8Array.from(ulaw)),
      onDtmf: (digit) => {
        call.dtmf.push(digit);
        if (action === 'echo_dtmf') control.sendAudio(new Uint8Array(1600).fill(0x2a));
      },
      onPlaybackStarted: () => call.callbacks.push('playback_started'),
      onPlaybackCompleted: () => call.callbacks.push('playback_completed'),
      onPaused: () => call.callbacks.push('paused'),
      onResumed: (info) => {
        call.callbacks.push('resumed');
        call.resumed.push(info);
      },
      onUpdate: (params) => call.updates.push(params),
      onDiscarded: (info) => call.discarded.push(info),
      onClientError: (error) => call.clientErrors.push(error),
      onClose: (cause) => {
        call.closeCause = cause;
      },
    };
    return handler;
  };
}

export interface ConformanceServer {
  app: AppServer;
  url: string;
  calls: Map<string, RecordedCall>;
  /** Simulator options for this server (signed, short pings so keepalive is exercised). */
  options(extra?: Partial<SimulatedCallOptions>): SimulatedCallOptions;
}

export async function startConformanceServer(): Promise<ConformanceServer> {
  const env = parseEnv({
    GENESYS_API_KEY: API_KEY,
    GENESYS_CLIENT_SECRET: CLIENT_SECRET,
    PORT: '0',
    HOST: '127.0.0.1',
    AUDIOHOOK_PATH: '/audiohook',
    LOG_LEVEL: 'silent',
  });
  const calls = new Map<string, RecordedCall>();
  const app = createAppServer({ env, logger: createLogger('silent'), createCall: recordingCallFactory(calls) });
  const { port } = await app.listen();
  const url = `ws://127.0.0.1:${port}/audiohook/conformance-bot`;
  return {
    app,
    url,
    calls,
    options: (extra = {}) => ({
      url,
      apiKey: API_KEY,
      clientSecret: CLIENT_SECRET,
      language: 'en-us',
      timing: { firstPingMs: 100, pingIntervalMs: 500 },
      ...extra,
    }),
  };
}

/** Polls a condition on the server side (bounded; generous for a noisy machine). */
export async function eventually(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
