/**
 * Barge-in truncation math (OpenAI Realtime API, `conversation.item.truncate`): the model's assistant item is cut to what the
 * caller actually heard. AudioHook has no mark echo, so "heard" is the pacer's played estimate, clamped by
 * what was sent to Genesys, which itself never exceeds what the model produced for that item.
 */
export interface TruncationProgress {
  /** Audio received from the model for the item (ms). */
  receivedMs: number;
  /** Audio sent to Genesys (ms). */
  sentMs: number;
  /** Audio estimated as played to the caller (ms). */
  playedMs: number;
}

/**
 * `audio_end_ms` for `conversation.item.truncate`: floor(min(sent, played)) clamped to [0, received].
 * The clamp to received avoids the API error "audio_end_ms is longer than the audio" (its `audio_end_ms` reference).
 * Non-finite inputs count as 0, so bad bookkeeping can only truncate earlier, never fail the request.
 */
export function truncateAudioEndMs(progress: TruncationProgress): number {
  const received = finiteOrZero(progress.receivedMs);
  const heard = Math.min(finiteOrZero(progress.sentMs), finiteOrZero(progress.playedMs));
  return Math.max(0, Math.min(Math.floor(heard), Math.floor(received)));
}

export interface TruncationCandidate extends TruncationProgress {
  itemId: string;
}

export interface TruncationTarget {
  itemId: string;
  audioEndMs: number;
}

/**
 * The truncations for one barge-in, given the interrupted items in playout order (e.g. pacer.playingItems()).
 *
 * - Up to and including the first item the caller had not heard completely (cut below what the model sent us), each item is cut
 *   at truncateAudioEndMs.
 * - Items after that one cannot have been heard (playout is sequential): they get 0 when some of their audio
 *   was sent (its transcript must not count as said), and are skipped when nothing of them was sent, since the
 *   caller-facing state never saw them. [Choice: the bridge cancels the response, which ends those items.]
 * - Items without any audio from the model are skipped: the API rejects truncating an item with no audio.
 */
export function planBargeInTruncation(items: readonly TruncationCandidate[]): TruncationTarget[] {
  const targets: TruncationTarget[] = [];
  let reachedUnheard = false;
  for (const item of items) {
    if (!(finiteOrZero(item.receivedMs) > 0)) continue;
    if (reachedUnheard) {
      if (finiteOrZero(item.sentMs) > 0) targets.push({ itemId: item.itemId, audioEndMs: 0 });
      continue;
    }
    const audioEndMs = truncateAudioEndMs(item);
    targets.push({ itemId: item.itemId, audioEndMs });
    if (audioEndMs < Math.floor(item.receivedMs)) reachedUnheard = true;
  }
  return targets;
}

function finiteOrZero(value: number): number {
  return Number.isFinite(value) ? value : 0;
}
