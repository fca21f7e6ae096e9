/**
 * `replay`: act as Genesys Cloud against any AudioHook deployment, using the strict client simulator.
 * Streams a recorded call, sends DTMF on cue, records what the server sends back, and reports it.
 * Exit codes: 0 clean run, 1 protocol violations, 2 bad usage or input file, 3 connection failure or timeout.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { AudioFileError, readAudioFile, writeUlawWav, type AudioFormat } from '../audio/wav.js';
import { ConnectError, createSimulatedCall, ulawSource, WaitError, type GenesysClient } from '../simulator/index.js';
import type { SimulationReport } from '../simulator/report.js';
import { systemClock } from '../util/clock.js';

export const REPLAY_USAGE = `Usage: audiohook-realtime replay <audio file> [options]

Acts as Genesys Cloud: opens an AudioHook session, streams the recording as caller audio (200 ms frames),
records the bot audio, and checks every server message strictly.

Input: WAV (PCMU or 16-bit PCM, 8 kHz, mono or stereo) or raw .ulaw (8 kHz μ-law mono).

Options:
  --url URL               AudioHook endpoint, ws:// or wss:// (default ws://127.0.0.1:8080/audiohook)
  --api-key KEY           X-API-KEY (default $GENESYS_API_KEY)
  --client-secret B64     sign the upgrade with this client secret (default $GENESYS_CLIENT_SECRET)
  --input NAME=value      an Architect input variable (repeatable)
  --dtmf DIGITS@SECONDS   send keypad digits at this time into the call, e.g. 1234#@18.5 (repeatable)
  --language xx-xx        open.parameters.language (e.g. en-us)
  --realtime | --fast     stream at real time (default) or as fast as possible
  --out FILE.wav          write the bot audio as a playable WAV (default: not written)
  --json                  print a machine-readable report on stdout
  --timeout SECONDS       give up after this long (default 180)
  --idle SECONDS          after the recording ends, hang up once the bot has been silent this long (default 3)
`;

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface ReplayOptions {
  file: string;
  url: string;
  apiKey: string;
  clientSecret?: string;
  inputVariables: Record<string, string>;
  dtmf: Array<{ digits: string; atMs: number }>;
  language?: string;
  pacing: 'realtime' | 'fast';
  out?: string;
  json: boolean;
  timeoutMs: number;
  idleMs: number;
}

export function parseReplayArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): ReplayOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        url: { type: 'string' },
        'api-key': { type: 'string' },
        'client-secret': { type: 'string' },
        input: { type: 'string', multiple: true },
        dtmf: { type: 'string', multiple: true },
        language: { type: 'string' },
        realtime: { type: 'boolean' },
        fast: { type: 'boolean' },
        out: { type: 'string' },
        json: { type: 'boolean' },
        timeout: { type: 'string' },
        idle: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) throw new UsageError('');
  if (positionals.length !== 1) throw new UsageError('give exactly one audio file to replay');
  const url = values.url ?? 'ws://127.0.0.1:8080/audiohook';
  if (!/^wss?:\/\/[^/]+/.test(url)) throw new UsageError(`--url must be a ws:// or wss:// URL, got "${url}"`);
  const apiKey = values['api-key'] ?? env.GENESYS_API_KEY;
  if (!apiKey) throw new UsageError('--api-key is required (or set GENESYS_API_KEY)');
  if (values.realtime && values.fast) throw new UsageError('choose one of --realtime and --fast');

  const inputVariables: Record<string, string> = {};
  for (const entry of values.input ?? []) {
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new UsageError(`--input must be NAME=value, got "${entry}"`);
    const name = entry.slice(0, eq);
    if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(name)) throw new UsageError(`--input name "${name}" is not a valid variable name`);
    inputVariables[name] = entry.slice(eq + 1);
  }
  const dtmf = (values.dtmf ?? []).map((entry) => {
    const m = /^([0-9*#A-D]+)@(\d+(?:\.\d+)?)$/.exec(entry);
    if (!m) throw new UsageError(`--dtmf must be DIGITS@SECONDS (digits 0-9 * # A-D), e.g. 1234#@18.5; got "${entry}"`);
    return { digits: m[1]!, atMs: Math.round(Number(m[2]) * 1000) };
  });
  const seconds = (name: string, text: string | undefined, fallback: number) => {
    if (text === undefined) return fallback * 1000;
    const n = Number(text);
    if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} must be a positive number of seconds, got "${text}"`);
    return Math.round(n * 1000);
  };
  const clientSecret = values['client-secret'] ?? env.GENESYS_CLIENT_SECRET;
  return {
    file: positionals[0]!,
    url,
    apiKey,
    ...(clientSecret ? { clientSecret } : {}),
    inputVariables,
    dtmf,
    ...(values.language ? { language: values.language } : {}),
    pacing: values.fast ? 'fast' : 'realtime',
    ...(values.out ? { out: values.out } : {}),
    json: values.json === true,
    timeoutMs: seconds('timeout', values.timeout, 180),
    idleMs: seconds('idle', values.idle, 3),
  };
}

export interface BotTurn {
  atMs: number;
  text: string;
  disposition: string;
}

export interface ReplayResult {
  file: string;
  inputFormat: AudioFormat;
  url: string;
  sessionId: string;
  /** How the session ended from the caller's side. */
  ending: 'bot-disconnected' | 'caller-hung-up' | 'timeout' | 'session-failed';
  timings: { openToOpenedMs: number | null; openedToFirstBotAudioMs: number | null; closeToClosedMs: number | null; totalMs: number };
  audio: { sentMs: number; receivedMs: number; frames: number; maxFrameBytes: number };
  bargeIns: number;
  botTurns: BotTurn[];
  disconnect: SimulationReport['disconnect'];
  violations: Array<{ code: string; message: string }>;
  out?: string;
}

