/**
 * GENESYS_DATA_ACTION_ALLOWLIST: per-call Data Actions (DATA_ACTION_IDS, an Architect input variable) are
 * limited to the listed IDs. An ID outside it ends the call like any bad input variable: disconnect error
 * naming the variable and the ID, no model session, no tool reachable.
 */
import { describe, expect, it } from 'vitest';
import { InputVariableError, parseDataActions, resolveCallConfig } from '../../src/bridge/variables.js';
import { ConfigError, parseEnv } from '../../src/cli/env.js';
import { flush, startCall } from '../bridge/harness.js';

const base = { GENESYS_API_KEY: 'key-1', OPENAI_API_KEY: 'sk-test' };
const env = parseEnv({ ...base, GENESYS_DATA_ACTION_ALLOWLIST: ' custom_-_aaa , custom_-_bbb ' });

describe('GENESYS_DATA_ACTION_ALLOWLIST', () => {
  it('is parsed from comma-separated IDs; a bad entry is a config error naming the variable', () => {
    expect(env.GENESYS_DATA_ACTION_ALLOWLIST).toEqual(['custom_-_aaa', 'custom_-_bbb']);
    expect(parseEnv(base).GENESYS_DATA_ACTION_ALLOWLIST).toBeUndefined();
    expect(() => parseEnv({ ...base, GENESYS_DATA_ACTION_ALLOWLIST: 'custom_-_aaa,../etc' })).toThrowError(ConfigError);
    expect(() => parseEnv({ ...base, GENESYS_DATA_ACTION_ALLOWLIST: ' , ' })).toThrowError(/GENESYS_DATA_ACTION_ALLOWLIST must be Data Action IDs/);
  });

  it('lets listed IDs through and refuses another, naming the variable and the ID', () => {
    expect(parseDataActions({ DATA_ACTION_IDS: 'custom_-_bbb|custom_-_aaa' }, env.GENESYS_DATA_ACTION_ALLOWLIST)).toEqual([
      { id: 'custom_-_bbb' },
      { id: 'custom_-_aaa' },
    ]);
    expect(() => parseDataActions({ GENESYS_DATA_ACTION_IDS: 'custom_-_aaa|custom_-_refund' }, env.GENESYS_DATA_ACTION_ALLOWLIST)).toThrow(
      new InputVariableError('GENESYS_DATA_ACTION_IDS', 'names Data Action custom_-_refund, which is not in GENESYS_DATA_ACTION_ALLOWLIST'),
    );
    expect(() => resolveCallConfig({ DATA_ACTION_IDS: 'custom_-_refund' }, env)).toThrow(/DATA_ACTION_IDS names Data Action custom_-_refund/);
    // Unset: any ID (the OAuth role is the only limit).
    expect(parseDataActions({ DATA_ACTION_IDS: 'custom_-_refund' })).toEqual([{ id: 'custom_-_refund' }]);
  });

  it('a call whose flow adds an action outside the allowlist ends with disconnect error naming it, without the model', async () => {
    const h = startCall({ vars: { DATA_ACTION_IDS: 'custom_-_aaa|custom_-_refund' }, deps: { env } });
    await flush();
    expect(h.connects).toBe(0);
    expect(h.control.disconnects).toEqual([
      expect.objectContaining({ reason: 'error', info: expect.stringMatching(/DATA_ACTION_IDS names Data Action custom_-_refund, which is not in GENESYS_DATA_ACTION_ALLOWLIST/) }),
    ]);
    await h.factory.drain();
    expect(h.records[0]!.record.end_reason).toBe('error');
  });

  it('a call whose flow adds only allowed actions goes on', async () => {
    const h = startCall({ vars: { DATA_ACTION_IDS: 'custom_-_aaa' }, deps: { env } });
    await flush();
    expect(h.control.disconnects).toEqual([]);
    expect(h.connects).toBe(1);
    h.handler.onClose({ kind: 'close', reason: 'end' });
  });
});
