import { describe, expect, it } from 'vitest';
import { connectorIdFor } from '../../src/server/routes.js';

describe('connectorIdFor', () => {
  it.each([
    ['/audiohook', '/audiohook', ''],
    ['/audiohook/', '/audiohook', ''],
    ['/audiohook/sales-bot', '/audiohook', 'sales-bot'],
    ['/audiohook/sales-bot?x=1', '/audiohook', 'sales-bot'],
    ['/audiohook/a/b', '/audiohook', 'a/b'],
    ['/audiohook/my%20bot', '/audiohook', 'my bot'],
    ['/api/v1/audiohook/ws/bot', '/api/v1/audiohook/ws', 'bot'],
    ['/bot-1', '/', 'bot-1'],
    ['/', '/', ''],
  ])('%s under %s → %j', (target, base, expected) => {
    expect(connectorIdFor(target, base)).toBe(expected);
  });

  it.each([
    ['/healthz', '/audiohook'],
    ['/audiohookx', '/audiohook'],
    ['/audio', '/audiohook'],
    ['/audiohook/%zz', '/audiohook'],
  ])('%s is not under %s', (target, base) => {
    expect(connectorIdFor(target, base)).toBeUndefined();
  });
});
