import { describe, expect, it } from 'vitest';
import { fleetMode, workerInstanceId } from '../../src/cli/serve-instance.js';
import type { ServeEnv } from '../../src/cli/serve.js';

const env = (extra: Record<string, string>) => ({ LOG_LEVEL: 'silent', ...extra }) as unknown as ServeEnv;

describe('workers in fleet mode', () => {
  it('leave the nonce check to the fleet only when REDIS_URL is set', () => {
    expect(fleetMode(env({ REDIS_URL: 'redis://127.0.0.1:6379' }))).toBe(true);
    expect(fleetMode(env({}))).toBe(false);
  });

  it('each get their own INSTANCE_ID (<id>-w<slot>, within the 100-character limit); unset stays unset', () => {
    expect(workerInstanceId(env({ INSTANCE_ID: 'fra-1' }), 2)).toEqual({ INSTANCE_ID: 'fra-1-w2' });
    expect(workerInstanceId(env({ INSTANCE_ID: 'x'.repeat(100) }), 12).INSTANCE_ID).toHaveLength(98);
    expect(workerInstanceId(env({}), 1)).toEqual({});
  });
});
