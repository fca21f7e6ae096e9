import { describe, expect, it } from 'vitest';
import { ULAW_ENCODE, writeL16 } from '../../src/audio/codec.js';
import { describeOffers, selectMedia, splitIntoMessages } from '../../src/audiohook/media.js';
import { bytes, makeHarness, PCMU_MONO } from './harness.js';

const PCMU_STEREO = { type: 'audio', format: 'PCMU', channels: ['external', 'internal'], rate: 8000 };
const PCMU_INVERTED = { type: 'audio', format: 'PCMU', channels: ['internal', 'external'], rate: 8000 };
const PCMU_INTERNAL = { type: 'audio', format: 'PCMU', channels: ['internal'], rate: 8000 };
const L16_MONO = { type: 'audio', format: 'L16', channels: ['external'], rate: 8000 };
const L16_STEREO = { type: 'audio', format: 'L16', channels: ['external', 'internal'], rate: 8000 };

describe('selectMedia', () => {
  it('prefers PCMU [external] > PCMU stereo > L16 [external] > L16 stereo, whatever the offer order', () => {
    expect(selectMedia([L16_STEREO, L16_MONO, PCMU_STEREO, PCMU_MONO])?.offer).toBe(PCMU_MONO);
    expect(selectMedia([L16_STEREO, L16_MONO, PCMU_STEREO])?.offer).toBe(PCMU_STEREO);
    expect(selectMedia([L16_STEREO, L16_MONO, PCMU_INTERNAL])?.offer).toBe(L16_MONO);
    expect(selectMedia([L16_STEREO, PCMU_INTERNAL])?.offer).toBe(L16_STEREO);
  });

  it('keeps the client order among equally good offers', () => {
    const choice = selectMedia([PCMU_INVERTED, PCMU_STEREO]);
    expect(choice?.offer).toBe(PCMU_INVERTED);
    expect(choice?.index).toBe(0);
    expect(choice?.layout.channels).toEqual(['internal', 'external']);
  });

  it('rejects offers without the external channel, other rates, formats, duplicates or junk', () => {
    expect(
      selectMedia([
        PCMU_INTERNAL,
        { ...PCMU_MONO, rate: 16000 },
        { ...PCMU_MONO, format: 'opus' },
        { ...PCMU_MONO, type: 'video' },
        { ...PCMU_MONO, channels: ['external', 'external'] },
        { ...PCMU_MONO, channels: [] },
        null,
        'PCMU',
      ]),
    ).toBeNull();
    expect(selectMedia([])).toBeNull();
  });

  it('returns the offered object itself (unknown keys included) for a verbatim echo', () => {
    const offer = { rate: 8000, channels: ['external'], type: 'audio', format: 'PCMU', vendorHint: 7 };
    expect(selectMedia([offer])?.offer).toBe(offer);
  });
});

describe('describeOffers', () => {
  it('is short and bounded', () => {
    expect(describeOffers([])).toBe('none');
    expect(describeOffers([PCMU_INVERTED, 'x'])).toBe('PCMU/8000/[internal,external], x');
    const many = Array.from({ length: 8 }, () => ({ ...PCMU_MONO, format: 'F'.repeat(100) }));
    const text = describeOffers(many);
    expect(text).toContain('(+3 more)');
    expect(text.length).toBeLessThan(300);
  });
});

describe('splitIntoMessages', () => {
  const mono = { format: 'PCMU', channels: ['external'] } as const;
  const l16Stereo = { format: 'L16', channels: ['external', 'internal'] } as const;

  it('splits at 64,000 bytes on whole sample frames, covering every byte in order', () => {
    const data = Uint8Array.from({ length: 150_000 }, (_, i) => i & 0xff);
    const parts = splitIntoMessages(data, mono);
    expect(parts.map((p) => p.length)).toEqual([64_000, 64_000, 22_000]);
    expect(Buffer.concat(parts).equals(Buffer.from(data))).toBe(true);
  });

  it('respects 4-byte frames for L16 stereo (64,000 is a multiple) and a smaller cap', () => {
    expect(splitIntoMessages(bytes(128_004), l16Stereo).map((p) => p.length)).toEqual([64_000, 64_000, 4]);
    expect(splitIntoMessages(bytes(20), l16Stereo, 6).map((p) => p.length)).toEqual([4, 4, 4, 4, 4]);
  });

  it('empty in, nothing out; a trailing partial frame is never put on the wire', () => {
    expect(splitIntoMessages(new Uint8Array(0), mono)).toEqual([]);
    expect(splitIntoMessages(bytes(10), l16Stereo).map((p) => p.length)).toEqual([8]);
    expect(() => splitIntoMessages(bytes(10), l16Stereo, 3)).toThrow(RangeError);
  });
});

