/** The emulator as a slow model: its out-of-band summary can start late (kill -9 tests need the window). */
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { EmulatorSession } from '../../src/emulator/session.js';
import { createReplyAudioResolver } from '../../src/emulator/script.js';
import { ManualClock } from '../../src/util/clock.js';
import { TONES_SCRIPT } from './harness.js';

function session(summaryDelayMs?: number) {
  const clock = new ManualClock(0);
  const events: Array<{ type: string }> = [];
  const s = new EmulatorSession({
    model: 'gpt-realtime-2.1',
    script: TONES_SCRIPT,
    resolveAudio: createReplyAudioResolver(),
    speed: 'instant',
    chunkMs: 100,
    clock,
    wallNow: () => 1_800_000_000_000 + clock.now(),
    logger: pino({ level: 'silent' }),
    transport: { send: (e) => events.push(e as { type: string }), close: () => undefined },
    ...(summaryDelayMs !== undefined ? { summaryDelayMs } : {}),
  });
  s.start();
  const ask = (instructions: string) =>
    s.handleMessage(JSON.stringify({ type: 'response.create', response: { conversation: 'none', output_modalities: ['text'], instructions } }));
  const done = () => events.filter((e) => e.type === 'response.done').length;
  return { s, clock, ask, done };
}

describe('emulator summaryDelayMs', () => {
  it('starts a summary request only after the delay; other text answers are not delayed', () => {
    const { clock, ask, done } = session(5_000);
    ask('Summarize this call as JSON.');
    expect(done()).toBe(0);
    clock.advance(4_999);
    expect(done()).toBe(0);
    clock.advance(1);
    expect(done()).toBe(1);
    ask('Say hello.');
    expect(done()).toBe(2);
  });

  it('answers at once without it, and a session closed during the delay answers nothing', () => {
    const fast = session();
    fast.ask('Summarize this call as JSON.');
    expect(fast.done()).toBe(1);
    const slow = session(5_000);
    slow.ask('Summarize this call as JSON.');
    slow.s.dispose(1000, 'bye');
    slow.clock.advance(10_000);
    expect(slow.done()).toBe(0);
  });
});
