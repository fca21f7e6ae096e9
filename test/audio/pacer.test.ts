import { describe, expect, it } from 'vitest';
import { OutboundPacer, type OutboundPacerOptions } from '../../src/audio/pacer.js';
import { ManualClock, type Clock, type TimerHandle } from '../../src/util/clock.js';

interface SentRecord {
  at: number;
  frame: Uint8Array;
}

function setup(options: Partial<OutboundPacerOptions> = {}) {
  return setupWith(new ManualClock(1000), options);
}

function setupWith<C extends Clock>(clock: C, options: Partial<OutboundPacerOptions> = {}) {
  const sent: SentRecord[] = [];
  let accept = true;
  const pacer = new OutboundPacer({
    clock,
    send: (frame) => {
      if (!accept) return false;
      sent.push({ at: clock.now(), frame });
      return true;
    },
    ...options,
  });
  return {
    pacer,
    clock,
    sent,
    setAccept: (value: boolean) => {
      accept = value;
    },
  };
}

/** Audio whose byte i is (seed + i) % 256, so tests can tell which bytes went out. */
function audio(bytes: number, seed = 0): Uint8Array {
  return Uint8Array.from({ length: bytes }, (_, i) => (seed + i) % 256);
}

/** Independent caller-side playout model: each frame plays on arrival if idle, else after the previous one. */
function leadsAtSends(sent: SentRecord[]): number[] {
  let freeAt = Number.NEGATIVE_INFINITY;
  return sent.map(({ at, frame }) => {
    freeAt = Math.max(at, freeAt) + frame.length / 8;
    return freeAt - at;
  });
}

const T0 = 1000;

