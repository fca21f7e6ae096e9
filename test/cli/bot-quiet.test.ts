import { describe, expect, it } from 'vitest';
import { BotQuietTracker } from '../../src/cli/bot-quiet.js';
import { ManualClock } from '../../src/util/clock.js';

describe('BotQuietTracker', () => {
  it('counts nothing before the recording has ended, however long the bot has been silent', () => {
    const clock = new ManualClock();
    const quiet = new BotQuietTracker(clock);
    clock.advance(30_000);
    expect(quiet.quietMs()).toBe(0);
  });

  it('counts from the end of the recording when the bot went silent long before it (flushed greeting)', () => {
    const clock = new ManualClock();
    const quiet = new BotQuietTracker(clock);
    quiet.playback(true);
    quiet.botAudio();
    clock.advance(500);
    quiet.playback(false); // barge-in flushed the greeting at 0.5 s
    clock.advance(10_000);
    quiet.recordingEnded(); // caller's last words end at 10.5 s
    expect(quiet.quietMs()).toBe(0);
    clock.advance(2_000);
    expect(quiet.quietMs()).toBe(2_000);
  });

  it('is zero while the bot plays and counts from the end of playback', () => {
    const clock = new ManualClock();
    const quiet = new BotQuietTracker(clock);
    quiet.recordingEnded();
    clock.advance(1_000);
    quiet.playback(true);
    quiet.botAudio();
    clock.advance(4_000);
    expect(quiet.quietMs()).toBe(0);
    expect(quiet.botSpeaking).toBe(true);
    quiet.playback(false);
    expect(quiet.botSpeaking).toBe(false);
    clock.advance(2_500);
    expect(quiet.quietMs()).toBe(2_500);
  });

  it('restarts the count when bot audio arrives after a quiet spell', () => {
    const clock = new ManualClock();
    const quiet = new BotQuietTracker(clock);
    quiet.recordingEnded();
    clock.advance(2_000);
    quiet.botAudio();
    clock.advance(300);
    expect(quiet.quietMs()).toBe(300);
  });
});
