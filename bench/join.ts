/**
 * Joins what the load generator and the emulator, separate processes, saw during a window into hop and
 * barge-in figures. Both stamp events with `epochNow()` (performance.timeOrigin + performance.now(): one
 * machine, one clock source), so a hop is a difference of two readings taken in different processes.
 */

/** Milliseconds since the epoch with sub-millisecond resolution, comparable across processes on one machine. */
export const epochNow = (): number => performance.timeOrigin + performance.now();

/**
 * A reply whose first delta went out this long before the window's end has been paced out to the caller
 * before the log is collected (1 s after the window): the bench's replies are 1 s, paced in real time.
 */
export const REPLY_SETTLE_MS = 2000;

export type EmulatorEventKind = 'created' | 'first-delta' | 'speech-started';

/** What the emulator process saw (since its previous collection). */
export interface EmulatorLog {
  /** Tagged appends: frame id and arrival time. */
  appendTags: number[];
  appendAt: number[];
  /** Per call: a response created, the first audio delta of a response written, VAD speech_started written. */
  events: Array<{ call: number; kind: EmulatorEventKind; at: number }>;
  /** Replies that ran to their end (response.done completed): when their first delta went out, and their audio bytes. */
  replies: Array<{ call: number; firstDeltaAt: number; bytes: number }>;
}

/** What the load generator saw from the start of the window until collection. */
export interface LoadgenLog {
  windowStart: number;
  windowEnd: number;
  /** Caller frames written while measuring (call's model session ready): frame id and write time. */
  sentTags: number[];
  sentAt: number[];
  /** Bot audio chunks received: call index, time, bytes. */
  audioCall: number[];
  audioAt: number[];
  audioBytes: number[];
  /** `barge_in` events received. */
  bargeIns: Array<{ call: number; at: number }>;
}

export interface Joined {
  inboundHops: number[];
  /** Measured caller frames the emulator never received. */
  lostFrames: number;
  /**
   * Bot audio the model wrote that never reached the caller (ms), over the replies that started in the window
   * early enough to have been played out before collection (REPLY_SETTLE_MS), and ran to their end.
   */
  missingBotMs: number;
  /** How many replies missingBotMs judged (0 would make it meaningless). */
  repliesChecked: number;
  outboundHops: number[];
  bargeInReactions: number[];
  /** Per barge-in: bytes of audio received after it and before the emulator created the next response. */
  staleBytes: number[];
}

export function joinWindow(load: LoadgenLog, emu: EmulatorLog): Joined {
  const received = new Map<number, number>();
  for (let i = 0; i < emu.appendTags.length; i++) received.set(emu.appendTags[i]!, emu.appendAt[i]!);
  const inboundHops: number[] = [];
  let lostFrames = 0;
  for (let i = 0; i < load.sentTags.length; i++) {
    const at = received.get(load.sentTags[i]!);
    if (at === undefined) lostFrames++;
    else inboundHops.push(at - load.sentAt[i]!);
  }

  // Per call, in time order.
  const audio = new Map<number, Array<{ at: number; bytes: number }>>();
  for (let i = 0; i < load.audioCall.length; i++) {
    const list = audio.get(load.audioCall[i]!) ?? [];
    list.push({ at: load.audioAt[i]!, bytes: load.audioBytes[i]! });
    audio.set(load.audioCall[i]!, list);
  }
  for (const list of audio.values()) list.sort((a, b) => a.at - b.at);
  const eventsOf = new Map<number, EmulatorLog['events']>();
  for (const e of emu.events) {
    const list = eventsOf.get(e.call) ?? [];
    list.push(e);
    eventsOf.set(e.call, list);
  }
  for (const list of eventsOf.values()) list.sort((a, b) => a.at - b.at);

  const inWindow = (at: number) => at >= load.windowStart && at <= load.windowEnd;
  const outboundHops: number[] = [];
  for (const [call, events] of eventsOf) {
    const chunks = audio.get(call) ?? [];
    for (const e of events) {
      if (e.kind !== 'first-delta' || !inWindow(e.at)) continue;
      const first = chunks.find((c) => c.at >= e.at);
      if (first) outboundHops.push(first.at - e.at);
    }
  }

  const bargeInReactions: number[] = [];
  const staleBytes: number[] = [];
  const used = new Set<object>();
  for (const b of load.bargeIns) {
    if (!inWindow(b.at)) continue;
    const events = eventsOf.get(b.call) ?? [];
    const started = events.filter((e) => e.kind === 'speech-started' && e.at <= b.at && !used.has(e)).at(-1);
    if (started) {
      used.add(started);
      bargeInReactions.push(b.at - started.at);
    }
    const next = events.find((e) => e.kind === 'created' && e.at > b.at);
    const until = next?.at ?? Number.POSITIVE_INFINITY;
    staleBytes.push((audio.get(b.call) ?? []).filter((c) => c.at > b.at && c.at < until).reduce((sum, c) => sum + c.bytes, 0));
  }
  // Each reply's audio is what the caller received from its first delta until the next reply's.
  let missingBytes = 0;
  let repliesChecked = 0;
  const repliesOf = new Map<number, EmulatorLog['replies']>();
  for (const r of emu.replies) repliesOf.set(r.call, [...(repliesOf.get(r.call) ?? []), r]);
  for (const [call, replies] of repliesOf) {
    replies.sort((a, b) => a.firstDeltaAt - b.firstDeltaAt);
    const chunks = audio.get(call) ?? [];
    replies.forEach((reply, i) => {
      if (reply.firstDeltaAt < load.windowStart || reply.firstDeltaAt > load.windowEnd - REPLY_SETTLE_MS) return;
      repliesChecked++;
      const until = replies[i + 1]?.firstDeltaAt ?? Number.POSITIVE_INFINITY;
      const received = chunks.filter((c) => c.at >= reply.firstDeltaAt && c.at < until).reduce((sum, c) => sum + c.bytes, 0);
      missingBytes += Math.max(0, reply.bytes - received);
    });
  }
  return { inboundHops, lostFrames, missingBotMs: missingBytes / 8, repliesChecked, outboundHops, bargeInReactions, staleBytes };
}
