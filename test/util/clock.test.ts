import { describe, expect, it } from 'vitest';
import { systemClock } from '../../src/util/clock.js';

describe('systemClock', () => {
  it('runs a timer whose deadline is already past at once, without Node\'s negative-timeout warning', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      await new Promise<void>((resolve) => systemClock.setTimeout(resolve, -72.5));
      // Warnings are emitted on the next tick: give them the chance.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).toEqual([]);
  });
});
