/**
 * The CLI as a user runs it (child processes), in one file so the long real-time calls overlap:
 * - `npm run demo` from a clean environment (no model keys, no .env: cwd is a fresh directory), so it must
 *   use the built-in emulator, replay the sample call in real time (~45 s) and write the bot audio;
 * - `replay` of every caller fixture against the production serve path + the offline emulator started
 *   here: each must pass the simulator's strict checks.
 * Faulty servers, bad input and usage: usage-errors.test.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSilent } from '../../src/audio/level.js';
import { parseWav } from '../../src/audio/wav.js';
import type { CallRecord } from '../../src/bridge/webhook.js';
import type { ReplayResult } from '../../src/cli/replay.js';
import { REPO_ROOT, runCli, scratchDir, startStack, type CliRun, type Stack } from './support.js';

const CHILD_TIMEOUT_MS = 150_000;
let stack: Stack;
let dir: string;
let demoDir: string;
/** Started before everything else and awaited by the demo tests, so it runs alongside the replays. */
let demo: Promise<{ run: CliRun } | { error: unknown }>;

beforeAll(async () => {
  demoDir = scratchDir();
  demo = runCli(['demo', '--json', '--out', 'out/demo-bot.wav'], { cwd: demoDir, timeoutMs: CHILD_TIMEOUT_MS }).then(
    (run) => ({ run }),
    (error: unknown) => ({ error }),
  );
  stack = await startStack();
  dir = scratchDir();
}, 30_000);

afterAll(async () => {
  await stack?.close();
});

function replay(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return runCli(['replay', ...args], { cwd: dir, env, timeoutMs: CHILD_TIMEOUT_MS });
}

function replayAgainstStack(fixture: string, extra: string[]): Promise<CliRun> {
  const out = join(dir, `${fixture}.bot.wav`);
  return replay([join(REPO_ROOT, 'fixtures/caller', fixture), '--url', stack.url, '--api-key', stack.apiKey, '--client-secret', stack.clientSecret, '--json', '--out', out, ...extra]);
}

/** The CLI's JSON report, after checking the run passed the simulator's strict checks. */
function passedStrictly(run: CliRun): ReplayResult {
  expect(run.stderr, 'nothing on stderr (no violation, no error)').toBe('');
  expect(run.code).toBe(0);
  const result = JSON.parse(run.stdout) as ReplayResult;
  expect(result.violations).toEqual([]);
  expect(['caller-hung-up', 'bot-disconnected']).toContain(result.ending);
  expect(result.timings.openToOpenedMs).not.toBeNull();
  return result;
}

/** The --out WAV holds exactly the bot audio the simulator received, and it is not silence. */
function botWav(result: ReplayResult): Uint8Array {
  const wav = parseWav(new Uint8Array(readFileSync(result.out!)));
  expect(wav.format).toMatchObject({ encoding: 'PCMU', sampleRate: 8000, channels: 1 });
  expect(wav.data.length).toBe(result.audio.receivedBytes);
  expect(wav.format.durationMs).toBe(result.audio.receivedMs);
  expect(isSilent(wav.data)).toBe(false);
  return wav.data;
}

const fixtureBytes = (path: string) => new Uint8Array(readFileSync(join(REPO_ROOT, 'fixtures', path)));

/** Whether any aligned, non-silent `chunk`-byte slice of `needle` occurs in `haystack`. */
function containsAnyChunkOf(haystack: Uint8Array, needle: Uint8Array, chunk = 800): boolean {
  const hay = Buffer.from(haystack);
  for (let i = 0; i + chunk <= needle.length; i += chunk) {
    const slice = needle.subarray(i, i + chunk);
    if (!isSilent(slice) && hay.indexOf(slice) >= 0) return true;
  }
  return false;
}

