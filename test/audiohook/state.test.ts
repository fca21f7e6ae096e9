import { describe, expect, it } from 'vitest';
import { CLIENT_MESSAGE_TYPES } from '../../src/audiohook/schemas.js';
import {
  BINARY_TABLE,
  binaryDisposition,
  canTransition,
  CLIENT_MESSAGE_TABLE,
  clientMessageDisposition,
  maySend,
  SERVER_SEND_TABLE,
  SESSION_STATES,
  signalsErrors,
  STATE_TRANSITIONS,
} from '../../src/audiohook/state.js';

describe('the session state table', () => {
  it('has a disposition for every known client message type in every state', () => {
    expect(Object.keys(CLIENT_MESSAGE_TABLE).sort()).toEqual([...CLIENT_MESSAGE_TYPES].sort());
    for (const type of CLIENT_MESSAGE_TYPES) {
      expect(Object.keys(CLIENT_MESSAGE_TABLE[type]).sort()).toEqual([...SESSION_STATES].sort());
    }
    expect(Object.keys(BINARY_TABLE).sort()).toEqual([...SESSION_STATES].sort());
  });

  it('accepts open only in preparing (ignored elsewhere, RI)', () => {
    for (const state of SESSION_STATES) {
      expect(clientMessageDisposition('open', state)).toBe(state === 'preparing' ? 'accept' : 'ignore');
    }
  });

  it('accepts close in every state except closing and closed', () => {
    for (const state of SESSION_STATES) {
      const expected = state === 'closing' || state === 'closed' ? 'ignore' : 'accept';
      expect(clientMessageDisposition('close', state)).toBe(expected);
    }
  });

  it('treats stream messages before open as violations and after disconnect as ignorable', () => {
    for (const type of ['paused', 'resumed', 'update', 'discarded', 'dtmf'] as const) {
      expect(clientMessageDisposition(type, 'preparing')).toBe('violation');
      expect(clientMessageDisposition(type, 'active')).toBe('accept');
      expect(clientMessageDisposition(type, 'paused')).toBe('accept');
      expect(clientMessageDisposition(type, 'disconnecting')).toBe('ignore');
    }
    expect(clientMessageDisposition('playback_completed', 'disconnecting')).toBe('accept');
  });

  it('binary: violation before opened, accepted only when active, dropped otherwise', () => {
    expect(binaryDisposition('preparing')).toBe('violation');
    expect(binaryDisposition('opening')).toBe('violation');
    expect(binaryDisposition('active')).toBe('accept');
    for (const state of ['paused', 'disconnecting', 'closing', 'closed'] as const) expect(binaryDisposition(state)).toBe('drop');
  });

  it('server sends: audio only when active; event in active, paused, closing; disconnect before closing; closed only closing', () => {
    expect(SERVER_SEND_TABLE.audio).toEqual(['active']);
    expect(SERVER_SEND_TABLE.event).toEqual(['active', 'paused', 'closing']);
    expect(SERVER_SEND_TABLE.disconnect).toEqual(['preparing', 'opening', 'active', 'paused']);
    expect(maySend('closed', 'closing')).toBe(true);
    expect(maySend('closed', 'active')).toBe(false);
    expect(maySend('reconnect', 'active')).toBe(false);
    for (const state of SESSION_STATES) expect(maySend('pong', state)).toBe(state !== 'closed');
  });

  it('errors are signalled only where disconnect may still be sent', () => {
    expect(SESSION_STATES.filter(signalsErrors)).toEqual(['preparing', 'opening', 'active', 'paused']);
  });

  it('transitions: closed is terminal, everything can end in closed, no way back from disconnecting', () => {
    expect(STATE_TRANSITIONS.closed).toEqual([]);
    for (const state of SESSION_STATES) if (state !== 'closed') expect(canTransition(state, 'closed')).toBe(true);
    expect(canTransition('disconnecting', 'active')).toBe(false);
    expect(canTransition('closing', 'active')).toBe(false);
    expect(canTransition('preparing', 'active')).toBe(false);
    expect(canTransition('active', 'paused')).toBe(true);
    expect(canTransition('paused', 'active')).toBe(true);
  });
});