/** Runs one replay. Throws UsageError/AudioFileError for bad input, ConnectError when the upgrade fails. */
export async function replayCall(options: ReplayOptions, onProgress?: (line: string) => void): Promise<ReplayResult> {
  const audio = await readAudioFile(options.file);
  const startedAt = systemClock.now();
  const client = await createSimulatedCall({
    url: options.url,
    apiKey: options.apiKey,
    ...(options.clientSecret ? { clientSecret: options.clientSecret } : {}),
    inputVariables: options.inputVariables,
    ...(options.language ? { language: options.language } : {}),
  });

  const timers: Array<ReturnType<typeof setTimeout>> = [];
  for (const { digits, atMs } of options.dtmf) timers.push(setTimeout(() => client.sendDtmf(digits), atMs));
  const progress = onProgress
    ? setInterval(() => onProgress(progressLine(client, systemClock.now() - startedAt)), 250)
    : undefined;

  let ending: ReplayResult['ending'];
  try {
    ending = await driveCall(client, audio.ulaw, options, startedAt);
  } finally {
    for (const t of timers) clearTimeout(t);
    if (progress) clearInterval(progress);
  }
  const report = client.report();
  if (options.out) {
    await mkdir(dirname(options.out), { recursive: true });
    await writeFile(options.out, writeUlawWav(report.receivedAudio));
  }
  return summarise(options, audio.format, report, ending, systemClock.now() - startedAt);
}

async function driveCall(client: GenesysClient, ulaw: Uint8Array, options: ReplayOptions, startedAt: number): Promise<ReplayResult['ending']> {
  const deadline = startedAt + options.timeoutMs;
  const remaining = () => Math.max(1, deadline - systemClock.now());
  const ended = client.ended.then(() => 'ended' as const);
  // A live line: after the recording, the caller stays on with silence until the bot goes quiet.
  const streamer = client.streamAudio(ulawSource(ulaw, { thenSilence: false }), { pacing: options.pacing });
  const first = await Promise.race([streamer.done.then(() => 'streamed' as const), ended, sleep(remaining()).then(() => 'timeout' as const)]);
  if (first === 'ended') return endingOf(client);
  if (first === 'timeout') return timeOut(client, streamer);
  const silence = client.streamAudio(ulawSource(new Uint8Array(0), { thenSilence: true }), { pacing: 'realtime' });
  try {
    const quiet = waitForBotQuiet(client, options.idleMs, remaining());
    const second = await Promise.race([quiet.then(() => 'quiet' as const), ended]);
    if (second === 'ended') return endingOf(client);
  } catch {
    if (client.report().state === 'closed' || client.report().timings.socketClosedAt !== null) return endingOf(client);
    return timeOut(client, silence);
  } finally {
    silence.stop();
  }
  await client.close('end', Math.max(11_000, Math.min(remaining(), 15_000))).catch(() => undefined);
  return 'caller-hung-up';
}