describe('OutboundPacer framing and cadence', () => {
  it('sends fixed 1600-byte frames, the first lead immediately, then one frame every 200 ms', () => {
    const { pacer, clock, sent } = setup();
    pacer.enqueue('r1', 'i1', audio(16_000)); // 2 s, arrives faster than real time
    expect(sent.map((s) => s.at)).toEqual([T0, T0]);
    clock.advance(2000);
    expect(sent.every((s) => s.frame.length === 1600)).toBe(true);
    expect(sent.map((s) => s.at - T0)).toEqual([0, 0, 200, 400, 600, 800, 1000, 1200, 1400, 1600]);
    // Bytes go out in order, unchanged.
    const joined = Buffer.concat(sent.map((s) => s.frame));
    expect(joined.equals(Buffer.from(audio(16_000)))).toBe(true);
    expect(pacer.stats.framesSent).toBe(10);
    expect(pacer.stats.bytesSent).toBe(16_000);
  });

  it('never leads the estimated playhead by more than maxLeadMs, whatever the delta sizes', () => {
    const { pacer, clock, sent } = setup({ frameMs: 100, maxLeadMs: 300 });
    // Irregular deltas: bursts faster than real time, then a stall, then a trickle.
    const sizes = [37, 2400, 801, 5, 9000, 160, 1];
    let seed = 0;
    for (const size of sizes) {
      pacer.enqueue('r1', 'i1', audio(size, seed));
      seed += size;
      clock.advance(170);
    }
    clock.advance(3000);
    for (let i = 0; i < 40; i++) {
      pacer.enqueue('r1', 'i1', audio(160, seed));
      seed += 160;
      clock.advance(20);
    }
    pacer.endResponse('r1');
    clock.advance(10_000);
    const leads = leadsAtSends(sent);
    expect(Math.max(...leads)).toBeLessThanOrEqual(300);
    expect(pacer.stats.maxLeadMs).toBeLessThanOrEqual(300);
    expect(pacer.stats.maxLeadMs).toBe(Math.max(...leads));
    expect(sent.slice(0, -1).every((s) => s.frame.length === 800)).toBe(true);
    expect(Buffer.concat(sent.map((s) => s.frame)).equals(Buffer.from(audio(seed)))).toBe(true);
  });

  it('keeps real-time cadence without drift when timers fire late', () => {
    const manual = new ManualClock(T0);
    const lateMs = 30;
    const lateClock: Clock = {
      now: () => manual.now(),
      setTimeout: (cb, ms): TimerHandle => manual.setTimeout(cb, ms + lateMs),
      clearTimeout: (h) => manual.clearTimeout(h),
    };
    const { pacer, sent } = setupWith(lateClock);
    pacer.enqueue('r1', 'i1', audio(1600 * 50));
    manual.advance(20_000);
    expect(sent).toHaveLength(50);
    // Frame n (n ≥ 2) is due at (n-1)·200 ms; every send is at most one timer-lateness behind, never more.
    sent.slice(2).forEach((s, k) => {
      const due = T0 + (k + 1) * 200;
      expect(s.at).toBeGreaterThanOrEqual(due);
      expect(s.at).toBeLessThanOrEqual(due + lateMs);
    });
    expect(pacer.stats.lateFrames).toBe(0);
  });

  it('waits for a full frame, and sends the partial last frame only after endResponse', () => {
    const { pacer, clock, sent } = setup();
    pacer.enqueue('r1', 'i1', audio(1000));
    expect(sent).toHaveLength(0);
    pacer.enqueue('r1', 'i1', audio(700, 1000));
    expect(sent.map((s) => s.frame.length)).toEqual([1600]);
    clock.advance(5000);
    expect(sent).toHaveLength(1);
    expect(pacer.isPlaying()).toBe(true); // 100 bytes still queued
    pacer.endResponse('r1');
    expect(sent.map((s) => s.frame.length)).toEqual([1600, 100]);
    expect(Array.from(sent[1]!.frame)).toEqual(Array.from(audio(100, 1600)));
  });

  it('does not mix responses in one frame and sends the next response after the previous one ends', () => {
    const { pacer, clock, sent } = setup();
    pacer.enqueue('r1', 'a', audio(1000, 1));
    pacer.enqueue('r2', 'b', audio(1600, 2));
    expect(sent).toHaveLength(0); // r2 waits behind r1, which may still grow
    pacer.endResponse('r1');
    expect(sent.map((s) => s.frame.length)).toEqual([1000, 1600]);
    expect(sent[0]!.frame[0]).toBe(1);
    expect(sent[1]!.frame[0]).toBe(2);
    clock.advance(1000);
    expect(sent).toHaveLength(2);
  });

  it('counts a gap inside a response as a late frame', () => {
    const { pacer, clock } = setup();
    pacer.enqueue('r1', 'i1', audio(1600));
    clock.advance(500); // the model stalls: the playhead runs dry at 200 ms
    pacer.enqueue('r1', 'i1', audio(1600));
    expect(pacer.stats.lateFrames).toBe(1);
    expect(pacer.stats.framesSent).toBe(2);
  });

  it('rejects configurations that would break the frame or lead bounds', () => {
    const clock = new ManualClock();
    const send = (): boolean => true;
    expect(() => new OutboundPacer({ clock, send, frameMs: 8001, maxLeadMs: 9000 })).toThrow(/64000/);
    expect(() => new OutboundPacer({ clock, send, frameMs: 200, maxLeadMs: 100 })).toThrow(/maxLeadMs/);
    expect(() => new OutboundPacer({ clock, send, frameMs: 0 })).toThrow(/frameMs/);
    const big = new OutboundPacer({ clock, send, frameMs: 8000, maxLeadMs: 8000 });
    expect(big.frameBytes).toBe(64_000);
  });
});

