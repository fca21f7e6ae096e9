/**
 * Whole calls through the CLI, in one file so the long real-time calls overlap:
 * - `npm run demo` as a user runs it (the real binary, from a clean environment: no model keys, no .env,
 *   cwd a fresh directory), so it must use the built-in emulator, replay the sample call in real time
 *   (~45 s) and write the bot audio and the call recording;
 * - `replay` of the other caller fixtures (in-process: the command function the binary calls) against the
 *   production serve path + the offline emulator started here: each must pass the simulator's strict checks
 *   (the demo is the multi-turn call through the same replay code);
 * - the real `replay` binary once against that stack, and the binary's exit codes for a few outcomes.
 * Faulty servers, bad input and usage in-process: usage-errors.test.ts and release-gate.test.ts.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSilent } from '../../src/audio/level.js';
import { parseWav } from '../../src/audio/wav.js';
import type { CallRecord } from '../../src/bridge/webhook.js';
import { FAST_PACING_WARNING, REPLAY_EXIT, type ReplayResult } from '../../src/cli/replay.js';
import { startFakeServer } from '../simulator/fake-server.js';
import { readCallRecording, silentBetween, speechSpans } from '../support/call-recording.js';
import { REPO_ROOT, runBinary, runInProcess, scratchDir, startStack, stderrLines, type CliRun, type Stack } from '../support/cli.js';

const CALL_TIMEOUT_MS = 150_000;
let stack: Stack;
let dir: string;
let demoDir: string;
type Outcome<T> = Promise<T | { error: unknown }>;
/** The binary runs: started before everything else and awaited by their tests, so they run alongside the replays. */
let demo: Outcome<{ run: CliRun }>;
let binaryReplay: Outcome<{ run: CliRun }>;
let exitCodes: Outcome<{ runs: Awaited<ReturnType<typeof binaryExitCodes>> }>;
const settled = <T>(p: Promise<T>): Outcome<T> => p.catch((error: unknown) => ({ error }));
/**
 * Resolves once the child processes are past their start-up (the CPU-heavy part: tsx compiling, the SDKs
 * loading): the real-time calls in this process wait for it, so their turn-taking is not starved.
 */
let childrenStarted: Promise<unknown>;

beforeAll(async () => {
  demoDir = scratchDir();
  let demoReplaying!: () => void;
  const demoStarted = new Promise<void>((resolve) => (demoReplaying = resolve));
  demo = settled(
    runBinary(['demo', '--json', '--out', 'out/demo-bot.wav'], {
      cwd: demoDir,
      timeoutMs: CALL_TIMEOUT_MS,
      onSpawn: (child) => child.stderr?.on('data', (chunk: unknown) => String(chunk).includes('Caller: replaying') && demoReplaying()),
    }).then((run) => ({ run })),
  );
  stack = await startStack();
  dir = scratchDir();
  binaryReplay = settled(runBinary(['replay', ...stackArgs('hello.wav', ['--fast', '--idle', '2'])], { cwd: dir, timeoutMs: CALL_TIMEOUT_MS }).then((run) => ({ run })));
  exitCodes = settled(binaryExitCodes().then((runs) => ({ runs })));
  childrenStarted = Promise.race([Promise.all([binaryReplay, exitCodes, demoStarted]), demo]);
}, 30_000);

afterAll(async () => {
  await Promise.all([demo, binaryReplay, exitCodes]);
  await stack?.close();
});

function stackArgs(fixture: string, extra: string[]): string[] {
  const out = join(dir, `${fixture}.bot.wav`);
  return [join(REPO_ROOT, 'fixtures/caller', fixture), '--url', stack.url, '--api-key', stack.apiKey, '--client-secret', stack.clientSecret, '--json', '--out', out, ...extra];
}

function replayAgainstStack(fixture: string, extra: string[]): Promise<CliRun> {
  return runInProcess(['replay', ...stackArgs(fixture, extra)], { cwd: dir });
}

