import { describe, expect, it } from 'vitest';
import type { OpenRequest } from '../../src/simulator/client-contract.js';
import { ClientSession } from '../../src/simulator/client-session.js';
import { L16_STEREO, PCMU_EXTERNAL, PCMU_STEREO } from '../../src/simulator/media.js';
import { ManualClock } from '../../src/util/clock.js';

const SESSION_ID = '30b0e395-84d3-4570-ac13-9a62d8f514c0';
const ORG_ID = 'd7934305-0972-4844-938e-9060eef73d05';

const openRequest = (offers = [PCMU_EXTERNAL]): OpenRequest => ({
  organizationId: ORG_ID,
  conversationId: '654eff96-52f7-42fb-8fe7-a4f9f33c3291',
  participant: { id: '1aec8efd-e26f-45f0-fdb1-bcfe549fb148', ani: 'tel:+15555551234', aniName: '', dnis: 'tel:+18005556789' },
  offers,
});

/** A session on a ManualClock with a recording transport, plus a scripted server writer. */
function setup(timing = {}) {
  const clock = new ManualClock(1000);
  const sent: Record<string, any>[] = [];
  const binary: Uint8Array[] = [];
  let transportClosed = false;
  const session = new ClientSession({
    sessionId: SESSION_ID,
    clock,
    timing,
    transport: {
      sendText: (text) => {
        try {
          sent.push(JSON.parse(text));
        } catch {
          sent.push({ raw: text });
        }
      },
      sendBinary: (data) => binary.push(data),
      close: () => {
        transportClosed = true;
      },
    },
  });
  let serverSeq = 0;
  const lastClientSeq = () => sent.at(-1)?.seq ?? 0;
  const server = (type: string, parameters: unknown = {}, overrides: Record<string, unknown> = {}) =>
    session.handleText(
      JSON.stringify({ version: '2', id: SESSION_ID, type, seq: ++serverSeq, clientseq: lastClientSeq(), parameters, ...overrides }),
    );
  const open = () => {
    session.open(openRequest());
    server('opened', { startPaused: false, media: [PCMU_EXTERNAL] });
  };
  return { clock, session, sent, binary, server, open, isClosed: () => transportClosed, types: () => sent.map((m) => m.type) };
}

const codes = (session: ClientSession) => session.violationList.map((v) => v.code);

describe('ClientSession: outgoing envelope', () => {
  it('sends open with version 2, seq 1, serverseq 0, PT position and every parameter', () => {
    const { session, sent } = setup();
    session.open({ ...openRequest([PCMU_EXTERNAL, PCMU_STEREO]), language: 'en-us', inputVariables: { a: 'b' }, customConfig: { x: 1 } });
    expect(sent[0]).toEqual({
      version: '2',
      id: SESSION_ID,
      type: 'open',
      seq: 1,
      serverseq: 0,
      position: 'PT0.000S',
      parameters: {
        organizationId: ORG_ID,
        conversationId: '654eff96-52f7-42fb-8fe7-a4f9f33c3291',
        participant: openRequest().participant,
        media: [PCMU_EXTERNAL, PCMU_STEREO],
        language: 'en-us',
        inputVariables: { a: 'b' },
        customConfig: { x: 1 },
      },
    });
  });

  it('numbers every message +1, acknowledges the last server seq and advances position with audio only', () => {
    const { session, sent, open, clock } = setup();
    open();
    expect(session.sendAudio(new Uint8Array(1600))).toBe(true);
    session.sendDtmf('12');
    clock.advance(1000); // first ping
    expect(sent.map((m) => [m.type, m.seq, m.serverseq, m.position])).toEqual([
      ['open', 1, 0, 'PT0.000S'],
      ['dtmf', 2, 1, 'PT0.200S'],
      ['dtmf', 3, 1, 'PT0.200S'],
      ['ping', 4, 1, 'PT0.200S'],
    ]);
    expect(sent[1]!.parameters).toEqual({ digit: '1' });
  });

  it('tells listeners each caller frame it sent, with how late its sender was', () => {
    const { session, open } = setup();
    open();
    const frames: Array<{ bytes: number; lateMs: number }> = [];
    session.onEvent((e) => {
      if (e.kind === 'client-audio') frames.push({ bytes: e.ulaw.length, lateMs: e.lateMs });
    });
    session.sendAudio(new Uint8Array(1600));
    session.sendAudio(new Uint8Array(1600), 250);
    expect(frames).toEqual([{ bytes: 1600, lateMs: 0 }, { bytes: 1600, lateMs: 250 }]);
  });
});

