/**
 * Real-socket fuzz slice: a few hundred mutated client sequences through the real server
 * (createAppServer on 127.0.0.1:0, ws framing, authentication, session routing) while a healthy
 * simulated Genesys call runs alongside and must complete normally. The server must stay up, every
 * message it sends a fuzzing client must be valid and well sequenced, and no session may outlive its
 * socket.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { CallHandlerFactory } from '../../src/audiohook/handler.js';
import { formatDurationMs } from '../../src/audiohook/duration.js';
import { parseEnv } from '../../src/cli/env.js';
import { createLogger } from '../../src/log/logger.js';
import { createAppServer, type AppServer } from '../../src/server/http.js';
import { ulawSource } from '../../src/simulator/audio-source.js';
import { createSimulatedCall } from '../../src/simulator/genesys-client.js';
import { InvariantChecker } from './checker.js';
import { acknowledgedSeq, buildCase, type FuzzCase } from './run-case.js';
import { FUZZ_CORRELATION_ID, FUZZ_ORG_ID, FUZZ_SESSION_ID } from './sequence.js';

const API_KEY = 'fuzz-api-key-0123456789';
const SEED = 77;
const CASES = 300;
const CONCURRENCY = 25;
const CLOSE_WAIT_MS = 2_000;

let app: AppServer;
let baseUrl: string;
const receivedAudioBytes = new Map<string, number>();

const createCall: CallHandlerFactory = (context) => {
  receivedAudioBytes.set(context.sessionId, 0);
  return {
    onAudio: (ulaw) => receivedAudioBytes.set(context.sessionId, (receivedAudioBytes.get(context.sessionId) ?? 0) + ulaw.length),
    onClose: () => {},
  };
};

beforeAll(async () => {
  const env = parseEnv({ GENESYS_API_KEY: API_KEY, PORT: '0', HOST: '127.0.0.1', AUDIOHOOK_PATH: '/audiohook', LOG_LEVEL: 'silent' });
  app = createAppServer({ env, logger: createLogger('silent'), createCall });
  const { port } = await app.listen();
  baseUrl = `127.0.0.1:${port}`;
});

afterAll(async () => {
  await app.close();
});

interface SocketCaseResult {
  violations: string[];
  messages: number;
}

/** Plays one fuzz case over a real WebSocket, ends with a close (when one can be valid), returns what was wrong. */
function playOverSocket(fuzzCase: FuzzCase): Promise<SocketCaseResult> {
  // Cases run concurrently and the server refuses a second live session with one id: each case gets its
  // own (derived from its index, so a failing case replays identically), written over the generated one.
  const sessionId = `00000000-0000-4000-8000-${fuzzCase.index.toString(16).padStart(12, '0')}`;
  const withId = (text: string) => text.replaceAll(FUZZ_SESSION_ID, sessionId);
  const check = new InvariantChecker(sessionId);
  const sink = check.socket();
  const ws = new WebSocket(`ws://${baseUrl}/audiohook/fuzz`, {
    headers: {
      'X-API-KEY': API_KEY,
      'Audiohook-Organization-Id': FUZZ_ORG_ID,
      'Audiohook-Session-Id': sessionId,
      'Audiohook-Correlation-Id': FUZZ_CORRELATION_ID,
    },
  });
  let lastAcked = 0;
  let messages = 0;
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const finish = () => {
      clearTimeout(timer);
      check.clientDropped = true;
      ws.terminate();
      resolve({ violations: check.violations, messages });
    };
    ws.on('message', (data, isBinary) => {
      messages++;
      const buffer = Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer);
      if (isBinary) sink.sendBinary(buffer);
      else {
        sink.sendText(buffer.toString('utf8'));
        if (check.closedSent) finish();
      }
    });
    ws.on('close', finish);
    ws.on('error', () => finish());
    ws.on('open', () => {
      const sendText = (text: string, value: unknown) => {
        check.noteClientText(value);
        const ack = acknowledgedSeq(text, value);
        if (ack !== null) lastAcked = ack;
        ws.send(withId(text));
      };
      for (const step of fuzzCase.steps) {
        if (ws.readyState !== WebSocket.OPEN) return;
        switch (step.kind) {
          case 'message': {
            const message = step.autoServerseq ? { ...step.message, serverseq: check.serverSeq } : step.message;
            let text = JSON.stringify(message);
            if (step.padTo !== undefined && text.length < step.padTo) text = JSON.stringify({ ...message, _pad: 'a'.repeat(step.padTo - text.length - 10) });
            sendText(text, message);
            break;
          }
          case 'text':
            // Lone surrogates make invalid UTF-8 on the wire: the server's ws must reject the frame (1007).
            ws.send(Buffer.from(step.text, 'utf8'), { binary: false });
            break;
          case 'binary':
            ws.send(step.data, { binary: true });
            break;
          case 'socket-closed':
            finish();
            return;
          case 'advance':
          case 'control':
            break; // real time and no call-side actions here
        }
      }
      if (lastAcked < Number.MAX_SAFE_INTEGER) {
        const close = { version: '2', id: FUZZ_SESSION_ID, type: 'close', seq: lastAcked + 1, serverseq: check.serverSeq, position: formatDurationMs(0), parameters: { reason: 'end' } };
        sendText(JSON.stringify(close), close);
      }
      timer = setTimeout(finish, CLOSE_WAIT_MS);
    });
  });
}

describe('fuzz over real sockets', () => {
  it(`${CASES} mutated sequences through the real server while a healthy call completes normally`, async () => {
    const healthy = await createSimulatedCall({
      url: `ws://${baseUrl}/audiohook/healthy`,
      apiKey: API_KEY,
      sessionId: randomUUID(),
      timing: { firstPingMs: 100, pingIntervalMs: 300 },
    });
    const callerAudio = new Uint8Array(8_000 * 3).fill(0x33); // 3 s, paced in real time
    const streamer = healthy.streamAudio(ulawSource(callerAudio), { pacing: 'realtime' });

    const violations: string[] = [];
    let answered = 0;
    let next = 0;
    const worker = async () => {
      while (next < CASES) {
        const fuzzCase = buildCase(SEED, next++);
        const result = await playOverSocket(fuzzCase);
        if (result.messages > 0) answered++;
        for (const v of result.violations) violations.push(`case ${fuzzCase.index} [${fuzzCase.mutations.join(', ')}]: ${v}`);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));

    expect(violations).toEqual([]);
    expect(answered).toBeGreaterThan(CASES / 2);

    await streamer.done;
    await healthy.waitUntil(() => healthy.report().pingRttsMs.length >= 2, 'two ping/pong rounds');
    const report = await healthy.close('end');
    healthy.assertNoViolations();
    expect(report.state).toBe('closed');
    expect(receivedAudioBytes.get(healthy.sessionId)).toBe(callerAudio.length);

    const health = await fetch(`http://${baseUrl}/healthz`);
    expect(health.status).toBe(200);
    // Every fuzzed session ended with its socket.
    const deadline = Date.now() + 5_000;
    while (app.activeSessions() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(app.activeSessions()).toBe(0);
  }, 30_000);
});
