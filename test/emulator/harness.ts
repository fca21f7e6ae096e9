/** Drives an EmulatorSession directly (no socket) with a ManualClock, capturing what it sends. */
import { pino } from 'pino';
import { ManualClock } from '../../src/util/clock.js';
import { EmulatorSession } from '../../src/emulator/session.js';
import { createReplyAudioResolver, type CallScript } from '../../src/emulator/script.js';
import type { Speed } from '../../src/emulator/pacing.js';
import type { Realism } from '../../src/emulator/realism.js';
import { ulawSilence, ulawTone } from '../../src/emulator/tone.js';

export type ServerEvent = Record<string, unknown> & { type: string; event_id: string };

export interface Harness {
  session: EmulatorSession;
  clock: ManualClock;
  events: ServerEvent[];
  closes: { code: number; reason: string }[];
  send(event: Record<string, unknown>): void;
  appendUlaw(bytes: Uint8Array, chunkMs?: number): void;
  ofType(type: string): ServerEvent[];
  last(type: string): ServerEvent | undefined;
  clear(): void;
}

export const TONES_SCRIPT: CallScript = {
  name: 'test',
  greeting: { audio: { toneMs: 1000 }, transcript: 'Hello there, how can I help?' },
  turns: [
    { transcript: 'Where is my order?', reply: { audio: { toneMs: 600 }, transcript: 'What is the order number?' } },
    {
      transcript: 'Goodbye.',
      toolCall: { name: 'end_call', arguments: { reason: 'done' } },
      followUp: { audio: { toneMs: 400 }, transcript: 'Thanks for calling, goodbye!' },
    },
  ],
  textCues: [
    {
      pattern: 'manager',
      flags: 'i',
      toolCall: { name: 'transfer_to_agent', arguments: { reason: 'manager' } },
      followUp: { audio: { toneMs: 300 }, transcript: 'Transferring you now.' },
    },
  ],
};

export function createHarness(
  options: { script?: CallScript; speed?: Speed; start?: boolean; realism?: Realism; azureDeployments?: string[] } = {},
): Harness {
  const clock = new ManualClock(0);
  const events: ServerEvent[] = [];
  const closes: { code: number; reason: string }[] = [];
  const session = new EmulatorSession({
    model: 'gpt-realtime-2.1',
    script: options.script ?? TONES_SCRIPT,
    resolveAudio: createReplyAudioResolver(),
    speed: options.speed ?? 'instant',
    chunkMs: 100,
    clock,
    wallNow: () => 1_800_000_000_000 + clock.now(),
    logger: pino({ level: 'silent' }),
    transport: {
      send: (event) => events.push(JSON.parse(JSON.stringify(event)) as ServerEvent),
      close: (code, reason) => closes.push({ code, reason }),
    },
    ...(options.realism ? { realism: options.realism } : {}),
    ...(options.azureDeployments ? { azureDeployments: options.azureDeployments } : {}),
  });
  if (options.start !== false) session.start();
  const h: Harness = {
    session,
    clock,
    events,
    closes,
    send: (event) => session.handleMessage(JSON.stringify(event)),
    appendUlaw: (bytes, chunkMs = 20) => {
      const step = chunkMs * 8;
      for (let i = 0; i < bytes.length; i += step) {
        h.send({ type: 'input_audio_buffer.append', audio: Buffer.from(bytes.subarray(i, i + step)).toString('base64') });
      }
    },
    ofType: (type) => events.filter((e) => e.type === type),
    last: (type) => events.filter((e) => e.type === type).at(-1),
    clear: () => {
      events.length = 0;
    },
  };
  return h;
}

export const PCMU_SESSION = {
  type: 'realtime',
  output_modalities: ['audio'],
  audio: {
    input: {
      format: { type: 'audio/pcmu' },
      transcription: { model: 'gpt-transcribe' },
      turn_detection: { type: 'server_vad', threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 500, create_response: true, interrupt_response: true },
    },
    output: { format: { type: 'audio/pcmu' }, voice: 'marin' },
  },
};

/** Caller "speech": silence, a tone, silence. */
export function utterance(leadMs: number, toneMs: number, tailMs: number): Uint8Array {
  const parts = [ulawSilence(leadMs), ulawTone(toneMs, 300, 9000), ulawSilence(tailMs)];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