/** The CLI's JSON report, after checking the run passed the simulator's strict checks. */
function passedStrictly(run: CliRun): ReplayResult {
  const result = JSON.parse(run.stdout) as ReplayResult;
  // Nothing on stderr (no violation, no error) but the note that --fast changes turn-taking.
  expect(run.stderr).toBe(result.pacing === 'fast' ? `replay: warning: ${FAST_PACING_WARNING}\n` : '');
  expect(run.code).toBe(0);
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

/** μ-law with its negative zero (0x7F) written as the positive one, as a decode–encode round trip leaves it. */
const canonical = (ulaw: Uint8Array) => ulaw.map((b) => (b === 0x7f ? 0xff : b));

/**
 * The --record-call WAV is the call as heard: stereo, the caller's recording from the start of the session
 * on the left, the bot on the right from its first audio on, both on the call's clock (as long as the call,
 * not as the audio), with the pauses between the bot's turns kept.
 */
function callRecording(result: ReplayResult, path: string, callerFixture: string): ReturnType<typeof readCallRecording> {
  const rec = readCallRecording(path);
  expect(rec.durationMs).toBeGreaterThanOrEqual(result.audio.sentMs);
  // Bot audio arrives up to a second ahead of real time (the pacer's lead) and is heard after it arrived.
  expect(rec.durationMs).toBeLessThanOrEqual(result.timings.totalMs + 1000);
  const caller = canonical(fixtureBytes(`caller/${callerFixture}`).subarray(0)).subarray(0, 3 * 8000);
  // The caller's recording starts right after `opened` (within 100 ms) and plays unchanged.
  const start = Buffer.from(rec.caller.subarray(0, 800 + caller.length)).indexOf(Buffer.from(caller));
  expect(start, 'the first 3 s of the caller recording, at the start of the left channel').toBeGreaterThanOrEqual(0);
  expect(start).toBeLessThanOrEqual(800);
  // The bot's first audio is where the report says it arrived.
  const botSpans = speechSpans(rec.bot);
  expect(botSpans.length).toBeGreaterThanOrEqual(1);
  expect(Math.abs(botSpans[0]![0] - result.timings.openedToFirstBotAudioMs!)).toBeLessThan(250);
  return rec;
}

describe('replay of each caller fixture through bridge + emulator passes the strict checks', () => {
  it.concurrent.each(['hello.ulaw', 'hello-stereo-l16.wav'])('%s (--fast)', async (fixture) => {
    const result = passedStrictly(await replayAgainstStack(fixture, ['--fast', '--idle', '2']));
    expect(result.pacing).toBe('fast');
    expect(result.warnings).toEqual([FAST_PACING_WARNING]);
    expect(result.audio.sentMs).toBeGreaterThanOrEqual(3527);
    const audio = botWav(result);
    // The bot speaks the script's audio byte for byte (PCMU end to end): the greeting, or — when the caller's
    // words, sent all at once, reach the model first and interrupt it — the reply to them.
    const scripted = ['bot/greeting.ulaw', 'bot/ask-order.ulaw'].some((f) => containsAnyChunkOf(audio, fixtureBytes(f)));
    expect(scripted).toBe(true);
    expect(result.botTurns.length).toBeGreaterThanOrEqual(1);
  }, CALL_TIMEOUT_MS);

  it.concurrent('barge-in-call.wav (real time): ≥ 1 barge_in and no byte of the interrupted reply after it; the call recording has the overlap and the cut', async () => {
    const cues = JSON.parse(readFileSync(join(REPO_ROOT, 'fixtures/caller/barge-in-call.cues.json'), 'utf8')) as {
      utterances: Array<{ interruptsBotReply: string | null }>;
    };
    const interrupted = cues.utterances.find((u) => u.interruptsBotReply)!.interruptsBotReply!;
    const record = join(dir, 'barge-in.call.wav');
    await childrenStarted;
    const result = passedStrictly(await replayAgainstStack('barge-in-call.wav', ['--input', 'COMPANY_NAME=Acme', '--record-call', record]));
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

    const rec = callRecording(result, record, 'barge-in-call.ulaw');
    // Caller and bot speak at once just before the barge-in (the interruption one listens for)…
    // For about 80 ms plus the trip to the model and back: the interruption is audible from 11.52 s of the
    // recording, but the emulator's VAD hears speech only from 11.61 s, in the 200 ms frame sent at 11.6 s.
    // Measured in 20 ms windows whose phase moves with the time `opened` took, so it reads 80 or 100 ms; the
    // check was ≥ 100 ms and failed when `opened` came fast (CI, 2026-11-30).
    const callerSpans = speechSpans(rec.caller);
    const botSpans = speechSpans(rec.bot);
    const overlapMs = Math.max(0, ...callerSpans.flatMap(([cs, ce]) => botSpans.map(([bs, be]) => Math.min(ce, be) - Math.max(cs, bs))));
    expect(overlapMs, `caller ${JSON.stringify(callerSpans)}, bot ${JSON.stringify(botSpans)}`).toBeGreaterThanOrEqual(40);
    // …and the bot channel goes quiet at the barge-in: the rest of the interrupted reply is not played.
    expect(silentBetween(rec.bot, firstBargeIn.atMs + 50, firstBargeIn.atMs + 400)).toBe(true);
  }, CALL_TIMEOUT_MS);
});

describe('the binary (started with the demo, so they overlap the calls above)', { timeout: CALL_TIMEOUT_MS }, () => {
  it('replays hello.wav against bridge + emulator: exit 0, JSON report, bot audio WAV', async () => {
    const outcome = await binaryReplay;
    if ('error' in outcome) throw outcome.error;
    const result = passedStrictly(outcome.run);
    botWav(result);
    expect(result.botTurns.length).toBeGreaterThanOrEqual(1);
  });

  it('exits with the code the command returns: 5 bot disconnect error, 130 Ctrl-C (a real SIGINT), 2 unknown command', async () => {
    const outcome = await exitCodes;
    if ('error' in outcome) throw outcome.error;
    const { botError, ctrlC, unknown } = outcome.runs;
    expect(botError.code, botError.stderr).toBe(REPLAY_EXIT.botError);
    expect(stderrLines(botError)).toEqual(['replay: the bot ended the call with disconnect error: bad input variable']);
    expect(ctrlC.code, ctrlC.stderr).toBe(REPLAY_EXIT.interrupted);
    expect(ctrlC.stdout).toMatch(/^Ending: interrupted$/m);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^unknown command "no-such-command"/);
  });
});

