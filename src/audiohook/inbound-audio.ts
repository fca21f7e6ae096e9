/**
 * One binary message from the client, judged against the session state and the negotiated media: a
 * protocol violation (audio before `opened`, or not whole sample frames), dropped (paused, after our
 * disconnect, or no media as for a probe), or caller audio to add to the stream timeline.
 */
import { bytesPerSampleFrame, channelAsUlaw } from '../audio/codec.js';
import type { SessionState } from './handler.js';
import type { UsableMedia } from './schemas.js';
import { binaryDisposition } from './state.js';

export type InboundAudio =
  | { kind: 'empty' }
  | { kind: 'violation'; reason: string }
  | { kind: 'dropped' }
  /** `ulaw` decodes the external channel on demand (only when the call listens). */
  | { kind: 'audio'; sampleFrames: number; ulaw: () => Uint8Array | null };

export function judgeInboundAudio(data: Uint8Array, state: SessionState, layout: UsableMedia | null): InboundAudio {
  // Empty frames are ignored in every state, even before `opened` ([U], see session.ts).
  if (data.length === 0) return { kind: 'empty' };
  const disposition = binaryDisposition(state);
  if (disposition === 'violation') return { kind: 'violation', reason: 'audio received before the session was opened' };
  if (disposition === 'drop' || layout === null) return { kind: 'dropped' };
  const frameBytes = bytesPerSampleFrame(layout);
  if (data.length % frameBytes !== 0) {
    return { kind: 'violation', reason: `audio message of ${data.length} bytes is not a whole number of ${frameBytes}-byte sample frames` };
  }
  return { kind: 'audio', sampleFrames: data.length / frameBytes, ulaw: () => channelAsUlaw(data, layout, 'external') };
}
