import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createReplyAudioResolver } from '../../src/emulator/script.js';
import { EmulatorSession, type EmulatorObserver } from '../../src/emulator/session.js';
import { ManualClock } from '../../src/util/clock.js';
import { PCMU_SESSION, TONES_SCRIPT } from './harness.js';

function session(observer: EmulatorObserver, retainInputAudio?: boolean) {
  const clock = new ManualClock(1000);
  const s = new EmulatorSession({
    model: 'gpt-realtime-2.1',
    script: TONES_SCRIPT,
    resolveAudio: createReplyAudioResolver(),
    speed: 'instant',
    chunkMs: 100,
    clock,
    wallNow: () => clock.now(),
    logger: pino({ level: 'silent' }),
    transport: { send: () => undefined, close: () => undefined },
    observer,
    ...(retainInputAudio !== undefined ? { retainInputAudio } : {}),
  });
  s.start();
  return { s, clock };
}

describe('EmulatorSession observer (benchmark hooks)', () => {
  it('reports valid client events with their arrival time and every server event before it is sent', () => {
    const client: { type: string; at: number }[] = [];
    const server: string[] = [];
    const { s } = session({
      onClientEvent: (_id, event, at) => client.push({ type: event.type, at }),
      onServerEvent: (_id, event) => server.push(String(event.type)),
    });
    s.handleMessage(JSON.stringify({ type: 'session.update', session: PCMU_SESSION }), 42);
    s.handleMessage(JSON.stringify({ type: 'input_audio_buffer.append', audio: Buffer.from([1, 2, 3]).toString('base64') }));
    s.handleMessage(JSON.stringify({ type: 'no.such.event' }), 50);
    expect(client).toEqual([
      { type: 'session.update', at: 42 },
      { type: 'input_audio_buffer.append', at: 1000 },
    ]);
    expect(server).toEqual(['session.created', 'conversation.created', 'session.updated', 'error']);
  });

  it('keeps no input audio when retainInputAudio is false, and keeps it by default', () => {
    const append = JSON.stringify({ type: 'input_audio_buffer.append', audio: Buffer.alloc(160, 0xff).toString('base64') });
    const lean = session({}, false).s;
    lean.handleMessage(append);
    expect(lean.inputAudio).toHaveLength(0);
    expect(lean.inputAudioBytes().length).toBe(0);
    const full = session({}).s;
    full.handleMessage(append);
    expect(full.inputAudio).toHaveLength(1);
    expect(full.inputAudioBytes().length).toBe(160);
  });
});
