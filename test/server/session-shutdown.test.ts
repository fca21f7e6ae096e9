/**
 * ProtocolSession.shutdown (fault 10, the session side) and back-pressure refusal in sendAudio (fault 11),
 * on the in-memory harness with a ManualClock.
 */
import { describe, expect, it } from 'vitest';
import type { CallHandler } from '../../src/audiohook/handler.js';
import type { ServerMessage } from '../../src/audiohook/schemas.js';
import { SESSION_DEFAULTS } from '../../src/audiohook/session-limits.js';
import { bytes, flush, makeHarness, recordingHandler } from '../audiohook/harness.js';

const disconnectOf = (messages: ServerMessage[]) => messages.find((m) => m.type === 'disconnect');
/** The composition root's shutdown outputs (the protocol layer does not know the names). */
const SHUTDOWN_OUTPUT_VARIABLES = { END_REASON: 'server_shutdown', ESCALATION_REQUIRED: 'true' };

describe('ProtocolSession.shutdown', () => {
  it('without onShutdown: disconnect completed with the shutdown outputs at once, then the close transaction', async () => {
    const h = makeHarness({ shutdownOutputVariables: SHUTDOWN_OUTPUT_VARIABLES });
    h.client.open();
    expect(h.session.shutdown?.()).toBe(true);
    expect(h.session.state).toBe('disconnecting');
    expect(disconnectOf(h.socket.messages)?.parameters).toEqual({
      reason: 'completed',
      info: 'server shutting down',
      outputVariables: { ...SHUTDOWN_OUTPUT_VARIABLES },
    });
    h.client.send('close', { reason: 'disconnect' });
    await flush();
    expect(h.socket.types.slice(-1)).toEqual(['closed']);
    // A second call is harmless and sends nothing more.
    expect(h.session.shutdown?.()).toBe(false);
    expect(h.socket.ofType('disconnect')).toHaveLength(1);
  });

  it('without shutdownOutputVariables the shutdown disconnect carries no outputs (the protocol knows no names)', () => {
    const h = makeHarness();
    h.client.open();
    h.session.shutdown?.();
    expect(disconnectOf(h.socket.messages)?.parameters).toEqual({ reason: 'completed', info: 'server shutting down' });
  });

  it('asks the handler first; its own disconnect (with its outputs) is the one sent', async () => {
    const recorder = recordingHandler();
    let shutdownCalls = 0;
    const h = makeHarness({
      handler: {
        ...recorder.handler,
        onShutdown: () => {
          shutdownCalls++;
          h.control.disconnect('completed', 'bot ended for shutdown', { CONVERSATION_SUMMARY: 'short call', ESCALATION_REQUIRED: 'true' });
        },
      } satisfies CallHandler,
    });
    h.client.open();
    expect(h.session.shutdown?.()).toBe(true);
    expect(h.session.shutdown?.()).toBe(true); // already disconnecting: ending on its own
    expect(shutdownCalls).toBe(1);
    await flush();
    h.clock.advance(SESSION_DEFAULTS.shutdownHandlerTimeoutMs * 2);
    expect(h.socket.ofType('disconnect')).toHaveLength(1);
    expect(disconnectOf(h.socket.messages)?.parameters).toMatchObject({
      reason: 'completed',
      outputVariables: { CONVERSATION_SUMMARY: 'short call', ESCALATION_REQUIRED: 'true' },
    });
  });

  it('a handler that never disconnects gets the shutdown disconnect at its bound, not before', async () => {
    const recorder = recordingHandler();
    const h = makeHarness({
      shutdownOutputVariables: SHUTDOWN_OUTPUT_VARIABLES,
      shutdownHandlerTimeoutMs: 2_000,
      handler: { ...recorder.handler, onShutdown: () => new Promise<void>(() => {}) },
    });
    h.client.open();
    h.session.shutdown?.();
    h.clock.advance(1_999);
    await flush();
    expect(h.socket.ofType('disconnect')).toHaveLength(0);
    h.clock.advance(1);
    expect(disconnectOf(h.socket.messages)?.parameters).toMatchObject({ reason: 'completed', outputVariables: SHUTDOWN_OUTPUT_VARIABLES });
  });

  it('a handler whose onShutdown resolves without disconnecting, throws or rejects still ends with the shutdown disconnect', async () => {
    const variants: Array<CallHandler['onShutdown']> = [
      () => undefined,
      () => {
        throw new Error('boom');
      },
      () => Promise.reject(new Error('async boom')),
    ];
    for (const onShutdown of variants) {
      const recorder = recordingHandler();
      const h = makeHarness({ shutdownOutputVariables: SHUTDOWN_OUTPUT_VARIABLES, handler: { ...recorder.handler, onShutdown } });
      h.client.open();
      h.session.shutdown?.();
      await flush();
      expect(disconnectOf(h.socket.messages)?.parameters).toMatchObject({ reason: 'completed', outputVariables: SHUTDOWN_OUTPUT_VARIABLES });
    }
  });

  it('has nothing to end before open (false) and leaves a paused call the same polite way', async () => {
    const before = makeHarness();
    expect(before.session.shutdown?.()).toBe(false);
    expect(before.socket.texts).toHaveLength(0);

    const paused = makeHarness();
    paused.client.open();
    paused.client.send('paused');
    expect(paused.session.state).toBe('paused');
    expect(paused.session.shutdown?.()).toBe(true);
    expect(disconnectOf(paused.socket.messages)?.parameters).toMatchObject({ reason: 'completed' });
  });
});

describe('back-pressure in sendAudio', () => {
  it('refuses audio (false, nothing sent) while the socket does not accept audio; control still flows', () => {
    const h = makeHarness();
    h.client.open();
    const socket = h.socket as typeof h.socket & { acceptsAudio?: boolean };
    Object.defineProperty(socket, 'acceptsAudio', { value: false, writable: true, configurable: true });
    expect(h.control.sendAudio(bytes(800))).toBe(false);
    expect(h.socket.binaries).toHaveLength(0);
    h.client.send('ping');
    expect(h.socket.types.slice(-1)).toEqual(['pong']);
    socket.acceptsAudio = true;
    expect(h.control.sendAudio(bytes(800))).toBe(true);
    expect(h.socket.binaries).toHaveLength(1);
  });
});
