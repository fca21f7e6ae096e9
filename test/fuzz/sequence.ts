/**
 * Valid AudioHook client sequences (what a correct Genesys client sends), as data the mutators can
 * rework: JSON messages (with `serverseq` filled in at send time unless a mutator fixed it), raw text,
 * binary frames, clock advances, socket loss and call-side (CallControl) actions.
 */
import { formatDurationMs } from '../../src/audiohook/duration.js';
import { selectMedia } from '../../src/audiohook/media.js';
import type { Prng } from './prng.js';

export const FUZZ_SESSION_ID = '30b0e395-84d3-4570-ac13-9a62d8f514c0';
export const FUZZ_ORG_ID = 'd7934305-0972-4844-938e-9060eef73d05';
export const FUZZ_CORRELATION_ID = 'e160e428-53e2-487c-977d-96989bf5c99d';
export const FUZZ_CONVERSATION_ID = '654eff96-52f7-42fb-8fe7-a4f9f33c3291';
export const FUZZ_PARTICIPANT_ID = '1aec8efd-e26f-45f0-fdb1-bcfe549fb148';
export const NULL_UUID = '00000000-0000-0000-0000-000000000000';

export const OFFERS = {
  pcmuMono: { type: 'audio', format: 'PCMU', channels: ['external'], rate: 8000 },
  pcmuStereo: { type: 'audio', format: 'PCMU', channels: ['external', 'internal'], rate: 8000 },
  pcmuInverted: { type: 'audio', format: 'PCMU', channels: ['internal', 'external'], rate: 8000 },
  l16Mono: { type: 'audio', format: 'L16', channels: ['external'], rate: 8000 },
  l16Stereo: { type: 'audio', format: 'L16', channels: ['external', 'internal'], rate: 8000 },
  l16Inverted: { type: 'audio', format: 'L16', channels: ['internal', 'external'], rate: 8000 },
} as const;

export type ControlAction = 'audio' | 'event' | 'pause' | 'resume' | 'disconnect';

export type Step =
  /** A JSON client message; `autoServerseq`: the driver sets serverseq to our last server seq. `padTo`: pad the text to this length. */
  | { kind: 'message'; message: Record<string, unknown>; autoServerseq: boolean; padTo?: number }
  | { kind: 'text'; text: string }
  | { kind: 'binary'; data: Uint8Array }
  | { kind: 'advance'; ms: number }
  | { kind: 'socket-closed'; code: number }
  | { kind: 'control'; action: ControlAction };

export interface ValidSequence {
  steps: Step[];
  offers: unknown[];
  /** Bytes per sample frame of the media the session will choose (null for a probe with no usable offer). */
  frameBytes: number | null;
  probe: boolean;
}

const CLOSE_REASONS = ['end', 'error', 'disconnect', 'reconnect', 'something-new'];

/** Generates one valid client sequence: open, a body of ordinary traffic, close. */
export function validSequence(rng: Prng): ValidSequence {
  const all = Object.values(OFFERS);
  const offers: unknown[] = [];
  const count = rng.int(1, 3);
  for (let i = 0; i < count; i++) offers.push(structuredClone(rng.pick(all)));
  const probe = rng.chance(0.08);
  const choice = selectMedia(offers);
  const frameBytes = choice ? (choice.layout.format === 'L16' ? 2 : 1) * choice.layout.channels.length : null;

  let seq = 0;
  let positionMs = 0;
  const steps: Step[] = [];
  const message = (type: string, parameters: Record<string, unknown> = {}): Step => ({
    kind: 'message',
    autoServerseq: true,
    message: {
      version: '2',
      id: FUZZ_SESSION_ID,
      type,
      seq: ++seq,
      serverseq: 0,
      position: formatDurationMs(positionMs),
      parameters,
    },
  });

  steps.push(
    message('open', {
      organizationId: FUZZ_ORG_ID,
      conversationId: probe ? NULL_UUID : FUZZ_CONVERSATION_ID,
      participant: probe
        ? { id: NULL_UUID, ani: '', aniName: '', dnis: '' }
        : { id: FUZZ_PARTICIPANT_ID, ani: 'tel:+15555550100', aniName: 'Caller', dnis: 'tel:+18005550199' },
      media: offers,
      language: rng.pick(['en-US', 'de-DE', 'fr-fr']),
      ...(rng.chance(0.3) ? { supportedLanguages: rng.chance(0.5) } : {}),
      ...(rng.chance(0.5) ? { inputVariables: { tier: 'gold', intent: 'billing' } } : {}),
      ...(rng.chance(0.3) ? { customConfig: { bot: 'fuzz', nested: { a: [1, 2] } } } : {}),
    }),
  );

  let paused = false;
  const body = rng.int(0, 30);
  for (let i = 0; i < body; i++) {
    const roll = rng.next();
    if (roll < 0.3) {
      if (!paused && frameBytes !== null) {
        const frames = rng.pick([1, 80, 160, 160, 800, 1600]);
        steps.push({ kind: 'binary', data: rng.bytes(frames * frameBytes) });
        positionMs += frames / 8;
      }
    } else if (roll < 0.42) steps.push(message('ping', rng.chance(0.5) ? { rtt: 'PT0.042S' } : {}));
    else if (roll < 0.5) steps.push({ kind: 'advance', ms: rng.int(0, 200) });
    else if (roll < 0.55) steps.push(message('dtmf', { digit: rng.pick(['0', '5', '9', '*', '#', 'A', 'd']) }));
    else if (roll < 0.6) steps.push(message(rng.pick(['playback_started', 'playback_completed'])));
    else if (roll < 0.64) steps.push(message('update', rng.chance(0.5) ? { language: 'es-US' } : {}));
    else if (roll < 0.68) {
      const ms = rng.int(0, 2000);
      steps.push(message('discarded', { start: formatDurationMs(positionMs), discarded: formatDurationMs(ms) }));
      positionMs += ms;
    } else if (roll < 0.74) {
      const code = rng.pick([429, 429, 400, 405, 408, 500, 503]);
      steps.push(
        message('error', {
          code,
          message: 'fuzzed client error',
          ...(rng.chance(0.6) ? { retryAfter: formatDurationMs(rng.int(0, 3000)) } : {}),
        }),
      );
    } else if (roll < 0.8) {
      if (!paused) steps.push(message('paused'));
      else {
        const gap = rng.int(0, 3000);
        steps.push(message('resumed', { start: formatDurationMs(positionMs), discarded: formatDurationMs(gap) }));
        positionMs += gap;
      }
      paused = !paused;
    } else if (roll < 0.83) steps.push(message(rng.pick(['transcript_hint', 'future_type']), { anything: [1, 'x'] }));
    else steps.push({ kind: 'control', action: rng.pick(['audio', 'audio', 'event', 'event', 'pause', 'resume', 'disconnect'] as const) });
  }
  if (rng.chance(0.85)) steps.push(message('close', { reason: rng.pick(CLOSE_REASONS) }));
  return { steps, offers, frameBytes, probe };
}
