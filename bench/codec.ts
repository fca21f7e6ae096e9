/**
 * Throughput of the audio code paths a call uses, in MB of μ-law per second (in-process, one core):
 * caller frame → base64 for `input_audio_buffer.append`, model delta base64 → bytes, stereo → external
 * channel extraction, and the μ-law ↔ linear LUT conversions (decode is what level/VAD-style code uses).
 */
import { channelAsUlaw, linearToUlaw, ulawToLinear, type FrameLayout } from '../src/audio/codec.js';
import { ulawTone } from '../src/audio/level.js';

export interface CodecResult {
  name: string;
  mbPerSecond: number;
}

/** Runs `op` (which processes `bytesPerOp` μ-law bytes) for about `ms` and returns MB/s (10^6 bytes). */
function measure(name: string, bytesPerOp: number, ms: number, op: () => unknown): CodecResult {
  let sink = 0;
  for (let i = 0; i < 50; i++) sink ^= Number(Boolean(op())); // warm-up (JIT)
  let ops = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < ms) {
    for (let i = 0; i < 100; i++) sink ^= Number(Boolean(op()));
    ops += 100;
    elapsed = performance.now() - start;
  }
  if (sink === 42) console.log(''); // keeps the results observable to the optimiser
  return { name, mbPerSecond: Math.round(((ops * bytesPerOp) / 1e6 / (elapsed / 1000)) * 10) / 10 };
}

export function runCodecBench(msPerCase: number): CodecResult[] {
  const frame = ulawTone(200, 440); // one 200 ms caller frame, 1600 bytes
  const big = ulawTone(8000, 440); // 64 KB for the LUT loops
  const pcm = ulawToLinear(big);
  const delta = Buffer.from(frame).toString('base64');
  const stereoLayout: FrameLayout = { format: 'PCMU', channels: ['external', 'internal'] };
  const stereo = new Uint8Array(frame.length * 2);
  for (let i = 0; i < frame.length; i++) {
    stereo[2 * i] = frame[i]!;
    stereo[2 * i + 1] = 0xff;
  }
  return [
    measure('μ-law decode (LUT → Int16)', big.length, msPerCase, () => ulawToLinear(big)),
    measure('μ-law encode (Int16 → LUT)', big.length, msPerCase, () => linearToUlaw(pcm)),
    measure('caller frame → base64 append', frame.length, msPerCase, () => Buffer.from(frame).toString('base64')),
    measure('model delta base64 → bytes', frame.length, msPerCase, () => Buffer.from(delta, 'base64')),
    measure('stereo frame → external channel', frame.length, msPerCase, () => channelAsUlaw(stereo, stereoLayout, 'external')),
  ];
}
