/**
 * Energy voice-activity detection in audio time (not wall time), the emulator's stand-in for server_vad.
 *
 * A 10 ms frame is "speech" when its RMS level (0..1 of full scale) exceeds `threshold × 0.1`, so the default
 * threshold 0.5 means ≈ −26 dBFS: a tone or loud voice is speech, μ-law silence and line hiss are not. The real
 * threshold is a model probability; this mapping is the emulator's choice. Speech starts after
 * MIN_SPEECH_MS of consecutive speech (one click is not a turn); `audio_start_ms` includes prefix padding
 * (clamped to the start of the current buffer) and `audio_end_ms` includes the silence duration, as OpenAI documents.
 */
import type { TurnDetectionConfig } from './session-config.js';

export interface VadSettings {
  threshold: number;
  prefixPaddingMs: number;
  silenceDurationMs: number;
}

const DEFAULT_SEMANTIC_SILENCE_MS = { low: 1200, medium: 700, high: 300, auto: 700 } as const;

/** The detector settings for a session's turn detection. */
export function vadSettings(td: TurnDetectionConfig | null): VadSettings {
  if (!td) return { threshold: 0.5, prefixPaddingMs: 300, silenceDurationMs: 500 };
  if (td.type === 'server_vad') return { threshold: td.threshold, prefixPaddingMs: td.prefix_padding_ms, silenceDurationMs: td.silence_duration_ms };
  // semantic_vad has no knobs but eagerness: model it as waiting longer or shorter for the end of a turn.
  return { threshold: 0.5, prefixPaddingMs: 300, silenceDurationMs: DEFAULT_SEMANTIC_SILENCE_MS[td.eagerness] };
}

export type VadEvent = { type: 'speech_started'; audioStartMs: number } | { type: 'speech_stopped'; audioEndMs: number };

const FRAME_MS = 10;
const MIN_SPEECH_MS = 20;
const LEVEL_PER_THRESHOLD = 0.1;

export class EnergyVad {
  private settings: VadSettings;
  private carry: Int16Array = new Int16Array(0);
  private processedMs = 0;
  private speaking = false;
  private speechRunMs = 0;
  private speechRunStartMs = 0;
  private silenceRunMs = 0;
  private bufferStartMs = 0;

  constructor(settings: VadSettings) {
    this.settings = settings;
  }

  configure(settings: VadSettings): void {
    this.settings = settings;
  }

  /** Audio time processed so far (whole frames). */
  get audioMs(): number {
    return this.processedMs;
  }

  get inSpeech(): boolean {
    return this.speaking;
  }

  /** The buffer was committed or cleared: prefix padding cannot reach back before this point. */
  markBufferStart(audioMs: number = this.processedMs): void {
    this.bufferStartMs = audioMs;
  }

  /** Ends the current speech without an event (the buffer was cleared mid-speech). */
  resetSpeech(): void {
    this.speaking = false;
    this.speechRunMs = 0;
    this.silenceRunMs = 0;
  }

  push(samples: Int16Array, sampleRate: number): VadEvent[] {
    const frameSamples = (sampleRate * FRAME_MS) / 1000;
    const all = new Int16Array(this.carry.length + samples.length);
    all.set(this.carry, 0);
    all.set(samples, this.carry.length);
    const events: VadEvent[] = [];
    let offset = 0;
    for (; offset + frameSamples <= all.length; offset += frameSamples) {
      const event = this.frame(frameLevel(all, offset, frameSamples));
      if (event) events.push(event);
    }
    this.carry = all.slice(offset);
    return events;
  }

  private frame(level: number): VadEvent | null {
    const frameStart = this.processedMs;
    this.processedMs += FRAME_MS;
    const isSpeech = level > this.settings.threshold * LEVEL_PER_THRESHOLD;
    if (!this.speaking) {
      if (!isSpeech) {
        this.speechRunMs = 0;
        return null;
      }
      if (this.speechRunMs === 0) this.speechRunStartMs = frameStart;
      this.speechRunMs += FRAME_MS;
      if (this.speechRunMs < MIN_SPEECH_MS) return null;
      this.speaking = true;
      this.silenceRunMs = 0;
      const audioStartMs = Math.max(this.bufferStartMs, this.speechRunStartMs - this.settings.prefixPaddingMs);
      return { type: 'speech_started', audioStartMs };
    }
    if (isSpeech) {
      this.silenceRunMs = 0;
      return null;
    }
    this.silenceRunMs += FRAME_MS;
    if (this.silenceRunMs < this.settings.silenceDurationMs) return null;
    this.speaking = false;
    this.speechRunMs = 0;
    this.silenceRunMs = 0;
    return { type: 'speech_stopped', audioEndMs: this.processedMs };
  }
}

function frameLevel(samples: Int16Array, offset: number, length: number): number {
  let sum = 0;
  for (let i = offset; i < offset + length; i++) {
    const s = samples[i]!;
    sum += s * s;
  }
  return Math.sqrt(sum / length) / 32768;
}