async function timeOut(client: GenesysClient, streamer: { stop(): void }): Promise<'timeout'> {
  streamer.stop();
  await client.close('end', 11_000).catch(() => client.terminate());
  return 'timeout';
}

function endingOf(client: GenesysClient): ReplayResult['ending'] {
  const report = client.report();
  if (report.disconnect) return 'bot-disconnected';
  return report.violations.length > 0 ? 'session-failed' : 'caller-hung-up';
}

/** Resolves when no bot audio has been playing (per the simulator's playout model) for `idleMs`. */
function waitForBotQuiet(client: GenesysClient, idleMs: number, timeoutMs: number): Promise<void> {
  const quietSince = () => {
    const report = client.report();
    const last = report.playback.at(-1);
    if (last && last.completedAt === null) return null;
    const lastAudio = report.receivedFrames.at(-1)?.at ?? report.timings.openedAt ?? 0;
    return Math.max(last?.completedAt ?? 0, lastAudio);
  };
  return new Promise((resolve, reject) => {
    const started = systemClock.now();
    const timer = setInterval(() => {
      const since = quietSince();
      const now = systemClock.now();
      if (since !== null && now - since >= idleMs) {
        clearInterval(timer);
        resolve();
      } else if (now - started > timeoutMs) {
        clearInterval(timer);
        reject(new WaitError(`timed out waiting for the bot to go quiet`, client.report()));
      }
    }, 100);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function progressLine(client: GenesysClient, elapsedMs: number): string {
  const r = client.report();
  const bargeIns = r.events.filter((e) => e.entity.type === 'barge_in').length;
  return `[${(elapsedMs / 1000).toFixed(1).padStart(5)} s] sent ${(r.positionMs / 1000).toFixed(1)} s · bot audio ${(r.receivedAudio.length / 8000).toFixed(1)} s · barge-ins ${bargeIns} · ${r.state}`;
}

function summarise(options: ReplayOptions, inputFormat: AudioFormat, report: SimulationReport, ending: ReplayResult['ending'], totalMs: number): ReplayResult {
  const origin = report.timings.openedAt ?? report.timings.createdAt;
  const botTurns: BotTurn[] = report.events
    .filter((e) => e.entity.type === 'bot_turn_response')
    .map((e) => {
      const data = (e.entity.data ?? {}) as { text?: unknown; disposition?: unknown };
      return { atMs: Math.round(e.at - origin), text: String(data.text ?? ''), disposition: String(data.disposition ?? '') };
    });
  return {
    file: options.file,
    inputFormat,
    url: options.url,
    sessionId: report.sessionId,
    ending,
    timings: {
      openToOpenedMs: round(report.timings.openToOpenedMs),
      openedToFirstBotAudioMs: round(report.timings.openedToFirstServerAudioMs),
      closeToClosedMs: round(report.timings.closeToClosedMs),
      totalMs: Math.round(totalMs),
    },
    audio: {
      sentMs: report.positionMs,
      receivedMs: report.receivedAudio.length / 8,
      frames: report.receivedFrames.length,
      maxFrameBytes: report.receivedFrames.reduce((m, f) => Math.max(m, f.bytes), 0),
    },
    bargeIns: report.events.filter((e) => e.entity.type === 'barge_in').length,
    botTurns,
    disconnect: report.disconnect,
    violations: report.violations.map((v) => ({ code: v.code, message: v.message })),
    ...(options.out ? { out: options.out } : {}),
  };
}

function round(ms: number | null): number | null {
  return ms === null ? null : Math.round(ms * 10) / 10;
}

/** Human-readable report, as printed at the end of a replay. */
export function formatReplay(result: ReplayResult): string {
  const lines: string[] = [];
  const t = result.timings;
  lines.push(`Replayed ${result.file} → ${result.url} (session ${result.sessionId})`);
  lines.push(
    `Timings: open → opened ${fmtMs(t.openToOpenedMs)}, opened → first bot audio ${fmtMs(t.openedToFirstBotAudioMs)}, close → closed ${fmtMs(t.closeToClosedMs)}, total ${(t.totalMs / 1000).toFixed(1)} s`,
  );
  lines.push(`Audio: sent ${(result.audio.sentMs / 1000).toFixed(1)} s, received ${(result.audio.receivedMs / 1000).toFixed(1)} s of bot audio in ${result.audio.frames} frames (largest ${result.audio.maxFrameBytes} B)`);
  lines.push(`Barge-ins: ${result.bargeIns}`);
  lines.push('Bot turns (bot_turn_response events, as Genesys saw them):');
  if (result.botTurns.length === 0) lines.push('  (none sent)');
  for (const turn of result.botTurns) lines.push(`  [${(turn.atMs / 1000).toFixed(1).padStart(5)} s] ${turn.text}`);
  const d = result.disconnect;
  lines.push(`Ending: ${result.ending}${d ? ` — disconnect reason "${d.reason}"${d.info ? ` (${d.info})` : ''}` : ''}`);
  if (d?.outputVariables && Object.keys(d.outputVariables).length > 0) {
    lines.push('Output variables:');
    for (const [k, v] of Object.entries(d.outputVariables)) lines.push(`  ${k} = ${v}`);
  }
  if (result.out) lines.push(`Bot audio written to ${result.out}`);
  if (result.violations.length === 0) lines.push('Protocol violations: none');
  else {
    lines.push(`Protocol violations: ${result.violations.length}`);
    for (const v of result.violations) lines.push(`  [${v.code}] ${v.message}`);
  }
  return lines.join('\n');
}

function fmtMs(ms: number | null): string {
  return ms === null ? 'n/a' : `${ms} ms`;
}

/** Entry for `audiohook-realtime replay`. Returns the process exit code. */
export async function runReplayCli(argv: string[]): Promise<number> {
  let options: ReplayOptions;
  try {
    options = parseReplayArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      if (err.message) process.stderr.write(`replay: ${err.message}\n\n`);
      process.stderr.write(REPLAY_USAGE);
      return err.message ? 2 : 0;
    }
    throw err;
  }
  const live = process.stderr.isTTY && !options.json;
  try {
    const result = await replayCall(options, live ? (line) => process.stderr.write(`\r${line}\x1b[K`) : undefined);
    if (live) process.stderr.write('\n');
    process.stdout.write(options.json ? `${JSON.stringify(result, null, 2)}\n` : `${formatReplay(result)}\n`);
    if (result.violations.length > 0) return 1;
    return result.ending === 'timeout' ? 3 : 0;
  } catch (err) {
    if (live) process.stderr.write('\n');
    if (err instanceof AudioFileError) {
      process.stderr.write(`replay: ${options.file}: ${err.message}\n`);
      return 2;
    }
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      process.stderr.write(`replay: cannot read ${options.file}: no such file\n`);
      return 2;
    }
    if (err instanceof ConnectError) {
      const hint = err.status === 401 ? ' (check --api-key / --client-secret)' : err.status === 404 ? ' (check the path in --url)' : '';
      process.stderr.write(`replay: cannot open a session at ${options.url}: ${err.message}${hint}\n`);
      return 3;
    }
    if (err instanceof WaitError) {
      process.stderr.write(`replay: ${err.message}\n`);
      return err.report.violations.length > 0 ? 1 : 3;
    }
    throw err;
  }
}
