/** The composition root's side of the console: several call-event listeners, and its settings' checks. */
import { describe, expect, it } from 'vitest';
import type { CallEvent, CallEventListener } from '../../src/bridge/call-events.js';
import { checkEnv } from '../../src/cli/env.js';
import { callEventListeners } from '../../src/cli/serve.js';
import { captureLogs } from '../server/support.js';
import { CallScript } from './support.js';

describe('callEventListeners', () => {
  const { logger, lines } = captureLogs();

  it('is undefined without listeners and the listener itself with one', () => {
    const one: CallEventListener = { onCallEvent: () => {} };
    expect(callEventListeners([undefined, undefined], logger)).toBeUndefined();
    expect(callEventListeners([undefined, one], logger)).toBe(one);
  });

  it('gives every event to each listener, one failing listener never keeping it from the next', () => {
    const seen: CallEvent[] = [];
    const failing: CallEventListener = {
      onCallEvent: () => {
        throw new Error('tracer broke');
      },
    };
    const both = callEventListeners([failing, { onCallEvent: (e) => seen.push(e) }], logger)!;
    const event = new CallScript('fan-1').started();
    expect(() => both.onCallEvent(event)).not.toThrow();
    expect(seen).toEqual([event]);
    expect(lines.some((l) => l.includes('call event listener failed') && l.includes('fan-1'))).toBe(true);
  });
});

describe('console settings', () => {
  const base = { GENESYS_API_KEY: 'k', OPENAI_API_KEY: 'sk-test' };

  it('warns when a console setting is given without CONSOLE_TOKEN (it has no effect)', () => {
    const { warnings } = checkEnv({ ...base, CONSOLE_TRANSCRIPTS: 'true', CONSOLE_MAX_ENDED_CALLS: '10' });
    expect(warnings.join('\n')).toMatch(/CONSOLE_TRANSCRIPTS[^\n]*CONSOLE_TOKEN/);
    expect(warnings.join('\n')).toMatch(/CONSOLE_MAX_ENDED_CALLS[^\n]*CONSOLE_TOKEN/);
    expect(checkEnv({ ...base, CONSOLE_TOKEN: 'a-console-token-0123', CONSOLE_TRANSCRIPTS: 'true' }).warnings).toEqual([]);
  });
});
