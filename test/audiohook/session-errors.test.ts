import { describe, expect, it } from 'vitest';
import type { CallHandler } from '../../src/audiohook/handler.js';
import { bytes, expectWellSequenced, flush, makeHarness, NULL_UUID, SESSION_ID } from './harness.js';

type Harness = ReturnType<typeof makeHarness>;

function expectErrorDisconnect(h: Harness, infoPart: string | RegExp): void {
  const disconnects = h.socket.ofType('disconnect');
  expect(disconnects).toHaveLength(1);
  const params = disconnects[0]!.parameters as { reason: string; info?: string };
  expect(params.reason).toBe('error');
  expect(params.info).toMatch(infoPart);
  expect(h.session.state).toBe('disconnecting');
  expect(h.logs.lines.some((l) => l.level === 40 && l.msg.includes('protocol violation'))).toBe(true);
}

describe('AudioHook session: bad input and its defined outcome', () => {
  it('malformed JSON → disconnect error', () => {
    const h = makeHarness();
    h.session.handleText('{"version":"2", nope');
    expectErrorDisconnect(h, /not valid JSON/);
  });

  it('wrong version → disconnect error', () => {
    const h = makeHarness();
    h.client.open();
    h.client.send('ping', {}, { version: '1' });
    expectErrorDisconnect(h, /envelope: version/);
  });

  it('wrong id → disconnect error, without echoing ids', () => {
    const h = makeHarness();
    h.client.open();
    h.client.send('ping', {}, { id: '11111111-2222-3333-4444-555555555555' });
    expectErrorDisconnect(h, 'message id does not match the session id');
    expect(h.socket.texts.at(-1)).not.toContain('11111111');
  });

  it('seq gap → disconnect error', () => {
    const h = makeHarness();
    h.client.open();
    h.client.seq++; // skip one
    h.client.send('ping', {});
    expectErrorDisconnect(h, 'seq 3 does not follow 1');
    // clientseq acknowledges what the client actually sent, so its close transaction follows on.
    expect(h.socket.last().clientseq).toBe(3);
  });

  it('serverseq ahead of what we sent → disconnect error', () => {
    const h = makeHarness();
    h.client.open();
    h.client.send('ping', {}, { serverseq: 5 });
    expectErrorDisconnect(h, 'serverseq 5 is ahead of the last server seq 1');
  });

  it('bad position grammar → disconnect error', () => {
    const h = makeHarness();
    h.client.open();
    h.client.send('ping', {}, { position: '1.5' });
    expectErrorDisconnect(h, /position/);
  });

  it('missing parameters → disconnect error (parameters are mandatory)', () => {
    const h = makeHarness();
    h.client.open();
    h.client.send('ping', {}, { parameters: undefined });
    expectErrorDisconnect(h, /parameters/);
  });

  it('a 70 KB text message → disconnect error', () => {
    const h = makeHarness();
    h.client.open();
    h.session.handleText(JSON.stringify(h.client.envelope('ping', { pad: 'x'.repeat(70_000) })));
    expectErrorDisconnect(h, 'text message exceeds 65535 characters');
  });

  it('invalid type-specific parameters → disconnect error naming the field', () => {
    const h = makeHarness();
    h.client.open();
    h.client.send('dtmf', { digit: '55' });
    expectErrorDisconnect(h, /invalid dtmf message: parameters\.digit/);
  });

  it('binary before opened → disconnect error', () => {
    const h = makeHarness();
    h.session.handleBinary(bytes(160));
    expectErrorDisconnect(h, 'audio received before the session was opened');
  });

  it('a partial sample frame → disconnect error', () => {
    const h = makeHarness();
    h.client.open({ media: [{ type: 'audio', format: 'L16', channels: ['external'], rate: 8000 }] });
    h.session.handleBinary(bytes(161));
    expectErrorDisconnect(h, 'audio message of 161 bytes is not a whole number of 2-byte sample frames');
  });

  it('client messages that need an open session → disconnect error before open', () => {
    const h = makeHarness();
    h.client.send('paused', {});
    expectErrorDisconnect(h, 'unexpected paused message in state preparing');
  });

  it('a duplicate open is ignored (RI), not fatal', () => {
    const h = makeHarness();
    h.client.open();
    h.client.open();
    expect(h.socket.types).toEqual(['opened']);
    expect(h.contexts).toHaveLength(1);
    expect(h.session.state).toBe('active');
  });

  it('org id mismatch → disconnect unauthorized, no opened, no call', () => {
    const h = makeHarness();
    h.client.open({ organizationId: '99999999-0972-4844-938e-9060eef73d05' });
    expect(h.socket.types).toEqual(['disconnect']);
    expect(h.socket.last().parameters).toMatchObject({ reason: 'unauthorized' });
    expect(h.contexts).toHaveLength(0);
  });

  it('no usable media → disconnect error listing what was offered', () => {
    const h = makeHarness();
    h.client.open({
      media: [
        { type: 'audio', format: 'PCMU', channels: ['internal'], rate: 8000 },
        { type: 'audio', format: 'L16', channels: ['external'], rate: 16000 },
      ],
    });
    expect(h.socket.types).toEqual(['disconnect']);
    expect(h.socket.last().parameters).toEqual({
      reason: 'error',
      info: 'no usable media offered (need PCMU or L16 at 8000 Hz with the external channel); offered: PCMU/8000/[internal], L16/16000/[external]',
    });
    expect(h.contexts).toHaveLength(0);
  });

  it('violations after disconnect are logged, never signalled twice; the close transaction still completes', async () => {
    const h = makeHarness();
    h.client.open();
    h.session.handleText('garbage');
    h.session.handleText('more garbage');
    h.session.handleBinary(bytes(3));
    expect(h.socket.ofType('disconnect')).toHaveLength(1);
    expect(h.logs.lines.filter((l) => l.msg === 'protocol violation (not signalled again)')).toHaveLength(1);
    h.client.send('close', { reason: 'disconnect' });
    await h.session.finished;
    expect(h.socket.types).toEqual(['opened', 'disconnect', 'closed']);
    expectWellSequenced(h.socket);
  });

  it('a close with a sequencing slip after our disconnect is still honoured', async () => {
    const h = makeHarness();
    h.client.open();
    h.session.handleText('not json'); // the client counted it as seq 2; we could not
    h.client.seq++; // the client's numbering moved on
    h.client.send('close', { reason: 'disconnect' });
    await h.session.finished;
    expect(h.socket.types).toEqual(['opened', 'disconnect', 'closed']);
    expect(h.socket.last().clientseq).toBe(3);
  });

  it('createCall throwing → disconnect error, session survives', () => {
    const h = makeHarness({
      createCall: () => {
        throw new Error('model key sk-secret missing');
      },
    });
    h.client.open();
    expect(h.socket.types).toEqual(['opened', 'disconnect']);
    expect(h.socket.last().parameters).toEqual({ reason: 'error', info: 'call setup failed' });
    expect(h.socket.texts.join()).not.toContain('sk-secret');
  });

  it('a throwing handler callback → log + disconnect error, never an exception out of the session', () => {
    const handler: CallHandler = {
      onAudio: () => {
        throw new Error('boom');
      },
      onClose: () => {},
    };
    const h = makeHarness({ handler });
    h.client.open();
    expect(() => h.client.audio(bytes(160))).not.toThrow();
    expect(h.socket.last().parameters).toEqual({ reason: 'error', info: 'internal error in call handler' });
    expect(h.logs.lines.some((l) => l.level === 50 && l.callback === 'onAudio')).toBe(true);
  });

  it('a throwing or rejecting onClose still ends with closed', async () => {
    const h = makeHarness({
      handler: {
        onClose: () => {
          throw new Error('close boom');
        },
      },
    });
    h.client.open();
    h.client.send('close', { reason: 'end' });
    await h.session.finished;
    expect(h.socket.types).toEqual(['opened', 'closed']);

    const r = makeHarness({ onClose: () => Promise.reject(new Error('async boom')) });
    r.client.open();
    r.client.send('close', { reason: 'end' });
    await r.session.finished;
    expect(r.socket.types).toEqual(['opened', 'closed']);
    expect(r.clock.pending).toBe(0);
  });

  it('sendEvent with invalid entities is refused with an error log', () => {
    const h = makeHarness();
    h.client.open();
    expect(h.control.sendEvent([])).toBe(false);
    expect(h.control.sendEvent([{ type: '', data: {} }])).toBe(false);
    expect(h.socket.types).toEqual(['opened']);
  });
});

