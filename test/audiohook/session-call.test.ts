import { describe, expect, it } from 'vitest';
import { ANI, bytes, CONVERSATION_ID, CORRELATION_ID, DNIS, expectWellSequenced, makeHarness, NULL_UUID, ORG_ID, PCMU_MONO, SESSION_ID } from './harness.js';

describe('AudioHook session: a typical Audio Connector call', () => {
  it('open → opened (verbatim media, startPaused false, clientseq 1) → createCall with the context', () => {
    const h = makeHarness();
    h.client.open({ customConfig: { bot: 'x' } });

    expect(h.socket.texts).toHaveLength(1);
    const opened = JSON.parse(h.socket.texts[0]!);
    expect(opened).toEqual({
      version: '2',
      id: SESSION_ID,
      type: 'opened',
      seq: 1,
      clientseq: 1,
      parameters: { startPaused: false, media: [PCMU_MONO] },
    });
    expect(h.session.state).toBe('active');

    expect(h.contexts).toHaveLength(1);
    const ctx = h.contexts[0]!;
    expect(ctx).toMatchObject({
      sessionId: SESSION_ID,
      correlationId: CORRELATION_ID,
      organizationId: ORG_ID,
      conversationId: CONVERSATION_ID,
      connectorId: 'bot-a',
      language: 'en-us',
      inputVariables: { customerTier: 'gold' },
      customConfig: { bot: 'x' },
      media: PCMU_MONO,
      layout: { type: 'audio', format: 'PCMU', channels: ['external'], rate: 8000 },
      openedAt: 1_000,
    });
    expect(ctx.participant.ani).toBe(ANI);
    // The call's logger carries the ids.
    ctx.logger.info('hello from the call');
    const line = h.logs.lines.find((l) => l.msg === 'hello from the call')!;
    expect(line).toMatchObject({ sessionId: SESSION_ID, correlationId: CORRELATION_ID, conversationId: CONVERSATION_ID });
  });

  it('defaults inputVariables and customConfig to {} and leaves language undefined', () => {
    const h = makeHarness();
    h.client.open({ inputVariables: undefined, language: undefined });
    expect(h.contexts[0]).toMatchObject({ inputVariables: {}, customConfig: {}, language: undefined });
  });

  it('answers supportedLanguages with [] only when asked', () => {
    const asked = makeHarness();
    asked.client.open({ supportedLanguages: true });
    expect(asked.socket.last().parameters).toEqual({ startPaused: false, media: [PCMU_MONO], supportedLanguages: [] });

    const configured = makeHarness({ supportedLanguages: ['en-us'] });
    configured.client.open({ supportedLanguages: true });
    expect(configured.socket.last().parameters).toMatchObject({ supportedLanguages: ['en-us'] });

    const notAsked = makeHarness({ supportedLanguages: ['en-us'] });
    notAsked.client.open({ supportedLanguages: false });
    expect(notAsked.socket.last().parameters).not.toHaveProperty('supportedLanguages');
  });

  it('answers ping with pong immediately, pong.clientseq == ping.seq, parameters {}', () => {
    const h = makeHarness();
    h.client.open();
    h.client.send('ping', {});
    h.client.send('ping', { rtt: 'PT0.035S' });
    const pongs = h.socket.ofType('pong');
    expect(pongs.map((p) => [p.seq, p.clientseq, p.parameters])).toEqual([
      [2, 2, {}],
      [3, 3, {}],
    ]);
    expectWellSequenced(h.socket);
  });

  it('delivers caller audio with stream positions, and ignores empty frames', () => {
    const h = makeHarness();
    h.client.open();
    h.client.audio(bytes(1600, 0x11));
    h.client.audio(new Uint8Array(0));
    h.client.audio(bytes(800, 0x22));
    const audio = h.calls.filter((c) => c.callback === 'onAudio');
    expect(audio).toHaveLength(2);
    expect(audio[0]!.args).toEqual([bytes(1600, 0x11), 0]);
    expect(audio[1]!.args).toEqual([bytes(800, 0x22), 200]);
  });

  it('dtmf, playback_started/completed reach the handler; dtmf digits are never logged', () => {
    const h = makeHarness();
    h.client.open();
    h.client.positionMs = 8200;
    h.client.send('dtmf', { digit: '5' });
    h.client.send('playback_started', {});
    h.client.send('playback_completed', {});
    expect(h.calls.slice(0).map((c) => [c.callback, ...c.args])).toEqual([
      ['onDtmf', '5', 8200],
      ['onPlaybackStarted'],
      ['onPlaybackCompleted'],
    ]);
    expect(h.logs.raw.join('\n')).not.toContain('"digit"');
  });

  it('update → updated {} and onUpdate with the lowercased language', () => {
    const h = makeHarness();
    h.client.open();
    h.client.send('update', { language: 'es-ES' });
    expect(h.socket.last()).toMatchObject({ type: 'updated', parameters: {}, clientseq: 2 });
    expect(h.calls).toEqual([{ callback: 'onUpdate', args: [{ language: 'es-es' }] }]);
  });

  it('discarded advances the timeline and calls onDiscarded', () => {
    const h = makeHarness();
    h.client.open();
    h.client.audio(bytes(800)); // 100 ms
    h.client.send('discarded', { start: 'PT0.1S', discarded: 'PT0.5S' });
    h.client.audio(bytes(800));
    expect(h.calls.map((c) => [c.callback, c.args[1] ?? c.args[0]])).toEqual([
      ['onAudio', 0],
      ['onDiscarded', { startMs: 100, discardedMs: 500 }],
      ['onAudio', 600],
    ]);
  });

  it('client error: 429 with retryAfter parsed to ms (info log); other 4xx logged at warn', () => {
    const h = makeHarness();
    h.client.open();
    h.client.send('error', { code: 429, message: 'Rate limit exceeded', retryAfter: 'PT1.5S' });
    h.client.send('error', { code: 400, message: 'Message is malformed' });
    expect(h.calls).toEqual([
      { callback: 'onClientError', args: [{ code: 429, message: 'Rate limit exceeded', retryAfterMs: 1500 }] },
      { callback: 'onClientError', args: [{ code: 400, message: 'Message is malformed' }] },
    ]);
    const warn = h.logs.lines.filter((l) => l.level === 40 && l.code === 400);
    expect(warn).toHaveLength(1);
    const info429 = h.logs.lines.find((l) => l.code === 429)!;
    expect(info429.level).toBe(30);
    expect(h.session.state).toBe('active');
  });

  it('unknown message types are logged and ignored, but their seq counts', () => {
    const h = makeHarness();
    h.client.open();
    h.client.send('brand_new_type', { anything: 1 });
    h.client.send('ping', {});
    expect(h.session.state).toBe('active');
    expect(h.socket.last()).toMatchObject({ type: 'pong', clientseq: 3 });
    expect(h.logs.lines.some((l) => l.type === 'brand_new_type' && l.level === 30)).toBe(true);
  });

  it('client close → onClose(close, end) → closed {} → socket closed; finished resolves; no timers left', async () => {
    const h = makeHarness();
    h.client.open();
    h.client.audio(bytes(1600));
    h.client.send('close', { reason: 'end' });
    expect(h.session.state).toBe('closing');
    await h.session.finished;
    expect(h.session.state).toBe('closed');
    expect(h.socket.last()).toMatchObject({ type: 'closed', parameters: {}, clientseq: 2 });
    expect(h.socket.closeCalls).toBe(1);
    expect(h.names().filter((n) => n === 'onClose')).toHaveLength(1);
    expect(h.calls.at(-1)).toEqual({ callback: 'onClose', args: [{ kind: 'close', reason: 'end' }] });
    expect(h.clock.pending).toBe(0);
    expectWellSequenced(h.socket);
  });

  it('events may be flushed while closing, before closed', async () => {
    let sent: boolean | undefined;
    const h = makeHarness({
      onClose: async () => {
        await Promise.resolve();
        sent = h.control.sendEvent([{ type: 'bot_turn_response', data: { disposition: 'match', text: 'bye' } }]);
      },
    });
    h.client.open();
    h.client.send('close', { reason: 'end' });
    await h.session.finished;
    expect(sent).toBe(true);
    expect(h.socket.types).toEqual(['opened', 'event', 'closed']);
    expect(h.control.sendEvent([{ type: 'barge_in', data: {} }])).toBe(false);
  });

  it('server disconnect (completed, outputVariables) → client close(disconnect) → closed', async () => {
    const h = makeHarness();
    h.client.open();
    h.control.disconnect('completed', 'Caller intent resolved', { intent: 'billing', transfer: 'false' });
    expect(h.session.state).toBe('disconnecting');
    expect(h.socket.last()).toMatchObject({
      type: 'disconnect',
      parameters: { reason: 'completed', info: 'Caller intent resolved', outputVariables: { intent: 'billing', transfer: 'false' } },
    });
    // Only once; audio and events refused while awaiting the close transaction.
    h.control.disconnect('error', 'again');
    expect(h.socket.ofType('disconnect')).toHaveLength(1);
    expect(h.control.sendAudio(bytes(160))).toBe(false);
    expect(h.control.sendEvent([{ type: 'barge_in', data: {} }])).toBe(false);
    expect(h.socket.binaries).toHaveLength(0);
    // In-flight caller audio and dtmf after disconnect are not errors.
    h.client.audio(bytes(1600));
    h.client.send('dtmf', { digit: '1' });
    h.client.send('ping', {});
    expect(h.socket.last().type).toBe('pong');
    h.client.send('close', { reason: 'disconnect' });
    await h.session.finished;
    expect(h.socket.types).toEqual(['opened', 'disconnect', 'pong', 'closed']);
    expect(h.calls.filter((c) => c.callback !== 'onClose')).toEqual([]);
    expect(h.calls.at(-1)!.args[0]).toEqual({ kind: 'close', reason: 'disconnect' });
    expect(h.clock.pending).toBe(0);
    expectWellSequenced(h.socket);
  });

  it('disconnect drops non-string outputVariables (error log naming the key, not the value)', () => {
    const h = makeHarness();
    h.client.open();
    h.control.disconnect('completed', undefined, { ok: 'yes', bad: 42, worse: { a: 1 } } as unknown as Record<string, string>);
    expect(h.socket.last().parameters).toEqual({ reason: 'completed', outputVariables: { ok: 'yes' } });
    const line = h.logs.lines.find((l) => Array.isArray(l.rejectedKeys))!;
    expect(line.level).toBe(50);
    expect(line.rejectedKeys).toEqual(['bad', 'worse']);
  });

  it('a client that never closes after our disconnect is cut off after the bound', async () => {
    const h = makeHarness();
    h.client.open();
    h.control.disconnect('completed');
    h.clock.advance(9_999);
    expect(h.socket.closeCalls).toBe(0);
    h.clock.advance(1);
    expect(h.socket.closeCalls).toBe(1);
    await h.session.finished;
    expect(h.calls.at(-1)).toEqual({ callback: 'onClose', args: [{ kind: 'socket', code: 1000 }] });
    expect(h.session.state).toBe('closed');
    // The ws close event that follows is a no-op.
    h.session.handleSocketClosed(1006);
    expect(h.names().filter((n) => n === 'onClose')).toHaveLength(1);
    expect(h.clock.pending).toBe(0);
  });

  it('never logs ani, dnis or inputVariables values at info', async () => {
    const h = makeHarness();
    h.client.open({ inputVariables: { secretish: 'VALUE-123' } });
    h.client.send('close', { reason: 'end' });
    await h.session.finished;
    const infoAndAbove = h.logs.raw.filter((s) => (JSON.parse(s) as { level: number }).level >= 30).join('\n');
    expect(infoAndAbove).not.toContain(ANI);
    expect(infoAndAbove).not.toContain(DNIS);
    expect(infoAndAbove).not.toContain('VALUE-123');
    expect(infoAndAbove).toContain('secretish');
  });

  it('works without createCall (monitor-like): opens, ignores audio, closes', async () => {
    const h = makeHarness({ handler: null });
    h.client.open();
    h.client.audio(bytes(1600));
    h.client.send('close', { reason: 'end' });
    await h.session.finished;
    expect(h.socket.types).toEqual(['opened', 'closed']);
  });
});

