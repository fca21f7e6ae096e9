import { describe, expect, it } from 'vitest';
import type { RealtimeSessionCreateRequest } from 'openai/resources/realtime/realtime';
import { makeReady, startCall } from './harness.js';

describe('AudioHook update with a language', () => {
  it('re-sends the session with that language for instructions and transcription; reconnects keep it', async () => {
    const h = startCall({ vars: { AI_GREETING: 'false' } });
    await makeReady(h);
    const before = h.model.ofType('session.update')[0]!.session as RealtimeSessionCreateRequest;
    h.handler.onUpdate!({ language: 'de-DE' });
    const updates = h.model.ofType('session.update');
    expect(updates).toHaveLength(2);
    const after = updates[1]!.session as RealtimeSessionCreateRequest;
    expect(after.audio?.input?.transcription).toMatchObject({ language: 'de' });
    expect(after.instructions).not.toBe(before.instructions);
    expect(after.instructions).toContain('de-DE');
    // A later session (after a drop) starts with the updated language.
    h.model.drop(1006);
    await makeReady(h);
    expect(h.model.ofType('session.update')[0]!.session.audio?.input?.transcription).toMatchObject({ language: 'de' });
  });

  it('ignores an update without a language', async () => {
    const h = startCall({ vars: { AI_GREETING: 'false' } });
    await makeReady(h);
    h.handler.onUpdate!({});
    expect(h.model.ofType('session.update')).toHaveLength(1);
  });
});