describe('replay of each caller fixture through bridge + emulator passes the strict checks', () => {
  it.concurrent.each(['hello.wav', 'hello.ulaw', 'hello-stereo-l16.wav'])('%s (--fast)', async (fixture) => {
    const result = passedStrictly(await replayAgainstStack(fixture, ['--fast', '--idle', '2']));
    expect(result.pacing).toBe('fast');
    expect(result.audio.sentMs).toBeGreaterThanOrEqual(3527);
    const audio = botWav(result);
    // The bot speaks the script's audio byte for byte (PCMU end to end): the greeting, or — when the caller's
    // words, sent all at once, reach the model first and interrupt it — the reply to them.
    const scripted = ['bot/greeting.ulaw', 'bot/ask-order.ulaw'].some((f) => containsAnyChunkOf(audio, fixtureBytes(f)));
    expect(scripted).toBe(true);
    expect(result.botTurns.length).toBeGreaterThanOrEqual(1);
  }, CHILD_TIMEOUT_MS);

  it.concurrent('multi-turn-call.wav (real time, DTMF cue from its cue file): the bot ends the call with output variables', async () => {
    const cues = JSON.parse(readFileSync(join(REPO_ROOT, 'fixtures/caller/multi-turn-call.cues.json'), 'utf8')) as { dtmf: Array<{ digits: string; atSec: number }> };
    const dtmf = cues.dtmf.flatMap((d) => ['--dtmf', `${d.digits}@${d.atSec}`]);
    const result = passedStrictly(await replayAgainstStack('multi-turn-call.wav', [...dtmf, '--input', 'COMPANY_NAME=Acme']));
    botWav(result);
    expect(result.ending).toBe('bot-disconnected');
    expect(result.disconnect?.reason).toBe('completed');
    expect(Object.keys(result.disconnect?.outputVariables ?? {}).length).toBeGreaterThan(0);
    expect(result.botTurns.length).toBeGreaterThanOrEqual(3);
  }, CHILD_TIMEOUT_MS);

  it.concurrent('barge-in-call.wav (real time): ≥ 1 barge_in and no byte of the interrupted reply after it', async () => {
    const cues = JSON.parse(readFileSync(join(REPO_ROOT, 'fixtures/caller/barge-in-call.cues.json'), 'utf8')) as {
      utterances: Array<{ interruptsBotReply: string | null }>;
    };
    const interrupted = cues.utterances.find((u) => u.interruptsBotReply)!.interruptsBotReply!;
    const result = passedStrictly(await replayAgainstStack('barge-in-call.wav', []));
    expect(result.bargeIns).toBeGreaterThanOrEqual(1);
    const audio = botWav(result);
    const reply = fixtureBytes(`bot/${interrupted}.ulaw`);
    const firstBargeIn = result.events.find((e) => e.type === 'barge_in')!;
    const before = audio.subarray(0, firstBargeIn.botAudioBytesBefore);
    const after = audio.subarray(firstBargeIn.botAudioBytesBefore);
    // The reply was playing when the caller barged in (so the check below can see its bytes)…
    expect(containsAnyChunkOf(before, reply)).toBe(true);
    // …and none of it arrived afterwards.
    expect(containsAnyChunkOf(after, reply)).toBe(false);
  }, CHILD_TIMEOUT_MS);
});

describe('demo (offline, real time)', { timeout: CHILD_TIMEOUT_MS + 10_000 }, () => {
  let run: CliRun;
  let report: { model: string; replay: ReplayResult; webhook: CallRecord | null };

  beforeAll(async () => {
    const outcome = await demo;
    if ('error' in outcome) throw outcome.error;
    run = outcome.run;
    expect(run.code, run.stderr).toBe(0);
    report = JSON.parse(run.stdout) as typeof report;
  }, CHILD_TIMEOUT_MS + 10_000);

  it('exits 0, prints only its JSON report on stdout, and says it uses the emulator, a stand-in', () => {
    expect(report.model).toBe('emulator');
    expect(run.stderr).toMatch(/EMULATOR — an offline stand-in/);
  });

  it('replays the sample call cleanly: no protocol violation, the bot ends the call with output variables', () => {
    expect(report.replay.violations).toEqual([]);
    expect(report.replay.ending).toBe('bot-disconnected');
    expect(report.replay.disconnect?.reason).toBe('completed');
    expect(Object.keys(report.replay.disconnect?.outputVariables ?? {})).toContain('CONVERSATION_SUMMARY');
    expect(report.replay.botTurns.length).toBeGreaterThanOrEqual(3);
  });

  it('writes a non-silent WAV (relative --out, under its cwd) as long as the bot audio the simulator received', () => {
    const wav = parseWav(new Uint8Array(readFileSync(join(demoDir, 'out/demo-bot.wav'))));
    expect(wav.format).toMatchObject({ encoding: 'PCMU', sampleRate: 8000, channels: 1 });
    expect(report.replay.audio.receivedBytes).toBeGreaterThan(8000);
    expect(wav.data.length).toBe(report.replay.audio.receivedBytes);
    expect(wav.format.durationMs).toBe(report.replay.audio.receivedMs);
    expect(isSilent(wav.data)).toBe(false);
  });

  it('prints the operations console URL and the token it started with', () => {
    expect(run.stderr).toMatch(/^Console: http:\/\/127\.0\.0\.1:\d+\/console {3}token: [A-Za-z0-9_-]{24}$/m);
  });

  it('delivers the call summary to its local webhook receiver', () => {
    expect(report.webhook).not.toBeNull();
    expect(report.webhook!.end_reason).toBe('bot_ended');
    expect(report.webhook!.transcript.length).toBeGreaterThan(0);
  });
});