describe('AudioHook session: connection probe', () => {
  it('opened with the chosen media, no call handler; close → closed', async () => {
    const h = makeHarness();
    h.client.open({
      conversationId: NULL_UUID,
      participant: { id: NULL_UUID, ani: '', aniName: '', dnis: '' },
    });
    expect(h.socket.last()).toMatchObject({ type: 'opened', parameters: { startPaused: false, media: [PCMU_MONO] } });
    expect(h.contexts).toHaveLength(0);
    h.client.send('close', { reason: 'end' });
    await h.session.finished;
    expect(h.socket.types).toEqual(['opened', 'closed']);
    expect(h.clock.pending).toBe(0);
  });

  it('never fails for lack of media: opened with []', () => {
    const h = makeHarness();
    h.client.open({
      conversationId: NULL_UUID,
      participant: { id: NULL_UUID, ani: '', aniName: '', dnis: '' },
      media: [{ type: 'audio', format: 'opus', channels: ['external'], rate: 48000 }],
    });
    expect(h.socket.last()).toMatchObject({ type: 'opened', parameters: { media: [] } });
    expect(h.session.state).toBe('active');
    expect(h.contexts).toHaveLength(0);
  });
});

describe('AudioHook session: pause and resume', () => {
  it('server-initiated: pause → paused → onPaused; resume → resumed → onResumed; idempotent', () => {
    const h = makeHarness();
    h.client.open();
    h.control.pause();
    h.control.pause();
    expect(h.socket.ofType('pause')).toHaveLength(1);
    // A pause is pending: no more bot audio.
    expect(h.control.sendAudio(bytes(160))).toBe(false);
    h.client.send('paused', {});
    expect(h.session.state).toBe('paused');
    expect(h.control.state).toBe('paused');
    h.control.pause();
    expect(h.socket.ofType('pause')).toHaveLength(1);
    h.control.resume();
    h.control.resume();
    expect(h.socket.ofType('resume')).toHaveLength(1);
    h.client.send('resumed', { start: 'PT3.0S', discarded: 'PT2.5S' });
    expect(h.session.state).toBe('active');
    expect(h.names()).toEqual(['onPaused', 'onResumed']);
    expect(h.calls[1]!.args).toEqual([{ startMs: 3000, discardedMs: 2500 }]);
    expect(h.control.sendAudio(bytes(160))).toBe(true);
    expectWellSequenced(h.socket);
  });

  it('client-initiated (unsolicited) paused and resumed; the pause gap moves the timeline', () => {
    const h = makeHarness();
    h.client.open();
    h.client.audio(bytes(8000)); // 1 s
    h.client.send('paused', {});
    expect(h.session.state).toBe('paused');
    expect(h.control.sendAudio(bytes(160))).toBe(false);
    h.client.send('resumed', { start: 'PT1.0S', discarded: 'PT4.0S' });
    h.client.audio(bytes(800));
    const audio = h.calls.filter((c) => c.callback === 'onAudio');
    expect(audio.map((c) => c.args[1])).toEqual([0, 5000]);
    expect(h.socket.types).toEqual(['opened']);
  });

  it('audio arriving while paused is dropped (not a protocol error) and not delivered', () => {
    const h = makeHarness();
    h.client.open();
    h.client.send('paused', {});
    h.client.audio(bytes(1600));
    expect(h.session.state).toBe('paused');
    expect(h.names()).toEqual(['onPaused']);
    expect(h.socket.types).toEqual(['opened']);
  });

  it('resume before the client confirmed the pause cancels it', () => {
    const h = makeHarness();
    h.client.open();
    h.control.pause();
    h.control.resume();
    expect(h.socket.types).toEqual(['opened', 'pause', 'resume']);
    expect(h.control.sendAudio(bytes(160))).toBe(true);
  });

  it('a second paused while paused (answer to resume during a client pause) keeps the pause', () => {
    const h = makeHarness();
    h.client.open();
    h.client.send('paused', {});
    h.control.resume();
    h.client.send('paused', {});
    expect(h.session.state).toBe('paused');
    expect(h.names()).toEqual(['onPaused']);
    h.control.resume();
    expect(h.socket.ofType('resume')).toHaveLength(2);
  });
});

