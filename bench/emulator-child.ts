/**
 * The Realtime emulator in its own process for `npm run bench` (forked by run.ts with an IPC channel).
 * It records, with `epochNow()`, each tagged append's arrival and per call the events the harness joins
 * against the load generator's log (join.ts). Commands: { cmd: 'set-script', script }, { cmd: 'collect' }
 * (answers the log since the previous collection and clears it), { cmd: 'close' }.
 */
import { startEmulator, type CallScript } from '../src/emulator/index.js';
import { createLogger } from '../src/log/logger.js';
import { callIndexOf, readTagFromBase64 } from './frame-tag.js';
import { epochNow, type EmulatorLog } from './join.js';

const deltaMs = Number(process.env.BENCH_EMULATOR_DELTA_MS ?? '100');
const initialScript = JSON.parse(process.env.BENCH_EMULATOR_SCRIPT ?? 'null') as CallScript;

let log: EmulatorLog = { appendTags: [], appendAt: [], events: [], replies: [] };
const sessionToCall = new Map<string, number>();
const lastDeltaResponse = new Map<string, string>();
/** Audio written per response so far: when its first delta went out and how many bytes. */
const replyAudio = new Map<string, { firstDeltaAt: number; bytes: number }>();
const offset = performance.timeOrigin;

const emulator = await startEmulator({
  speed: 'instant',
  chunkMs: deltaMs,
  script: initialScript,
  retainInputAudio: false,
  logger: createLogger('warn'),
  observer: {
    onClientEvent: (sessionId, event, receivedAt) => {
      if (event.type !== 'input_audio_buffer.append') return;
      const tag = readTagFromBase64(event.audio);
      if (tag === null) return;
      if (!sessionToCall.has(sessionId)) sessionToCall.set(sessionId, callIndexOf(tag));
      log.appendTags.push(tag);
      // receivedAt is this process's performance.now() at message arrival, before parsing.
      log.appendAt.push(offset + receivedAt);
    },
    onServerEvent: (sessionId, event) => {
      const call = sessionToCall.get(sessionId);
      if (call === undefined) return;
      const at = epochNow();
      switch (event.type) {
        case 'response.created':
          log.events.push({ call, kind: 'created', at });
          return;
        case 'response.output_audio.delta': {
          const responseId = String(event.response_id);
          const bytes = Buffer.byteLength(String(event.delta), 'base64');
          const written = replyAudio.get(responseId);
          if (written) written.bytes += bytes;
          else replyAudio.set(responseId, { firstDeltaAt: at, bytes });
          if (lastDeltaResponse.get(sessionId) === responseId) return;
          lastDeltaResponse.set(sessionId, responseId);
          log.events.push({ call, kind: 'first-delta', at });
          return;
        }
        case 'response.done': {
          const response = event.response as { id?: string; status?: string };
          const written = replyAudio.get(String(response.id));
          replyAudio.delete(String(response.id));
          // Only replies that ran to their end: an interrupted one is cut short on purpose.
          if (written && response.status === 'completed') log.replies.push({ call, firstDeltaAt: written.firstDeltaAt, bytes: written.bytes });
          return;
        }
        case 'input_audio_buffer.speech_started':
          log.events.push({ call, kind: 'speech-started', at });
          return;
        default:
          return;
      }
    },
  },
});

type Command = { cmd: 'set-script'; script: CallScript } | { cmd: 'collect' } | { cmd: 'close' };

process.on('message', (message: Command & { id: number }) => {
  const reply = (value: unknown) => process.send?.({ id: message.id, value });
  switch (message.cmd) {
    case 'set-script':
      emulator.setScript(message.script);
      reply(null);
      return;
    case 'collect': {
      const out = log;
      log = { appendTags: [], appendAt: [], events: [], replies: [] };
      reply(out);
      return;
    }
    case 'close':
      void emulator.close().then(() => {
        reply(null);
        process.exit(0);
      });
      return;
  }
});
// Never outlive the harness.
process.on('disconnect', () => process.exit(0));
process.send?.({ ready: { baseURL: emulator.baseURL, caPath: emulator.caPath } });