describe('ClientSession: accepts a correct server', () => {
  it('open → opened → pings/pongs → close → closed with no violations', () => {
    const { session, server, open, clock, types, isClosed } = setup();
    open();
    expect(session.state).toBe('open');
    clock.advance(1000);
    server('pong');
    clock.advance(5000);
    server('pong');
    session.close('end');
    server('closed');
    expect(session.violationList).toEqual([]);
    expect(session.state).toBe('closed');
    expect(isClosed()).toBe(true);
    expect(types()).toEqual(['open', 'ping', 'ping', 'close']);
    const report = session.report();
    expect(report.pingRttsMs).toEqual([0, 0]);
    expect(report.timings.openToOpenedMs).toBe(0);
    expect(report.timings.closeToClosedMs).toBe(0);
  });

  it('sends the rtt of the previous ping with the next one', () => {
    const { sent, server, open, clock } = setup();
    open();
    clock.advance(1000);
    clock.advance(35);
    server('pong');
    clock.advance(5000);
    expect(sent.filter((m) => m.type === 'ping').map((m) => m.parameters)).toEqual([{}, { rtt: 'PT0.035S' }]);
  });

  it('accepts opened with media [] and then stops audio', () => {
    const { session, server } = setup();
    session.open(openRequest());
    server('opened', { startPaused: false, media: [] });
    expect(session.violationList).toEqual([]);
    expect(session.audioState).toBe('stopped');
  });

  it('answers server pause with paused and resume with resumed {start, discarded}', () => {
    const { session, sent, server, open } = setup();
    open();
    session.sendAudio(new Uint8Array(800));
    server('pause');
    expect(session.audioState).toBe('paused');
    expect(session.sendAudio(new Uint8Array(800))).toBe(false);
    session.discardAudio(1600);
    server('resume');
    expect(sent.slice(-2).map((m) => [m.type, m.parameters])).toEqual([
      ['paused', {}],
      ['resumed', { start: 'PT0.100S', discarded: 'PT0.200S' }],
    ]);
    expect(session.audioState).toBe('send');
  });

  it('answers resume with paused while a client pause is in effect', () => {
    const { session, sent, server, open } = setup();
    open();
    session.pause();
    server('pause');
    server('resume');
    expect(sent.slice(-3).map((m) => m.type)).toEqual(['paused', 'paused', 'paused']);
    expect(session.audioState).toBe('paused');
    session.resume();
    expect(sent.at(-1)!.type).toBe('resumed');
    expect(session.violationList).toEqual([]);
  });

  it('answers startPaused:true with an immediate paused', () => {
    const { session, sent, server } = setup();
    session.open(openRequest());
    server('opened', { startPaused: true, media: [PCMU_EXTERNAL] });
    expect(sent.at(-1)!.type).toBe('paused');
    expect(session.audioState).toBe('paused');
  });

  it('runs the close transaction after disconnect and records reason and output variables', () => {
    const { session, sent, server, open } = setup();
    open();
    server('disconnect', { reason: 'completed', outputVariables: { intent: 'billing' } });
    expect(sent.at(-1)).toMatchObject({ type: 'close', parameters: { reason: 'disconnect' } });
    expect(session.audioState).toBe('stopped');
    server('event', { entities: [{ type: 'bot_turn_response', data: { disposition: 'match' } }] });
    server('closed');
    expect(session.violationList).toEqual([]);
    expect(session.report().disconnect).toEqual({ reason: 'completed', info: undefined, outputVariables: { intent: 'billing' } });
    expect(session.report().events).toHaveLength(1);
  });

  it('tolerates server messages that crossed our close (clientseq before close)', () => {
    const { session, server, open, sent } = setup();
    open();
    session.close();
    const closeSeq = sent.at(-1)!.seq;
    server('pause', {}, { clientseq: closeSeq - 1 });
    expect(session.violationList).toEqual([]);
    expect(sent.at(-1)!.type).toBe('close'); // nothing is sent after close
    server('closed');
    expect(session.state).toBe('closed');
  });

  it('runs the close transaction for a disconnect that arrives before open was sent', () => {
    const { session, sent, server } = setup();
    server('disconnect', { reason: 'error', info: 'audio before open' });
    expect(sent.map((m) => [m.type, m.seq, m.parameters])).toEqual([['close', 1, { reason: 'disconnect' }]]);
    server('closed');
    expect(session.violationList).toEqual([]);
    expect(session.state).toBe('closed');
  });

  it('continues numbering after a raw message whose seq jumped ahead', () => {
    const { session, sent, open } = setup();
    open();
    session.sendRawText(JSON.stringify({ ...session.envelope('ping', {}), seq: 5 }));
    session.sendDtmf('1');
    expect(sent.map((m) => m.seq)).toEqual([1, 5, 6]);
    session.sendRawText('not json');
    session.sendDtmf('2');
    expect(sent.at(-1)!.seq).toBe(7);
  });

  it('converts stereo/L16 server audio to μ-law external for the report', () => {
    const { session, server } = setup();
    session.open(openRequest([L16_STEREO]));
    server('opened', { startPaused: false, media: [L16_STEREO] });
    const frame = new Uint8Array(8); // 2 sample frames of L16 stereo (zeros = silence)
    session.handleBinary(frame);
    expect(session.violationList).toEqual([]);
    expect(session.report().receivedAudio).toEqual(new Uint8Array([0xff, 0xff]));
  });
});

