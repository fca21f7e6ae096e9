/**
 * Which bot replies the caller is hearing, and how long the caller waited for the first one after they
 * stopped speaking. It publishes bot.speech_started/stopped once per response and moves the console
 * activity between bot_speaking and listening; the wait feeds the first-bot-audio latency metric.
 */
import type { Clock } from '../util/clock.js';
import type { CallEventPublisher } from './call-publisher.js';
import type { CallPhaseState } from './phase.js';

export interface BotSpeechOptions {
  clock: Clock;
  events: CallEventPublisher;
  phase: CallPhaseState;
  firstBotAudioSeconds?: { observe(seconds: number): void };
}

export class BotSpeech {
  /** Responses whose audio started reaching the pacer (bot.speech_started published). */
  private readonly speaking = new Set<string>();
  /** VAD speech_stopped time, until the first bot audio frame after it goes out (latency metric). */
  private speechStoppedAt: number | undefined;

  constructor(private readonly options: BotSpeechOptions) {}

  /** A response's audio reached the pacer; only its first chunk is news. */
  audioQueued(responseId: string): void {
    if (this.speaking.has(responseId)) return;
    this.speaking.add(responseId);
    this.options.events.publish({ type: 'bot.speech_started', responseId });
    this.options.events.setActivity('bot_speaking');
  }

  /** A response finished, was cut by a barge-in or lost with its session. */
  stopped(responseId: string): void {
    if (!this.speaking.delete(responseId)) return;
    const { events, phase } = this.options;
    events.publish({ type: 'bot.speech_stopped', responseId });
    if (this.speaking.size === 0 && events.currentActivity === 'bot_speaking' && phase.phase === 'conversing') {
      events.setActivity('listening');
    }
  }

  callerStartedSpeaking(): void {
    this.speechStoppedAt = undefined;
  }

  callerStoppedSpeaking(): void {
    this.speechStoppedAt = this.options.clock.now();
  }

  /** A bot audio frame went out to Genesys: the first one after the caller stopped closes the wait. */
  frameSent(): void {
    if (this.speechStoppedAt === undefined) return;
    this.options.firstBotAudioSeconds?.observe((this.options.clock.now() - this.speechStoppedAt) / 1000);
    this.speechStoppedAt = undefined;
  }
}