describe('OutboundPacer barge-in and control', () => {
  it('dropResponse drops every unsent byte, including later enqueues, and returns the count', () => {
    const { pacer, clock, sent } = setup();
    pacer.enqueue('r1', 'i1', audio(8000)); // 1 s
    clock.advance(300); // frames at 0, 0, 200 → 4800 sent
    expect(sent).toHaveLength(3);
    expect(pacer.dropResponse('r1')).toBe(3200);
    pacer.enqueue('r1', 'i1', audio(1600));
    pacer.endResponse('r1');
    clock.advance(5000);
    expect(sent).toHaveLength(3);
    expect(pacer.stats.droppedBytes).toBe(3200);
    expect(pacer.stats.ignoredBytes).toBe(1600);
    expect(pacer.isPlaying()).toBe(false);
    expect(clock.pending).toBe(0);
  });

  it('a new response after a drop starts immediately on an idle playhead', () => {
    const { pacer, clock, sent } = setup();
    pacer.enqueue('r1', 'i1', audio(8000));
    clock.advance(100);
    pacer.dropResponse('r1');
    pacer.enqueue('r2', 'i2', audio(4800, 7));
    expect(sent.slice(2).map((s) => [s.at - T0, s.frame[0]])).toEqual([
      [100, 7],
      [100, (7 + 1600) % 256],
    ]);
  });

  it('dropAll drops everything and resolves whenDrained at once', async () => {
    const { pacer, clock, sent } = setup();
    pacer.enqueue('r1', 'i1', audio(4000));
    pacer.enqueue('r2', 'i2', audio(4000));
    const drained = pacer.whenDrained();
    clock.advance(100);
    expect(pacer.dropAll()).toBe(4000 - 3200 + 4000);
    await drained;
    clock.advance(2000);
    expect(sent).toHaveLength(2);
  });

  // A Genesys 429 hold is the protocol session's: it refuses send() meanwhile (test/audiohook/rate-limit.test.ts).
  it('while send refuses (a Genesys 429 hold) nothing is lost: the queue waits, then resumes with the lead', () => {
    const { pacer, clock, sent, setAccept } = setup();
    setAccept(false);
    pacer.enqueue('r1', 'i1', audio(8000));
    clock.advance(999);
    expect(sent).toHaveLength(0);
    setAccept(true);
    clock.advance(1);
    expect(sent.map((s) => s.at - T0)).toEqual([1000, 1000]);
    setAccept(false);
    clock.advance(500);
    expect(sent).toHaveLength(2);
    setAccept(true);
    clock.advance(200);
    // The playhead ran dry during the refusal, so the full lead goes out again at the next retry.
    expect(sent.slice(2).map((s) => s.at - T0)).toEqual([1600, 1600]);
    expect(Buffer.concat(sent.map((s) => s.frame)).equals(Buffer.from(audio(6400)))).toBe(true);
  });

  it('stop() sends nothing more, clears timers and releases whenDrained', async () => {
    const { pacer, clock, sent } = setup();
    pacer.enqueue('r1', 'i1', audio(16_000));
    const drained = pacer.whenDrained();
    pacer.stop();
    await drained;
    expect(clock.pending).toBe(0);
    pacer.enqueue('r1', 'i1', audio(1600));
    pacer.endResponse('r1');
    pacer.playbackCompleted();
    clock.advance(5000);
    expect(sent).toHaveLength(2);
    expect(pacer.isPlaying()).toBe(false);
    await pacer.whenDrained();
  });

  it('stop() from inside send stops the loop', () => {
    const clock = new ManualClock();
    let sends = 0;
    const pacer: OutboundPacer = new OutboundPacer({
      clock,
      send: () => {
        sends++;
        pacer.stop();
        return true;
      },
    });
    pacer.enqueue('r1', 'i1', audio(16_000));
    clock.advance(5000);
    expect(sends).toBe(1);
  });

  it('retries a refused frame later and never counts it as sent', () => {
    const { pacer, clock, sent, setAccept } = setup();
    setAccept(false);
    pacer.enqueue('r1', 'i1', audio(3200));
    clock.advance(1000);
    expect(sent).toHaveLength(0);
    expect(pacer.stats.refusedSends).toBeGreaterThan(0);
    expect(pacer.progress('i1')).toEqual({ receivedMs: 400, sentMs: 0, playedMs: 0 });
    setAccept(true);
    clock.advance(200);
    expect(sent).toHaveLength(2);
    expect(Buffer.concat(sent.map((s) => s.frame)).equals(Buffer.from(audio(3200)))).toBe(true);
  });

  it('bounds the queue: drops the oldest unsent audio and reports it', () => {
    const overflows: Array<{ droppedBytes: number; queuedBytes: number }> = [];
    const { pacer, clock, sent, setAccept } = setup({ maxQueuedMs: 1000, onOverflow: (info) => overflows.push(info) });
    setAccept(false); // e.g. a Genesys 429 hold
    pacer.enqueue('r1', 'i1', audio(6000, 0));
    pacer.enqueue('r1', 'i1', audio(6000, 6000 % 256));
    expect(overflows).toEqual([{ droppedBytes: 4000, queuedBytes: 8000 }]);
    expect(pacer.queuedMs).toBe(1000);
    expect(pacer.stats.overflowBytes).toBe(4000);
    pacer.endResponse('r1');
    setAccept(true);
    clock.advance(20_000);
    const out = Buffer.concat(sent.map((s) => s.frame));
    expect(out.length).toBe(8000);
    expect(out.equals(Buffer.from(audio(12_000).subarray(4000)))).toBe(true);
  });
});

