import { describe, expect, it } from 'vitest';
import { parseReplayArgs, UsageError } from '../../src/cli/replay-args.js';

const usage = (argv: string[], env: NodeJS.ProcessEnv = {}) => {
  try {
    parseReplayArgs(argv, env);
  } catch (err) {
    if (err instanceof UsageError) return err;
    throw err;
  }
  throw new Error('expected a UsageError');
};

describe('parseReplayArgs', () => {
  it('parses every option', () => {
    const o = parseReplayArgs(
      ['call.wav', '--url', 'wss://bot.example.com/audiohook/x', '--api-key', 'k', '--client-secret', 'c2VjcmV0',
        '--input', 'A=1', '--input', 'B=x=y', '--dtmf', '1234#@18.5', '--dtmf', '0@2', '--language', 'en-us',
        '--fast', '--out', 'o.wav', '--record-call', 'call.wav', '--json', '--timeout', '30', '--idle', '1.5'],
      {},
    );
    expect(o).toEqual({
      file: 'call.wav',
      url: 'wss://bot.example.com/audiohook/x',
      apiKey: 'k',
      clientSecret: 'c2VjcmV0',
      inputVariables: { A: '1', B: 'x=y' },
      dtmf: [{ digits: '1234#', atMs: 18_500 }, { digits: '0', atMs: 2000 }],
      language: 'en-us',
      pacing: 'fast',
      out: 'o.wav',
      recordCall: 'call.wav',
      json: true,
      timeoutMs: 30_000,
      idleMs: 1500,
    });
  });

  it('defaults: realtime, key and secret from the environment, 180 s timeout, 3 s idle', () => {
    const o = parseReplayArgs(['call.ulaw'], { GENESYS_API_KEY: 'env-key', GENESYS_CLIENT_SECRET: 'c2VjcmV0' });
    expect(o).toMatchObject({ url: 'ws://127.0.0.1:8080/audiohook', apiKey: 'env-key', clientSecret: 'c2VjcmV0', pacing: 'realtime', json: false, timeoutMs: 180_000, idleMs: 3000 });
  });

  it.each([
    [['a.wav', '--api-key', 'k', '--input', 'novalue'], /--input must be NAME=value/],
    [['a.wav', '--api-key', 'k', '--input', '=x'], /--input must be NAME=value/],
    [['a.wav', '--api-key', 'k', '--input', '1bad=x'], /not a valid variable name/],
    [['a.wav', '--api-key', 'k', '--input', 'A=1', '--input', 'A=2'], /given twice/],
    [['a.wav', '--api-key', 'k', '--dtmf', '12'], /--dtmf must be DIGITS@SECONDS/],
    [['a.wav', '--api-key', 'k', '--dtmf', '1x@3'], /--dtmf must be DIGITS@SECONDS/],
    [['a.wav', '--api-key', 'k', '--url', 'http://x/'], /ws:\/\/ or wss:\/\//],
    [['a.wav', '--api-key', 'k', '--fast', '--realtime'], /choose one/],
    [['a.wav', '--api-key', 'k', '--timeout', '0'], /--timeout must be a positive/],
    [['a.wav', '--api-key', 'k', '--client-secret', 'not base64!'], /--client-secret must be base64/],
    [['a.wav'], /--api-key is required/],
    [['--api-key', 'k'], /give the audio file/],
    [['a.wav', 'b.wav', '--api-key', 'k'], /exactly one audio file/],
    [['a.wav', '--api-key', 'k', '--bogus'], /^Unknown option '--bogus'$/],
    [['a.wav', '--api-key', 'k', '--out', 'x.wav', '--record-call', 'x.wav'], /--out and --record-call must name different files/],
  ])('%j is a one-line usage error', (argv, message) => {
    const err = usage(argv);
    expect(err.message).toMatch(message);
    expect(err.message).not.toContain('\n');
    expect(err.help).toBe(false);
  });

  it('--help asks for the usage', () => {
    expect(usage(['--help']).help).toBe(true);
    expect(usage(['-h']).help).toBe(true);
  });
});
