/** One malformed media offer must never fail an `open`, and a probe must never fail over media. */
import { describe, expect, it } from 'vitest';
import { expectWellSequenced, makeHarness, NULL_UUID, PCMU_MONO } from './harness.js';

const GARBAGE_OFFERS: unknown[] = [
  { type: 'audio', format: 'PCMU', channels: 'external', rate: 8000 },
  { type: 'audio', format: 42, channels: ['external'], rate: '8000' },
  { type: 'audio', format: 'opus', channels: ['external'], rate: 48000 },
  null,
  'PCMU',
  17,
  [],
  { channels: null },
];

describe('lenient media offers in open', () => {
  it('an open with a garbage offer next to a good PCMU offer succeeds and echoes the good one verbatim', () => {
    const h = makeHarness();
    const good = { ...PCMU_MONO, vendorHint: { x: 1 } };
    h.client.open({ media: [GARBAGE_OFFERS[0], good] });

    expect(h.socket.types).toEqual(['opened']);
    const opened = JSON.parse(h.socket.texts[0]!) as { parameters: { media: unknown[] } };
    expect(opened.parameters.media).toEqual([good]);
    // Verbatim means the same key order too.
    expect(JSON.stringify(opened.parameters.media[0])).toBe(JSON.stringify(good));
    expect(h.session.state).toBe('active');
    expect(h.contexts).toHaveLength(1);
    expect(h.contexts[0]!.layout).toEqual({ type: 'audio', format: 'PCMU', channels: ['external'], rate: 8000 });
  });

  it('every kind of garbage entry is skipped, wherever it stands', () => {
    const h = makeHarness();
    h.client.open({ media: [...GARBAGE_OFFERS.slice(0, 4), PCMU_MONO, ...GARBAGE_OFFERS.slice(4)] });
    expect(h.socket.last().type).toBe('opened');
    expect(h.socket.last().parameters).toMatchObject({ media: [PCMU_MONO] });
  });

  it('a probe offering only garbage gets opened with media []', () => {
    const h = makeHarness();
    h.client.open({ conversationId: NULL_UUID, participant: { id: NULL_UUID, ani: '', aniName: '', dnis: '' }, media: GARBAGE_OFFERS });
    expect(h.socket.types).toEqual(['opened']);
    expect(h.socket.last().parameters).toEqual({ startPaused: false, media: [] });
    expect(h.contexts).toHaveLength(0);
    expectWellSequenced(h.socket);
  });

  it('a real call offering only garbage is still refused with a clear disconnect error', () => {
    const h = makeHarness();
    h.client.open({ media: GARBAGE_OFFERS });
    expect(h.socket.types).toEqual(['disconnect']);
    expect(h.socket.last().parameters).toMatchObject({ reason: 'error' });
    expect(String((h.socket.last().parameters as { info?: string }).info)).toMatch(/no usable media/);
  });

  it('media that is not an array at all is still an invalid open', () => {
    const h = makeHarness();
    h.client.open({ media: { type: 'audio' } });
    expect(h.socket.types).toEqual(['disconnect']);
    expect(String((h.socket.last().parameters as { info?: string }).info)).toMatch(/invalid open message: parameters.media/);
  });
});
