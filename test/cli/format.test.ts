import { describe, expect, it } from 'vitest';
import { displayUrl, exitCodeOf, formatProgress, formatReplay, REPLAY_EXIT, type ReplayResult } from '../../src/cli/replay.js';

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
  warnings: [],
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

  it('names the call recording and prints each warning as a note', () => {
    const text = formatReplay({ ...result, recordCall: 'call.wav', warnings: ['--fast sends the whole recording at once'] });
    expect(text).toContain('Call recording (stereo: caller left, bot right, as heard) written to call.wav');
    expect(text).toMatch(/^Note: --fast sends the whole recording at once$/m);
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

describe('exit code of a finished replay', () => {
  const stderrOf = (r: ReplayResult) => {
    let text = '';
    const code = exitCodeOf(r, { timeoutMs: 30_000 }, { write: (t: string) => (text += t) });
    return { code, text };
  };
  const botError = { ...result, disconnect: { reason: 'error', info: 'input variable\nAI_VOICE is not a voice', outputVariables: undefined } };

  it.each<[string, ReplayResult, number, RegExp | '']>([
    ['a clean call the bot completed', result, REPLAY_EXIT.ok, ''],
    ['a clean call the caller hung up', { ...result, ending: 'caller-hung-up', disconnect: null }, REPLAY_EXIT.ok, ''],
    ['protocol violations', { ...result, violations: [{ code: 'wrong-id', message: 'id x' }] }, REPLAY_EXIT.violations, /^replay: 1 protocol violation\(s\): \[wrong-id\] id x\n$/],
    ['the bot ended the call with disconnect error', botError, REPLAY_EXIT.botError, /^replay: the bot ended the call with disconnect error: input variable AI_VOICE is not a voice\n$/],
    ['violations and a disconnect error: the violations', { ...botError, violations: [{ code: 'wrong-id', message: 'id x' }] }, REPLAY_EXIT.violations, /protocol violation/],
    ['timed out', { ...result, ending: 'timeout', disconnect: null }, REPLAY_EXIT.timeout, /^replay: timed out after 30 s \(raise --timeout\)\n$/],
    ['Ctrl-C', { ...result, ending: 'interrupted', disconnect: null }, REPLAY_EXIT.interrupted, ''],
  ])('%s', (_name, r, code, stderr) => {
    const out = stderrOf(r);
    expect(out.code).toBe(code);
    if (stderr === '') expect(out.text).toBe('');
    else expect(out.text).toMatch(stderr);
  });

  it('gives each outcome its own code', () => {
    const codes = Object.values(REPLAY_EXIT);
    expect(new Set(codes).size).toBe(codes.length);
  });
});

describe('displayUrl', () => {
  it('never shows credentials in the URL', () => {
    expect(displayUrl('wss://bot:s3cr3t-pass@example.com/audiohook/x')).toBe('wss://***:***@example.com/audiohook/x');
    expect(displayUrl('ws://127.0.0.1:8080/audiohook')).toBe('ws://127.0.0.1:8080/audiohook');
  });
});
