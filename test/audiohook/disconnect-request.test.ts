import { describe, expect, it } from 'vitest';
import { checkedDisconnectRequest, disconnectParameters } from '../../src/audiohook/disconnect-request.js';
import { createLogger } from '../../src/log/logger.js';

const log = createLogger('silent');

describe('what the call may put in disconnect', () => {
  it('keeps a valid request as it is', () => {
    expect(checkedDisconnectRequest('completed', 'done', { A: 'x' }, log)).toEqual({ reason: 'completed', info: 'done', outputVariables: { A: 'x' } });
  });

  it('replaces an unknown reason with error and drops a non-string info', () => {
    expect(checkedDisconnectRequest('bogus' as never, 42, undefined, log)).toEqual({ reason: 'error' });
  });

  it('drops output variables that are not strings, and all of them when they are not an object', () => {
    expect(checkedDisconnectRequest('completed', undefined, { A: 'x', B: 1, C: null }, log).outputVariables).toEqual({ A: 'x' });
    expect(checkedDisconnectRequest('completed', undefined, 'A=x', log)).toEqual({ reason: 'completed' });
  });

  it('cuts info to 400 characters on the wire', () => {
    const parameters = disconnectParameters({ reason: 'error', info: 'x'.repeat(1000) });
    expect(parameters.info).toBe(`${'x'.repeat(400)}…`);
    expect(disconnectParameters({ reason: 'completed' })).toEqual({ reason: 'completed' });
  });
});
