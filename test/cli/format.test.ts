import { describe, expect, it } from 'vitest';
import { formatProgress, formatReplay, type ReplayResult } from '../../src/cli/replay.js';

const result: ReplayResult = {
  file: 'call.wav',
  inputFormat: { container: 'wav', encoding: 'PCMU', sampleRate: 8000, channels: 1, bitsPerSample: 8, extensible: false, durationMs: 3000 },
  url: 'ws://127.0.0.1:8080/audiohook/bot',
  sessionId: 'sess-1',
  pacing: 'realtime',
  ending: 'bot-disconnected',
  timings: { openToOpenedMs: 12.3, openedToFirstBotAudioMs: 140, closeToClosedMs: 4, totalMs: 9100 },
  audio: { sentMs: 9000, receivedBytes: 24_000, receivedMs: 3000, frames: 15, maxFrameBytes: 1600 },
  bargeIns: 1,
  botTurns: [
    { atMs: 4500, text: 'Hello, how can I help?', disposition: 'match' },
    { atMs: 8000, text: '', disposition: 'no_input' },
  ],
  events: [],
  disconnect: { reason: 'completed', info: undefined, outputVariables: { RESOLVED: 'true', SUMMARY: 'Asked about an order.' } },
  violations: [],
  out: 'bot.wav',
};

describe('formatReplay', () => {
  it('shows timings, the bot turns as Genesys saw them, the ending, output variables and the WAV', () => {
    const text = formatReplay(result);
    expect(text).toContain('open → opened 12.3 ms, opened → first bot audio 140 ms');
    expect(text).toMatch(/^ {2}\[ {2}4\.5 s\] Hello, how can I help\?$/m);
    expect(text).toMatch(/^ {2}\[ {2}8\.0 s\] {2}\[no_input\]$/m);
    expect(text).toContain('Ending: bot-disconnected — disconnect reason "completed"');
    expect(text).toMatch(/^ {2}RESOLVED = true$/m);
    expect(text).toContain('Bot audio written to bot.wav');
    expect(text).toMatch(/Protocol violations: none$/);
  });

  it('lists each violation', () => {
    const text = formatReplay({ ...result, violations: [{ code: 'seq-out-of-order', message: 'seq 3 after 1' }] });
    expect(text).toMatch(/Protocol violations: 1\n {2}\[seq-out-of-order\] seq 3 after 1$/);
  });

  it('says n/a for timings that did not happen', () => {
    const text = formatReplay({ ...result, timings: { ...result.timings, openedToFirstBotAudioMs: null } });
    expect(text).toContain('opened → first bot audio n/a');
  });
});

describe('formatProgress', () => {
  it('is one line: elapsed, audio sent and received, barge-ins, state', () => {
    const line = formatProgress({ elapsedMs: 12_345, sentMs: 12_200, receivedBytes: 40_000, bargeIns: 2, state: 'open, bot speaking' });
    expect(line).toBe('[ 12.3 s] sent 12.2 s · bot audio 5.0 s · barge-ins 2 · open, bot speaking');
  });
});
