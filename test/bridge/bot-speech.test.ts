import { describe, expect, it } from 'vitest';
import { BotSpeech } from '../../src/bridge/bot-speech.js';
import type { CallEvent } from '../../src/bridge/call-events.js';
import { CallEventPublisher } from '../../src/bridge/call-publisher.js';
import { CallPhaseState } from '../../src/bridge/phase.js';
import { createLogger } from '../../src/log/logger.js';
import { ManualClock } from '../../src/util/clock.js';

function setup() {
  const clock = new ManualClock(1_000);
  const events: CallEvent[] = [];
  const publisher = new CallEventPublisher('call-1', { onCallEvent: (e) => events.push(e) }, () => new Date(0), createLogger('silent'));
  const waits: number[] = [];
  const speech = new BotSpeech({ clock, events: publisher, phase: new CallPhaseState(), firstBotAudioSeconds: { observe: (s) => waits.push(s) } });
  const kinds = () => events.map((e) => (e.type === 'activity' ? `activity:${e.activity}` : e.type));
  return { clock, speech, waits, kinds };
}

describe('which bot replies the caller is hearing', () => {
  it('publishes speech started/stopped once per response and goes back to listening when none is left', () => {
    const { speech, kinds } = setup();
    speech.audioQueued('r1');
    speech.audioQueued('r1');
    speech.audioQueued('r2');
    speech.stopped('r1');
    speech.stopped('r1');
    expect(kinds()).toEqual(['bot.speech_started', 'activity:bot_speaking', 'bot.speech_started', 'bot.speech_stopped']);
    speech.stopped('r2');
    expect(kinds().slice(-2)).toEqual(['bot.speech_stopped', 'activity:listening']);
  });

  it('measures the wait from the caller stopping to the first bot frame sent, once', () => {
    const { clock, speech, waits } = setup();
    speech.frameSent();
    speech.callerStoppedSpeaking();
    clock.advance(600);
    speech.frameSent();
    clock.advance(20);
    speech.frameSent();
    speech.callerStoppedSpeaking();
    speech.callerStartedSpeaking();
    speech.frameSent();
    expect(waits).toEqual([0.6]);
  });
});
