/** Reads a `--record-call` WAV back: the two channels as μ-law, and where each one is speaking. */
import { readFileSync } from 'node:fs';
import { linearToUlaw, readL16 } from '../../src/audio/codec.js';
import { isSilent } from '../../src/audio/level.js';
import { parseWav } from '../../src/audio/wav.js';

export interface CallRecordingWav {
  /** Channel 0 (left), μ-law. */
  caller: Uint8Array;
  /** Channel 1 (right), μ-law. */
  bot: Uint8Array;
  durationMs: number;
}

/** Parses a call recording and checks its layout: 16-bit PCM, 8 kHz, stereo. */
export function readCallRecording(path: string): CallRecordingWav {
  const wav = parseWav(new Uint8Array(readFileSync(path)));
  if (wav.format.encoding !== 'L16' || wav.format.channels !== 2 || wav.format.sampleRate !== 8000) {
    throw new Error(`${path}: expected 16-bit PCM stereo 8 kHz, got ${JSON.stringify(wav.format)}`);
  }
  const samples = readL16(wav.data);
  const caller = new Int16Array(samples.length / 2);
  const bot = new Int16Array(samples.length / 2);
  for (let i = 0; i < caller.length; i++) {
    caller[i] = samples[2 * i]!;
    bot[i] = samples[2 * i + 1]!;
  }
  return { caller: linearToUlaw(caller), bot: linearToUlaw(bot), durationMs: wav.format.durationMs };
}

/** Non-silent stretches of μ-law audio, [startMs, endMs), from 20 ms windows; gaps under `bridgeMs` joined. */
export function speechSpans(ulaw: Uint8Array, bridgeMs = 300): Array<[number, number]> {
  const spans: Array<[number, number]> = [];
  const window = 160;
  for (let i = 0; i + window <= ulaw.length; i += window) {
    if (isSilent(ulaw.subarray(i, i + window))) continue;
    const start = i / 8;
    const last = spans.at(-1);
    if (last && start - last[1] < bridgeMs) last[1] = start + 20;
    else spans.push([start, start + 20]);
  }
  return spans;
}

/** Whether the channel is silent over [fromMs, toMs). */
export function silentBetween(ulaw: Uint8Array, fromMs: number, toMs: number): boolean {
  return speechSpans(ulaw.subarray(Math.round(fromMs * 8), Math.round(toMs * 8)), 0).length === 0;
}
