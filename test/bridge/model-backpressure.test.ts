/** Fault 11, the model side: a model socket that stops draining. */
import { describe, expect, it } from 'vitest';
import { MODEL_BACKPRESSURE_DEFAULTS } from '../../src/realtime/backpressure.js';
import { flush, makeReady, startCall } from './harness.js';

const CHUNK = new Uint8Array(160).fill(7); // 20 ms of caller audio

describe('caller audio under model-socket back-pressure', () => {
  it('stops appending above the mark, resumes below the low mark, and warns once', async () => {
    const h = startCall({ vars: { AI_GREETING: 'false' } });
    await makeReady(h);
    const appends = () => h.model.ofType('input_audio_buffer.append').length;
    h.handler.onAudio!(CHUNK, 0);
    expect(appends()).toBe(1);
    h.model.bufferedAmount = MODEL_BACKPRESSURE_DEFAULTS.highWaterBytes + 1;
    for (let i = 0; i < 50; i++) {
      h.clock.advance(20);
      h.handler.onAudio!(CHUNK, 20 * i);
    }
    expect(appends()).toBe(1);
    // Between the marks: still dropping.
    h.model.bufferedAmount = MODEL_BACKPRESSURE_DEFAULTS.lowWaterBytes + 1;
    h.handler.onAudio!(CHUNK, 1000);
    expect(appends()).toBe(1);
    h.model.bufferedAmount = 0;
    h.handler.onAudio!(CHUNK, 1020);
    expect(appends()).toBe(2);
    // The call goes on in the same session.
    expect(h.connects).toBe(1);
    expect(h.control.disconnects).toHaveLength(0);
  });

  it('over the mark for the stall limit: the socket is treated as dead and the session replaced', async () => {
    const h = startCall({ vars: { AI_GREETING: 'false' } });
    await makeReady(h);
    const first = h.model;
    first.bufferedAmount = MODEL_BACKPRESSURE_DEFAULTS.highWaterBytes * 2;
    for (let t = 0; t < MODEL_BACKPRESSURE_DEFAULTS.stallLimitMs; t += 20) {
      h.handler.onAudio!(CHUNK, t);
      h.clock.advance(20);
    }
    expect(h.connects).toBe(1);
    h.handler.onAudio!(CHUNK, MODEL_BACKPRESSURE_DEFAULTS.stallLimitMs);
    expect(first.closed).toBe(true);
    await flush();
    expect(h.connects).toBe(2);
    // Audio arriving meanwhile is held and reaches the new session after the replay.
    h.handler.onAudio!(new Uint8Array(160).fill(9), 10_020);
    await makeReady(h);
    expect(h.model).not.toBe(first);
    const appends = h.model.ofType('input_audio_buffer.append');
    expect(appends.map((a) => Buffer.from(a.audio, 'base64')[0])).toEqual([9]);
    expect(h.control.disconnects).toHaveLength(0);
  });
});