describe('AudioHook session: timeouts and socket loss', () => {
  it('a slow close handler is bounded: closed is sent at the bound', async () => {
    const h = makeHarness({ onClose: () => new Promise<void>(() => {}) });
    h.client.open();
    h.client.send('close', { reason: 'end' });
    await flush();
    h.clock.advance(2_999);
    await flush();
    expect(h.socket.types).toEqual(['opened']);
    h.clock.advance(1);
    await h.session.finished;
    expect(h.socket.types).toEqual(['opened', 'closed']);
    expect(h.socket.closeCalls).toBe(1);
    expect(h.clock.pending).toBe(0);
  });

  it('the close handler bound is configurable', async () => {
    const h = makeHarness({ onClose: () => new Promise<void>(() => {}), closeHandlerTimeoutMs: 500 });
    h.client.open();
    h.client.send('close', { reason: 'end' });
    h.clock.advance(500);
    await h.session.finished;
    expect(h.socket.last().type).toBe('closed');
  });

  it('socket drop without close → onClose(socket) once, no sends, finished, no timers', async () => {
    const h = makeHarness();
    h.client.open();
    h.session.handleSocketClosed(1006);
    h.session.handleSocketClosed(1006);
    await h.session.finished;
    expect(h.calls).toEqual([{ callback: 'onClose', args: [{ kind: 'socket', code: 1006 }] }]);
    expect(h.socket.types).toEqual(['opened']);
    expect(h.session.state).toBe('closed');
    expect(h.control.sendAudio(bytes(160))).toBe(false);
    expect(h.control.sendEvent([{ type: 'barge_in', data: {} }])).toBe(false);
    h.control.disconnect('completed');
    h.client.send('ping', {});
    expect(h.socket.types).toEqual(['opened']);
    expect(h.clock.pending).toBe(0);
  });

  it('socket drop during the close transaction: no closed is sent, onClose once', async () => {
    let release!: () => void;
    const h = makeHarness({ onClose: () => new Promise<void>((r) => (release = r)) });
    h.client.open();
    h.client.send('close', { reason: 'end' });
    h.session.handleSocketClosed(1006);
    release();
    await h.session.finished;
    expect(h.socket.types).toEqual(['opened']);
    expect(h.names().filter((n) => n === 'onClose')).toHaveLength(1);
    expect(h.socket.closeCalls).toBe(0);
  });

  it('socket drop before open: finished without any handler', async () => {
    const h = makeHarness();
    h.session.handleSocketClosed(1001);
    await h.session.finished;
    expect(h.socket.texts).toEqual([]);
    expect(h.clock.pending).toBe(0);
  });

  it('no open within 10 s → socket closed', async () => {
    const h = makeHarness();
    h.clock.advance(9_999);
    expect(h.socket.closeCalls).toBe(0);
    h.clock.advance(1);
    expect(h.socket.closeCalls).toBe(1);
    await h.session.finished;
    expect(h.session.state).toBe('closed');
    expect(h.clock.pending).toBe(0);
  });

  it('idle watchdog: 60 s without any client traffic → socket closed and handler told', async () => {
    const h = makeHarness();
    h.client.open();
    for (let i = 0; i < 20; i++) {
      h.clock.advance(5_000);
      h.client.send('ping', {});
    }
    h.clock.advance(30_000);
    h.client.audio(bytes(160)); // audio counts as traffic
    h.clock.advance(59_999);
    expect(h.socket.closeCalls).toBe(0);
    h.clock.advance(1);
    expect(h.socket.closeCalls).toBe(1);
    await h.session.finished;
    expect(h.calls.at(-1)).toEqual({ callback: 'onClose', args: [{ kind: 'socket', code: 1000 }] });
    expect(h.clock.pending).toBe(0);
  });

  it('idle threshold is configurable', () => {
    const h = makeHarness({ idleTimeoutMs: 15_000 });
    h.client.open();
    h.clock.advance(15_000);
    expect(h.socket.closeCalls).toBe(1);
  });

  it('a socket whose sendText throws does not crash the session', () => {
    const h = makeHarness();
    h.socket.sendText = () => {
      throw new Error('socket is closing');
    };
    expect(() => h.client.open()).not.toThrow();
    expect(h.logs.lines.some((l) => l.msg === 'socket send failed')).toBe(true);
  });

  it('close before open is accepted: closed', async () => {
    const h = makeHarness();
    h.client.send('close', { reason: 'end' });
    await h.session.finished;
    expect(h.socket.messages.map((m) => [m.type, m.seq, m.clientseq, m.id])).toEqual([['closed', 1, 1, SESSION_ID]]);
  });

  it('probe with org mismatch is unauthorized (the header comes from Genesys itself)', () => {
    const h = makeHarness();
    h.client.open({ conversationId: NULL_UUID, organizationId: '99999999-0972-4844-938e-9060eef73d05' });
    expect(h.socket.last().parameters).toMatchObject({ reason: 'unauthorized' });
  });
});
