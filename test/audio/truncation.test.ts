import { describe, expect, it } from 'vitest';
import { planBargeInTruncation, truncateAudioEndMs } from '../../src/audio/truncation.js';
import { OutboundPacer } from '../../src/audio/pacer.js';
import { ManualClock } from '../../src/util/clock.js';

describe('truncateAudioEndMs', () => {
  it('is floor(min(sent, played))', () => {
    expect(truncateAudioEndMs({ receivedMs: 5000, sentMs: 1200, playedMs: 830.9 })).toBe(830);
    expect(truncateAudioEndMs({ receivedMs: 5000, sentMs: 700.5, playedMs: 900 })).toBe(700);
  });

  it('never exceeds the audio received for the item', () => {
    expect(truncateAudioEndMs({ receivedMs: 400.5, sentMs: 900, playedMs: 900 })).toBe(400);
  });

  it('is never negative and treats non-finite values as 0', () => {
    expect(truncateAudioEndMs({ receivedMs: 100, sentMs: 50, playedMs: -20 })).toBe(0);
    expect(truncateAudioEndMs({ receivedMs: 100, sentMs: Number.NaN, playedMs: 50 })).toBe(0);
    expect(truncateAudioEndMs({ receivedMs: Number.POSITIVE_INFINITY, sentMs: 80, playedMs: 60 })).toBe(0);
    expect(truncateAudioEndMs({ receivedMs: 0, sentMs: 0, playedMs: 0 })).toBe(0);
  });
});

describe('planBargeInTruncation', () => {
  it('cuts the item being heard and zeroes later items that were sent but not heard', () => {
    expect(
      planBargeInTruncation([
        { itemId: 'a', receivedMs: 800, sentMs: 800, playedMs: 800 },
        { itemId: 'b', receivedMs: 3000, sentMs: 1400, playedMs: 1012.7 },
        { itemId: 'c', receivedMs: 500, sentMs: 200, playedMs: 0 },
        { itemId: 'd', receivedMs: 500, sentMs: 0, playedMs: 0 },
      ]),
    ).toEqual([
      { itemId: 'a', audioEndMs: 800 },
      { itemId: 'b', audioEndMs: 1012 },
      { itemId: 'c', audioEndMs: 0 },
    ]);
  });

  it('an item whose rest was never sent stops the heard run too', () => {
    expect(
      planBargeInTruncation([
        { itemId: 'a', receivedMs: 900, sentMs: 600, playedMs: 600 },
        { itemId: 'b', receivedMs: 100, sentMs: 100, playedMs: 100 },
      ]),
    ).toEqual([
      { itemId: 'a', audioEndMs: 600 },
      { itemId: 'b', audioEndMs: 0 },
    ]);
  });

  it('skips items with no audio from the model', () => {
    expect(planBargeInTruncation([{ itemId: 'x', receivedMs: 0, sentMs: 0, playedMs: 0 }])).toEqual([]);
  });

  it('works on the pacer estimate after a drop (barge-in flow)', () => {
    const clock = new ManualClock();
    const pacer = new OutboundPacer({ clock, send: () => true });
    pacer.enqueue('r1', 'item_1', new Uint8Array(24_000).fill(0x10)); // 3 s
    clock.advance(1234);
    pacer.dropResponse('r1');
    expect(planBargeInTruncation(pacer.playingItems())).toEqual([{ itemId: 'item_1', audioEndMs: 1234 }]);
  });
});