describe('OutboundPacer playout accounting', () => {
  it('estimates played ms per item from the send timeline', () => {
    const { pacer, clock } = setup();
    pacer.enqueue('r1', 'i1', audio(8000)); // 1000 ms
    pacer.endResponse('r1');
    expect(pacer.progress('i1')).toEqual({ receivedMs: 1000, sentMs: 400, playedMs: 0 });
    clock.advance(250);
    expect(pacer.progress('i1')).toEqual({ receivedMs: 1000, sentMs: 600, playedMs: 250 });
    expect(pacer.playingItems()).toEqual([
      { itemId: 'i1', responseId: 'r1', interrupted: false, receivedMs: 1000, sentMs: 600, playedMs: 250 },
    ]);
    clock.advance(750);
    expect(pacer.progress('i1')).toEqual({ receivedMs: 1000, sentMs: 1000, playedMs: 1000 });
    expect(pacer.playingItems()).toEqual([]);
    expect(pacer.isPlaying()).toBe(false);
    expect(pacer.progress('unknown')).toEqual({ receivedMs: 0, sentMs: 0, playedMs: 0 });
  });

  it('splits a frame that spans two items between them', () => {
    const { pacer, clock } = setup();
    pacer.enqueue('r1', 'a', audio(1000));
    pacer.enqueue('r1', 'b', audio(1000));
    pacer.endResponse('r1');
    clock.advance(150); // 1200 bytes played: all of a (1000), 200 of b
    expect(pacer.progress('a')).toEqual({ receivedMs: 125, sentMs: 125, playedMs: 125 });
    expect(pacer.progress('b')).toEqual({ receivedMs: 125, sentMs: 125, playedMs: 25 });
    expect(pacer.playingItems().map((p) => p.itemId)).toEqual(['b']);
  });

  it('a gap makes the playhead idle: the next frame plays on arrival', () => {
    const { pacer, clock } = setup();
    pacer.enqueue('r1', 'a', audio(800));
    pacer.endResponse('r1');
    clock.advance(1000);
    pacer.enqueue('r2', 'b', audio(1600));
    clock.advance(100);
    expect(pacer.progress('b').playedMs).toBe(100);
  });

  it('dropResponse freezes played at the cut and still lists the item once for truncation', () => {
    const { pacer, clock } = setup();
    pacer.enqueue('r1', 'i1', audio(16_000));
    clock.advance(330);
    pacer.dropResponse('r1');
    const playing = pacer.playingItems();
    expect(playing).toEqual([{ itemId: 'i1', responseId: 'r1', interrupted: true, receivedMs: 2000, sentMs: 600, playedMs: 330 }]);
    clock.advance(1000);
    expect(pacer.progress('i1').playedMs).toBe(330);
    expect(pacer.isPlaying()).toBe(false);
    // The next response's first frame clears the interrupted list.
    pacer.enqueue('r2', 'i2', audio(1600));
    expect(pacer.playingItems().map((p) => p.itemId)).toEqual(['i2']);
  });

  it('a drop lists items whose audio was never sent, so they can be truncated to 0', () => {
    const { pacer, clock, setAccept } = setup();
    setAccept(false); // e.g. a Genesys 429 hold
    pacer.enqueue('r1', 'held', audio(3200));
    clock.advance(100);
    pacer.dropAll();
    expect(pacer.playingItems()).toEqual([
      { itemId: 'held', responseId: 'r1', interrupted: true, receivedMs: 400, sentMs: 0, playedMs: 0 },
    ]);
  });

  it('a drop lists an item fully played so far whose tail was still queued', () => {
    const { pacer, clock } = setup();
    pacer.enqueue('r1', 'i1', audio(2000)); // one frame out, 400 bytes wait for more
    clock.advance(500); // the frame has played; the model is slow
    expect(pacer.playingItems()).toEqual([]);
    pacer.dropResponse('r1');
    expect(pacer.playingItems()).toEqual([
      { itemId: 'i1', responseId: 'r1', interrupted: true, receivedMs: 250, sentMs: 200, playedMs: 200 },
    ]);
  });

  it('dropping a later response keeps the timing of an earlier one still playing', () => {
    const { pacer, clock } = setup({ maxLeadMs: 600 });
    pacer.enqueue('r1', 'a', audio(1600));
    pacer.endResponse('r1');
    pacer.enqueue('r2', 'b', audio(6400)); // a plays 0–200, b's first frames 200–600
    clock.advance(100);
    pacer.dropResponse('r2');
    expect(pacer.progress('a').playedMs).toBe(100);
    expect(pacer.progress('b')).toEqual({ receivedMs: 800, sentMs: 400, playedMs: 0 });
    clock.advance(100);
    expect(pacer.progress('a').playedMs).toBe(200);
    expect(pacer.isPlaying()).toBe(false);
  });

  it('playbackCompleted marks everything sent as played and lets the next frames go', () => {
    const { pacer, clock, sent } = setup();
    pacer.enqueue('r1', 'i1', audio(1600));
    pacer.endResponse('r1');
    clock.advance(250);
    pacer.enqueue('r2', 'i2', audio(16_000));
    expect(sent).toHaveLength(3); // i1, then two i2 frames (idle playhead)
    clock.advance(400); // t=650: i2 frames at 250, 250, 450, 650 → free at 1050
    expect(pacer.progress('i2').playedMs).toBe(400);
    clock.advance(200); // t=850: another frame goes out; 600 ms of i2 played (estimate)
    expect(pacer.progress('i2')).toEqual({ receivedMs: 2000, sentMs: 1000, playedMs: 600 });
    // Genesys says its buffer is empty: frames that could have finished in real time (sent at 250, 250, 450,
    // 650) are played; the one sent at 850 cannot have been, so it keeps its estimate.
    pacer.playbackCompleted();
    const p = pacer.progress('i2');
    expect(p.sentMs).toBe(1200);
    expect(p.playedMs).toBe(800);
    // Lead is now only the frame just sent (re-based to arrive on an idle playhead), so another goes at once.
    expect(sent.filter((s) => s.at - T0 === 850)).toHaveLength(2);
  });

  it('playbackCompleted after the estimate resolves whenDrained at once', async () => {
    const { pacer, clock } = setup();
    pacer.enqueue('r1', 'i1', audio(4000)); // 500 ms
    pacer.endResponse('r1');
    let drained = false;
    const p = pacer.whenDrained().then(() => {
      drained = true;
    });
    clock.advance(450); // everything sent at 0, 0, 200 (800 bytes partial), ends at 500
    await Promise.resolve();
    expect(drained).toBe(false);
    pacer.playbackCompleted();
    await p;
    expect(pacer.progress('i1').playedMs).toBe(500);
  });

  it('whenDrained resolves only when everything queued is sent and played', async () => {
    const { pacer, clock } = setup();
    pacer.enqueue('r1', 'i1', audio(1700)); // a full frame and 100 bytes that wait for endResponse
    let drainedAt: number | undefined;
    const done = pacer.whenDrained().then(() => {
      drainedAt = clock.now();
    });
    clock.advance(2000);
    await Promise.resolve();
    expect(drainedAt).toBeUndefined();
    pacer.endResponse('r1'); // the 100-byte tail goes now and plays 12.5 ms
    clock.advance(12);
    await Promise.resolve();
    expect(drainedAt).toBeUndefined();
    clock.advance(1);
    await done;
    expect(drainedAt).toBe(T0 + 2013);

    const second = setup();
    second.pacer.enqueue('r1', 'i1', audio(8000));
    second.pacer.endResponse('r1');
    let at: number | undefined;
    const waiting = second.pacer.whenDrained().then(() => {
      at = second.clock.now();
    });
    second.clock.advance(999);
    await Promise.resolve();
    expect(at).toBeUndefined();
    second.clock.advance(1);
    await waiting;
    expect(at).toBe(T0 + 1000);
    await second.pacer.whenDrained(); // already drained: resolves at once
  });

  it('playbackStarted re-bases the current burst once when Genesys started later than estimated', () => {
    const { pacer, clock } = setup();
    pacer.enqueue('r1', 'i1', audio(16_000));
    pacer.endResponse('r1');
    clock.advance(80);
    pacer.playbackStarted(); // Genesys started playing at 80, not 0
    expect(pacer.progress('i1').playedMs).toBe(0);
    expect(pacer.leadMs).toBe(400);
    clock.advance(100);
    expect(pacer.progress('i1').playedMs).toBe(100);
    pacer.playbackStarted(); // a second hint for the same burst changes nothing
    expect(pacer.progress('i1').playedMs).toBe(100);
    clock.advance(5000);
    expect(pacer.progress('i1')).toEqual({ receivedMs: 2000, sentMs: 2000, playedMs: 2000 });
  });

  it('forgets old items but keeps the ones in use (bounded memory)', () => {
    const { pacer, clock } = setup();
    for (let i = 0; i < 600; i++) {
      pacer.enqueue(`r${i}`, `i${i}`, audio(160));
      pacer.endResponse(`r${i}`);
      clock.advance(30);
    }
    expect(pacer.progress('i0')).toEqual({ receivedMs: 0, sentMs: 0, playedMs: 0 });
    expect(pacer.progress('i599').receivedMs).toBe(20);
  });
});