describe('AudioHook session: call handler re-entrancy and logging', () => {
  it('createCall may greet synchronously: event and audio go out right after opened', () => {
    const h = makeHarness({
      createCall: (_ctx, control) => {
        control.sendEvent([{ type: 'bot_turn_response', data: { disposition: 'match', text: 'Hello' } }]);
        control.sendAudio(bytes(1600, 0xff));
        return { onClose: () => {} };
      },
    });
    h.client.open();
    expect(h.socket.types).toEqual(['opened', 'event']);
    expect(h.socket.binaries.map((b) => b.length)).toEqual([1600]);
    expectWellSequenced(h.socket);
  });

  it('createCall may end the call at once (e.g. unknown connector): disconnect follows opened', async () => {
    const h = makeHarness({
      createCall: (_ctx, control) => {
        control.disconnect('error', 'unknown connector');
        return { onClose: () => {} };
      },
    });
    h.client.open();
    expect(h.socket.types).toEqual(['opened', 'disconnect']);
    expect(h.session.state).toBe('disconnecting');
    h.client.send('close', { reason: 'disconnect' });
    await h.session.finished;
    expect(h.socket.types).toEqual(['opened', 'disconnect', 'closed']);
  });

  it('answers a ping that arrives before open', () => {
    const h = makeHarness();
    h.client.send('ping', {});
    expect(h.socket.last()).toMatchObject({ type: 'pong', seq: 1, clientseq: 1 });
    h.client.open();
    expect(h.socket.last()).toMatchObject({ type: 'opened', seq: 2, clientseq: 2 });
  });

  it('logs state transitions at debug and open/close at info, keyed by session and correlation id', async () => {
    const h = makeHarness();
    h.client.open();
    h.client.send('close', { reason: 'end' });
    await h.session.finished;
    const transitions = h.logs.lines.filter((l) => l.msg === 'state').map((l) => [l.level, l.from, l.to]);
    expect(transitions).toEqual([
      [20, 'preparing', 'opening'],
      [20, 'opening', 'active'],
      [20, 'active', 'closing'],
      [20, 'closing', 'closed'],
    ]);
    const opened = h.logs.lines.find((l) => l.msg === 'session opened')!;
    expect(opened).toMatchObject({ level: 30, sessionId: SESSION_ID, correlationId: CORRELATION_ID, conversationId: CONVERSATION_ID });
    expect(h.logs.lines.find((l) => l.msg === 'client close; closing session')).toMatchObject({ level: 30, reason: 'end' });
  });
});