/**
 * The binary's exit codes (the full table is checked in-process: format.test.ts, usage-errors.test.ts,
 * release-gate.test.ts): a code returned by a command becomes the process's, and Ctrl-C is a real SIGINT.
 * A fake server chooses what to do by the API key the replay sends.
 */
async function binaryExitCodes(): Promise<Record<'botError' | 'ctrlC' | 'unknown', CliRun>> {
  let child: ChildProcess | undefined;
  const fake = await startFakeServer((conn) => {
    conn.behaveCorrectly({
      open: (msg) => {
        conn.send('opened', { startPaused: false, media: msg.parameters.media.slice(0, 1) });
        const key = String(conn.headers['x-api-key']);
        if (key === 'disconnect-error') conn.send('disconnect', { reason: 'error', info: 'bad input variable' });
        // The session is open: the CLI has its SIGINT handler by now.
        if (key === 'ctrl-c') setTimeout(() => child?.kill('SIGINT'), 300);
      },
    });
  });
  const hello = join(REPO_ROOT, 'fixtures/caller/hello.wav');
  const binary = (args: string[], onSpawn?: (c: ChildProcess) => void) =>
    runBinary(args, { cwd: dir, timeoutMs: CALL_TIMEOUT_MS, ...(onSpawn ? { onSpawn } : {}) });
  try {
    const [botError, ctrlC, unknown] = await Promise.all([
      binary(['replay', hello, '--url', fake.url, '--api-key', 'disconnect-error']),
      binary(['replay', hello, '--url', fake.url, '--api-key', 'ctrl-c'], (c) => (child = c)),
      binary(['no-such-command']),
    ]);
    return { botError: botError!, ctrlC: ctrlC!, unknown: unknown! };
  } finally {
    await fake.close();
  }
}

describe('demo (offline, real time, the binary)', { timeout: CALL_TIMEOUT_MS + 10_000 }, () => {
  let run: CliRun;
  let report: { model: string; scripted?: string; replay: ReplayResult; webhook: CallRecord | null };

  beforeAll(async () => {
    const outcome = await demo;
    if ('error' in outcome) throw outcome.error;
    run = outcome.run;
    expect(run.code, run.stderr).toBe(0);
    report = JSON.parse(run.stdout) as typeof report;
  }, CALL_TIMEOUT_MS + 10_000);

  it('exits 0, prints only its JSON report on stdout, and says it uses the emulator, a stand-in whose transcript and summary are scripted', () => {
    expect(report.model).toBe('emulator');
    expect(run.stderr).toMatch(/EMULATOR — an offline stand-in/);
    expect(report.scripted).toBe("scripted by the emulator, not derived from the caller's audio");
  });

  it('replays the sample call (multi-turn, real time, its DTMF cue) cleanly: no protocol violation, the bot ends the call with output variables', () => {
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

  it('writes the call as heard (default out/demo-call.wav): the caller and the bot where they spoke, the pauses kept', () => {
    expect(report.replay.recordCall).toBe('out/demo-call.wav');
    const rec = callRecording(report.replay, join(demoDir, 'out/demo-call.wav'), 'multi-turn-call.ulaw');
    expect(speechSpans(rec.caller).length).toBeGreaterThanOrEqual(3);
    // The bot's turns are spread over the call with the caller's turns between them, not joined end to end.
    const botSpans = speechSpans(rec.bot);
    expect(botSpans.length).toBeGreaterThanOrEqual(3);
    expect(botSpans.at(-1)![1] - botSpans[0]![0]).toBeGreaterThan(report.replay.audio.receivedMs + 5000);
    // While the caller says "order number one two three four" (15.0–17.8 s of the recording) the bot is quiet.
    const callerStartMs = Buffer.from(rec.caller).indexOf(Buffer.from(canonical(fixtureBytes('caller/multi-turn-call.ulaw')).subarray(0, 8000))) / 8;
    expect(silentBetween(rec.bot, callerStartMs + 15_100, callerStartMs + 17_700)).toBe(true);
  });

  it('delivers the call summary to its local webhook receiver', () => {
    expect(report.webhook).not.toBeNull();
    expect(report.webhook!.end_reason).toBe('bot_ended');
    expect(report.webhook!.transcript.length).toBeGreaterThan(0);
  });

  it("looks the order up through the demo bot's MCP tool and speaks the result", () => {
    expect(report.webhook!.bot).toBe('demo');
    expect(report.webhook!.tools).toEqual([expect.objectContaining({ tool: 'get_order_status', bot: 'demo', outcome: 'ok' })]);
    expect(report.webhook!.transcript.map((t) => t.text).join(' ')).toContain('Order 1234 shipped yesterday and should arrive on Thursday');
  });
});