describe('OutboundPacer on the system clock', () => {
  it('sends everything in order and drains (no timing assertions)', async () => {
    const { systemClock } = await import('../../src/util/clock.js');
    const frames: Uint8Array[] = [];
    const pacer = new OutboundPacer({ clock: systemClock, send: (f) => (frames.push(f), true), frameMs: 50, maxLeadMs: 100 });
    pacer.enqueue('r1', 'i1', audio(2000)); // 250 ms
    pacer.endResponse('r1');
    await pacer.whenDrained();
    expect(Buffer.concat(frames).equals(Buffer.from(audio(2000)))).toBe(true);
    expect(frames.map((f) => f.length)).toEqual([400, 400, 400, 400, 400]);
    expect(pacer.isPlaying()).toBe(false);
    expect(pacer.stats.maxLeadMs).toBeLessThanOrEqual(100 + 1e-6);
    pacer.stop();
  });
});

describe('OutboundPacer invariants under random operations (seeded)', () => {
  /** Small deterministic PRNG (mulberry32) so failures reproduce. */
  function rng(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`seed ${seed}: frames bounded, lead bounded, dropped responses silent, played ≤ sent ≤ received`, () => {
      const random = rng(seed);
      const clock = new ManualClock(0);
      let accept = true;
      const frames: Array<{ at: number; marker: number; length: number }> = [];
      const pacer = new OutboundPacer({
        clock,
        maxQueuedMs: 5000,
        send: (frame) => {
          if (!accept) return false;
          // Each response's audio is filled with its own marker byte; frames never mix responses.
          expect(frame.every((b) => b === frame[0])).toBe(true);
          frames.push({ at: clock.now(), marker: frame[0]!, length: frame.length });
          return true;
        },
      });
      const droppedAt = new Map<number, number>();
      let current = 1;
      const items = new Set<string>();
      for (let step = 0; step < 400; step++) {
        const r = random();
        if (r < 0.45) {
          const item = `i${current}-${Math.floor(random() * 2)}`;
          items.add(item);
          pacer.enqueue(`r${current}`, item, new Uint8Array(1 + Math.floor(random() * 3000)).fill(current));
        } else if (r < 0.55) {
          pacer.endResponse(`r${current}`);
          current++;
        } else if (r < 0.6) {
          pacer.dropResponse(`r${current}`);
          droppedAt.set(current, clock.now());
          current++;
        } else if (r < 0.63) {
          pacer.dropAll();
          for (let k = 1; k <= current; k++) if (!droppedAt.has(k)) droppedAt.set(k, clock.now());
          current++;
        } else if (r < 0.7) {
          pacer.playbackStarted();
        } else if (r < 0.74) {
          pacer.playbackCompleted();
        } else if (r < 0.78) {
          accept = !accept;
        } else {
          clock.advance(Math.floor(random() * 400));
        }
        expect(pacer.stats.maxLeadMs).toBeLessThanOrEqual(400 + 1e-6);
        for (const id of items) {
          const p = pacer.progress(id);
          expect(p.playedMs).toBeLessThanOrEqual(p.sentMs);
          expect(p.sentMs).toBeLessThanOrEqual(p.receivedMs);
          expect(p.playedMs).toBeGreaterThanOrEqual(0);
        }
        expect(pacer.queuedMs).toBeLessThanOrEqual(5000);
      }
      accept = true;
      clock.advance(200_000);
      expect(frames.every((f) => f.length > 0 && f.length <= 1600)).toBe(true);
      for (const f of frames) {
        const dropped = droppedAt.get(f.marker);
        if (dropped !== undefined) expect(f.at).toBeLessThanOrEqual(dropped);
      }
      expect(pacer.stats.bytesSent).toBe(frames.reduce((n, f) => n + f.length, 0));
      expect(clock.pending).toBeLessThanOrEqual(0 + (pacer.isPlaying() ? 1 : 0));
    });
  }
});

describe('OutboundPacer re-entrancy', () => {
  it('a drop from inside send() stops that response at once', () => {
    const clock = new ManualClock();
    const sent: Uint8Array[] = [];
    const pacer: OutboundPacer = new OutboundPacer({
      clock,
      send: (frame) => {
        sent.push(frame);
        if (sent.length === 1) pacer.dropResponse('r1');
        return true;
      },
    });
    pacer.enqueue('r1', 'i1', audio(16_000));
    clock.advance(5000);
    expect(sent).toHaveLength(1);
    expect(pacer.stats.framesSent).toBe(1);
    expect(pacer.isPlaying()).toBe(false);
  });
});