describe('ClientSession: violations', () => {
  const cases: Array<[string, (s: ReturnType<typeof setup>) => void, string, number]> = [
    ['wrong seq', (s) => (s.open(), s.server('pong', {}, { seq: 5 })), 'seq-out-of-order', 400],
    ['server seq starting at 0', (s) => (s.session.open(openRequest()), s.server('opened', { startPaused: false, media: [] }, { seq: 0 })), 'invalid-message', 400],
    ['missing parameters', (s) => (s.session.open(openRequest()), s.server('opened', {}, { parameters: undefined })), 'missing-parameters', 400],
    ['wrong version', (s) => (s.session.open(openRequest()), s.server('opened', { startPaused: false, media: [] }, { version: 2 })), 'wrong-version', 400],
    ['wrong id', (s) => (s.session.open(openRequest()), s.server('opened', { startPaused: false, media: [] }, { id: '00000000-0000-0000-0000-000000000001' })), 'wrong-id', 400],
    ['malformed JSON', (s) => (s.session.open(openRequest()), s.session.handleText('{"type":')), 'malformed-json', 400],
    ['text over 65,535 chars', (s) => (s.session.open(openRequest()), s.session.handleText(' '.repeat(65_536))), 'text-too-large', 413],
    ['unknown server type', (s) => (s.open(), s.server('transcript')), 'invalid-message', 400],
    ['opened with two media', (s) => (s.session.open(openRequest([PCMU_EXTERNAL, PCMU_STEREO])), s.server('opened', { startPaused: false, media: [PCMU_EXTERNAL, PCMU_STEREO] })), 'opened-media-invalid', 400],
    ['opened with a non-offered entry', (s) => (s.session.open(openRequest()), s.server('opened', { startPaused: false, media: [PCMU_STEREO] })), 'opened-media-invalid', 400],
    ['opened with reordered channels', (s) => (s.session.open(openRequest([PCMU_STEREO])), s.server('opened', { startPaused: false, media: [{ ...PCMU_STEREO, channels: ['internal', 'external'] }] })), 'opened-media-invalid', 400],
    ['opened without startPaused', (s) => (s.session.open(openRequest()), s.server('opened', { media: [] })), 'invalid-message', 400],
    ['opened twice', (s) => (s.open(), s.server('opened', { startPaused: false, media: [PCMU_EXTERNAL] })), 'opened-unexpected', 409],
    ['opened acknowledging nothing', (s) => (s.session.open(openRequest()), s.server('opened', { startPaused: false, media: [] }, { clientseq: 0 })), 'clientseq-invalid', 400],
    ['clientseq ahead of what we sent', (s) => (s.open(), s.server('event', { entities: [{ type: 'barge_in', data: {} }] }, { clientseq: 9 })), 'clientseq-invalid', 400],
    ['pong without ping', (s) => (s.open(), s.server('pong')), 'pong-unexpected', 409],
    ['pong with wrong clientseq', (s) => (s.open(), s.session.sendDtmf('1'), s.clock.advance(1000), s.server('pong', {}, { clientseq: 2 })), 'pong-clientseq-mismatch', 400],
    ['pong missing when next ping is due', (s) => (s.open(), s.clock.advance(6000)), 'pong-timeout', 408],
    ['opened after the deadline', (s) => (s.session.open(openRequest()), s.clock.advance(5000)), 'opened-timeout', 408],
    ['closed after the deadline', (s) => (s.open(), s.session.close(), s.clock.advance(10_000)), 'closed-timeout', 408],
    ['closed without close', (s) => (s.open(), s.server('closed')), 'closed-unexpected', 409],
    ['event before opened', (s) => (s.session.open(openRequest()), s.server('event', { entities: [{ type: 'barge_in', data: {} }] })), 'message-unexpected', 409],
    ['pause after disconnect', (s) => (s.open(), s.server('disconnect', { reason: 'completed' }), s.server('pause')), 'message-unexpected', 409],
    ['disconnect twice', (s) => (s.open(), s.server('disconnect', { reason: 'completed' }), s.server('disconnect', { reason: 'completed' })), 'disconnect-repeated', 409],
    ['disconnect with an unknown reason', (s) => (s.open(), s.server('disconnect', { reason: 'transfer' })), 'invalid-message', 400],
    ['outputVariables that are not strings', (s) => (s.open(), s.server('disconnect', { reason: 'completed', outputVariables: { n: 1 } })), 'invalid-message', 400],
    ['binary before opened', (s) => (s.session.open(openRequest()), s.session.handleBinary(new Uint8Array(160))), 'binary-before-opened', 409],
    ['binary after disconnect', (s) => (s.open(), s.server('disconnect', { reason: 'completed' }), s.session.handleBinary(new Uint8Array(160))), 'binary-after-disconnect', 409],
    ['binary over 64,000 bytes', (s) => (s.open(), s.session.handleBinary(new Uint8Array(64_001))), 'binary-too-large', 413],
    ['binary with a partial sample', (s) => (s.session.open(openRequest([L16_STEREO])), s.server('opened', { startPaused: false, media: [L16_STEREO] }), s.session.handleBinary(new Uint8Array(6))), 'binary-partial-sample', 400],
    ['binary although no media', (s) => (s.session.open(openRequest()), s.server('opened', { startPaused: false, media: [] }), s.session.handleBinary(new Uint8Array(160))), 'binary-without-media', 415],
    ['socket dropped before closed', (s) => (s.open(), s.session.handleTransportClosed()), 'socket-closed-early', 500],
  ];

  it.each(cases)('%s → %s', (_name, act, code, status) => {
    const s = setup({ firstPingMs: 1000, pingIntervalMs: 5000 });
    act(s);
    expect(codes(s.session)).toEqual([code]);
    expect(s.session.state).toBe('failed');
    if (code !== 'socket-closed-early') {
      expect(s.sent.at(-1)).toMatchObject({ type: 'error', parameters: { code: status } });
      expect(s.isClosed()).toBe(true);
    }
    expect(() => s.session.sendDtmf('1')).toThrow(/failed/);
  });

  it('accepts binary of exactly 64,000 bytes', () => {
    const s = setup();
    s.open();
    s.session.handleBinary(new Uint8Array(64_000));
    expect(s.session.violationList).toEqual([]);
  });
});