describe('AudioHook session: media negotiation and de-interleaving', () => {
  it('stereo PCMU [external, internal]: echoed verbatim, external channel delivered', () => {
    const h = makeHarness();
    h.client.open({ media: [PCMU_STEREO, PCMU_MONO] });
    // PCMU mono wins over stereo even if listed second.
    expect(h.socket.last().parameters).toMatchObject({ media: [PCMU_MONO] });

    const s = makeHarness();
    s.client.open({ media: [PCMU_STEREO, L16_MONO] });
    expect(s.socket.last().parameters).toMatchObject({ media: [PCMU_STEREO] });
    s.client.audio(Uint8Array.from([1, 101, 2, 102, 3, 103]), 2); // E0 I0 E1 I1 E2 I2
    expect(s.calls[0]!.args).toEqual([Uint8Array.from([1, 2, 3]), 0]);
    s.client.audio(Uint8Array.from([4, 104]), 2);
    expect(s.calls[1]!.args[1]).toBe(3 / 8);
  });

  it('inverted channel order [internal, external]: echoed in that order and de-interleaved right', () => {
    const h = makeHarness();
    h.client.open({ media: [PCMU_INVERTED, L16_MONO] });
    const echoed = h.socket.texts[0]!;
    expect(echoed).toContain('"media":[{"type":"audio","format":"PCMU","channels":["internal","external"],"rate":8000}]');
    expect(h.contexts[0]!.layout.channels).toEqual(['internal', 'external']);
    h.client.audio(Uint8Array.from([101, 1, 102, 2]), 2); // I0 E0 I1 E1
    expect(h.calls[0]!.args[0]).toEqual(Uint8Array.from([1, 2]));
  });

  it('echoes the offered entry byte-for-byte: key order and unknown keys preserved', () => {
    const h = makeHarness();
    const offer = { rate: 8000, format: 'PCMU', type: 'audio', channels: ['external'], extra: { k: [1, 2] } };
    h.client.open({ media: [offer] });
    expect(h.socket.texts[0]).toContain(`"media":[${JSON.stringify(offer)}]`);
  });

  it('L16 mono: caller audio converted to μ-law for the handler', () => {
    const h = makeHarness();
    h.client.open({ media: [L16_MONO, { ...PCMU_MONO, rate: 16000 }] });
    expect(h.socket.last().parameters).toMatchObject({ media: [L16_MONO] });
    const samples = Int16Array.from([0, 1000, -1000, 32767]);
    h.client.audio(writeL16(samples), 2);
    expect(h.calls[0]!.args[0]).toEqual(Uint8Array.from(samples, (s) => ULAW_ENCODE[s + 32768]!));
  });

  it('L16 stereo [internal, external]: external samples extracted in order', () => {
    const h = makeHarness();
    h.client.open({ media: [{ ...L16_STEREO, channels: ['internal', 'external'] }] });
    const interleaved = Int16Array.from([111, 500, 222, -500]); // I0 E0 I1 E1
    h.session.handleBinary(writeL16(interleaved));
    expect(h.calls[0]!.args[0]).toEqual(Uint8Array.from([500, -500], (s) => ULAW_ENCODE[s + 32768]!));
    // 4-byte sample frames: 6 bytes is a partial frame.
    h.session.handleBinary(bytes(6));
    expect(h.socket.last().parameters).toMatchObject({ reason: 'error' });
  });
});

describe('AudioHook session: outbound audio', () => {
  it('splits bot audio into binary messages of at most 64,000 bytes', () => {
    const h = makeHarness();
    h.client.open();
    const ulaw = Uint8Array.from({ length: 130_000 }, (_, i) => i % 251);
    expect(h.control.sendAudio(ulaw)).toBe(true);
    expect(h.socket.binaries.map((b) => b.length)).toEqual([64_000, 64_000, 2_000]);
    expect(Buffer.concat(h.socket.binaries).equals(Buffer.from(ulaw))).toBe(true);
    // Binary frames do not consume JSON seq numbers.
    h.client.send('ping', {});
    expect(h.socket.last()).toMatchObject({ type: 'pong', seq: 2 });
  });

  it('converts to the negotiated layout: PCMU stereo duplicates, L16 doubles, both split on whole frames', () => {
    const s = makeHarness();
    s.client.open({ media: [PCMU_STEREO] });
    expect(s.control.sendAudio(Uint8Array.from([7, 8]))).toBe(true);
    expect(s.socket.binaries).toEqual([Uint8Array.from([7, 7, 8, 8])]);

    const l = makeHarness();
    l.client.open({ media: [L16_STEREO] });
    expect(l.control.sendAudio(bytes(20_000, 0xff))).toBe(true);
    expect(l.socket.binaries.map((b) => b.length)).toEqual([64_000, 16_000]);
    expect(l.socket.binaries.every((b) => b.length % 4 === 0)).toBe(true);
  });

  it('is refused before open, while paused, after disconnect and once closed', async () => {
    const h = makeHarness();
    h.client.open();
    h.client.send('paused', {});
    expect(h.control.sendAudio(bytes(160))).toBe(false);
    h.client.send('resumed', { start: 'PT0S', discarded: 'PT0S' });
    expect(h.control.sendAudio(bytes(160))).toBe(true);
    h.control.disconnect('completed');
    expect(h.control.sendAudio(bytes(160))).toBe(false);
    h.client.send('close', { reason: 'disconnect' });
    expect(h.control.sendAudio(bytes(160))).toBe(false);
    await h.session.finished;
    expect(h.control.sendAudio(bytes(160))).toBe(false);
    expect(h.socket.binaries).toHaveLength(1);
  });

  it('an empty buffer is accepted and sends nothing', () => {
    const h = makeHarness();
    h.client.open();
    expect(h.control.sendAudio(new Uint8Array(0))).toBe(true);
    expect(h.socket.binaries).toHaveLength(0);
  });

  it('exposes the socket bufferedAmount for back-pressure', () => {
    const h = makeHarness();
    h.client.open();
    h.socket.bufferedAmount = 4242;
    expect(h.control.bufferedAmount).toBe(4242);
  });
});
