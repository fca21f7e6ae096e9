import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/util/clock.js';
import { DtmfCollector, dtmfItemEvent } from '../../src/bridge/dtmf.js';

function setup(timeoutMs = 3000) {
  const clock = new ManualClock();
  const emitted: string[] = [];
  const collector = new DtmfCollector({ clock, interDigitTimeoutMs: timeoutMs, onDigits: (d) => emitted.push(d) });
  return { clock, emitted, collector };
}

describe('DtmfCollector', () => {
  it('emits on # without the #', () => {
    const { collector, emitted } = setup();
    for (const d of '1234#') collector.push(d);
    expect(emitted).toEqual(['1234']);
  });
  it('emits after the inter-digit timeout, restarted by each digit', () => {
    const { collector, emitted, clock } = setup(3000);
    collector.push('1');
    clock.advance(2500);
    collector.push('2');
    clock.advance(2999);
    expect(emitted).toEqual([]);
    clock.advance(1);
    expect(emitted).toEqual(['12']);
    expect(clock.pending).toBe(0);
  });
  it('treats a lone # as input and ignores unknown keys', () => {
    const { collector, emitted } = setup();
    collector.push('x');
    collector.push('#');
    expect(emitted).toEqual(['#']);
  });
  it('caps an entry at maxDigits', () => {
    const clock = new ManualClock();
    const emitted: string[] = [];
    const c = new DtmfCollector({ clock, maxDigits: 3, onDigits: (d) => emitted.push(d) });
    for (const d of '12345') c.push(d);
    expect(emitted).toEqual(['123']);
  });
  it('stop drops a partial entry', () => {
    const { collector, emitted, clock } = setup();
    collector.push('9');
    collector.stop();
    clock.advance(10_000);
    collector.push('1');
    collector.push('#');
    expect(emitted).toEqual([]);
  });
  it('builds a user input_text item', () => {
    expect(dtmfItemEvent('42')).toEqual({
      type: 'conversation.item.create',
      item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'The caller pressed the keypad digits: 42' }] },
    });
  });
});