describe('ClientSession: playback model', () => {
  it('sends playback_started on first audio and playback_completed when the buffer drains at 8000 B/s', () => {
    const { session, open, clock, types } = setup({ pingIntervalMs: 0 });
    open();
    session.handleBinary(new Uint8Array(1600)); // 200 ms
    clock.advance(100);
    session.handleBinary(new Uint8Array(1600)); // queued behind: ends at 400 ms
    expect(types()).toEqual(['open', 'playback_started']);
    clock.advance(299);
    expect(types()).toEqual(['open', 'playback_started']);
    clock.advance(1);
    expect(types()).toEqual(['open', 'playback_started', 'playback_completed']);
    expect(session.report().playback).toEqual([{ startedAt: 1000, completedAt: 1400, reason: 'drained' }]);
  });

  it('flushes the buffer on barge_in and completes at once', () => {
    const { session, open, clock, server, types } = setup({ pingIntervalMs: 0 });
    open();
    session.handleBinary(new Uint8Array(8000)); // 1 s
    clock.advance(300);
    server('event', { entities: [{ type: 'barge_in', data: {} }] });
    expect(types()).toEqual(['open', 'playback_started', 'playback_completed']);
    expect(session.report().playback[0]).toMatchObject({ completedAt: 1300, reason: 'flushed' });
    clock.advance(2000);
    expect(types()).toHaveLength(3);
  });

  it('records with each event how much server audio came before it (its offset in receivedAudio)', () => {
    const { session, open, server } = setup({ pingIntervalMs: 0 });
    open();
    server('event', { entities: [{ type: 'bot_turn_response', data: { disposition: 'match', text: 'hi' } }] });
    session.handleBinary(new Uint8Array(1600));
    session.handleBinary(new Uint8Array(800));
    server('event', { entities: [{ type: 'barge_in', data: {} }] });
    session.handleBinary(new Uint8Array(400));
    const report = session.report();
    expect(report.events.map((e) => [e.entity.type, e.receivedAudioBytes])).toEqual([
      ['bot_turn_response', 0],
      ['barge_in', 2400],
    ]);
    expect(report.receivedAudio.length).toBe(2800);
  });
});
