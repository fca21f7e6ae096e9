/**
 * `replay`: act as Genesys Cloud against any AudioHook deployment, using the strict client simulator.
 * Streams a recorded call, presses keys on cue, records what the server sends back, and reports it.
 * Exit codes: see REPLAY_EXIT.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, resolve } from 'node:path';
import type { ServerMessage } from '../audiohook/schemas.js';
import { AudioFileError, readAudioFile, writePcmWav, writeUlawWav, type AudioFormat, type WavTruncation } from '../audio/wav.js';
import { ulawSource } from '../simulator/audio-source.js';
import { CallRecording } from '../simulator/call-recording.js';
import { ConnectError, createSimulatedCall, WaitError, type GenesysClient } from '../simulator/genesys-client.js';
import type { SimulationReport } from '../simulator/report.js';
import { systemClock, type Clock } from '../util/clock.js';
import { BotQuietTracker } from './bot-quiet.js';
import { DtmfSchedule, withDtmfCues } from './dtmf-cues.js';
import type { CliIo, TextOut } from './io.js';
import { parseReplayArgs, REPLAY_EXIT, REPLAY_USAGE, UsageError, type ReplayOptions } from './replay-args.js';
import { ulawBytes, ulawMs } from '../util/ulaw-time.js';
import { sleep } from '../util/timers.js';

export { parseReplayArgs, REPLAY_EXIT, REPLAY_USAGE, UsageError, type ReplayOptions } from './replay-args.js';

export interface BotTurn {
  /** ms after `opened`. */
  atMs: number;
  text: string;
  disposition: string;
}

export interface ReplayEvent {
  type: string;
  /** ms after `opened`. */
  atMs: number;
  /** Bot audio bytes received before the event: its offset in the bot audio (and in the --out WAV's data). */
  botAudioBytesBefore: number;
}

export interface ReplayResult {
  file: string;
  inputFormat: AudioFormat;
  url: string;
  sessionId: string;
  pacing: ReplayOptions['pacing'];
  /** How the session ended from the caller's side ('interrupted': Ctrl-C, the caller hung up early). */
  ending: 'bot-disconnected' | 'caller-hung-up' | 'interrupted' | 'timeout' | 'session-failed';
  timings: { openToOpenedMs: number | null; openedToFirstBotAudioMs: number | null; closeToClosedMs: number | null; totalMs: number };
  audio: { sentMs: number; receivedBytes: number; receivedMs: number; frames: number; maxFrameBytes: number };
  bargeIns: number;
  botTurns: BotTurn[];
  events: ReplayEvent[];
  disconnect: SimulationReport['disconnect'];
  violations: Array<{ code: string; message: string }>;
  /** Things about the input or the run that change what the report means (each also printed on stderr). */
  warnings: string[];
  out?: string;
  recordCall?: string;
}

/** Live view of a running replay, for the progress line. */
export interface ReplayProgress {
  elapsedMs: number;
  sentMs: number;
  receivedBytes: number;
  bargeIns: number;
  state: string;
}

export interface ReplayHooks {
  onProgress?: (progress: ReplayProgress) => void;
  /** A warning about the input or the run, as soon as it is known (also listed in the result). */
  onWarning?: (warning: string) => void;
  /** Hangs up early (Ctrl-C). */
  signal?: AbortSignal;
  /** Relative paths in the options resolve against this directory (default: the process's). */
  cwd?: string;
}

/**
 * Runs one replay. Throws AudioFileError (or an fs error) for an unusable input file, ConnectError when
 * the upgrade fails, WaitError when no `opened` arrives. Protocol violations are in the result.
 */
export async function replayCall(options: ReplayOptions, hooks: ReplayHooks = {}): Promise<ReplayResult> {
  const { onProgress, signal } = hooks;
  const path = (file: string) => resolve(hooks.cwd ?? process.cwd(), file);
  const warnings: string[] = [];
  const warn = (warning: string) => {
    warnings.push(warning);
    hooks.onWarning?.(warning);
  };
  const audio = await readAudioFile(path(options.file));
  if (audio.truncated) warn(describeTruncation(options.file, audio.truncated));
  if (options.pacing === 'fast') warn(FAST_PACING_WARNING);
  const clock = systemClock;
  const startedAt = clock.now();
  const client = await createSimulatedCall({
    url: options.url,
    apiKey: options.apiKey,
    ...(options.clientSecret ? { clientSecret: options.clientSecret } : {}),
    inputVariables: options.inputVariables,
    ...(options.language ? { language: options.language } : {}),
  });

  const quiet = new BotQuietTracker(clock);
  // Bounded by --timeout (plus the close transaction): the whole call fits.
  const recording = options.recordCall ? new CallRecording(Math.ceil(ulawBytes(options.timeoutMs + 30_000))) : undefined;
  let bargeIns = 0;
  const unsubscribe = client.session.onEvent((event) => {
    if (event.kind === 'server-audio') {
      quiet.botAudio();
      recording?.bot(clock.now(), event.ulaw);
    } else if (event.kind === 'client-audio') recording?.caller(clock.now() - event.lateMs, event.ulaw);
    else if (event.kind === 'playback') quiet.playback(event.phase === 'started');
    else if (event.kind === 'state' && event.state === 'open') recording?.start(clock.now());
    else if (event.kind === 'server-message' && event.message.type === 'event') {
      const { entities } = (event.message as ServerMessage<'event'>).parameters;
      const barged = entities.filter((e) => e.type === 'barge_in').length;
      bargeIns += barged;
      if (barged > 0) recording?.flushBot(clock.now());
    }
  });
  const progress = onProgress
    ? setInterval(() => {
        const s = client.session;
        onProgress({ elapsedMs: clock.now() - startedAt, sentMs: s.positionMs, receivedBytes: s.receivedAudioBytes, bargeIns, state: describeState(client, quiet) });
      }, 250)
    : undefined;

  let ending: ReplayResult['ending'];
  try {
    ending = await driveCall(client, audio.ulaw, options, quiet, clock, startedAt, signal);
  } finally {
    unsubscribe();
    if (progress) clearInterval(progress);
  }
  const report = client.report();
  if (options.out) await writeFileMakingDir(path(options.out), writeUlawWav(report.receivedAudio));
  if (recording && options.recordCall) await writeFileMakingDir(path(options.recordCall), writePcmWav(recording.render(), 2));
  return summarise(options, audio.format, report, ending, clock.now() - startedAt, warnings);
}

async function writeFileMakingDir(file: string, bytes: Uint8Array): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, bytes);
}

/** Said whenever --fast is used: the report of such a run is not that of a real conversation. */
export const FAST_PACING_WARNING =
  '--fast sends the whole recording at once: every caller turn reaches the bot before it has answered the first, so turn-taking (replies, barge-ins) differs from a real call; use --realtime for that';

function describeTruncation(file: string, t: WavTruncation): string {
  return `${file} is truncated: its data chunk declares ${t.declaredBytes} bytes but the file holds ${t.presentBytes}; replaying the audio that is there`;
}

function describeState(client: GenesysClient, quiet: BotQuietTracker): string {
  const state = client.session.state;
  if (state !== 'open') return state;
  if (client.session.isPaused) return 'paused';
  if (quiet.botSpeaking) return 'open, bot speaking';
  const q = quiet.quietMs();
  return q > 0 ? `open, bot quiet ${(q / 1000).toFixed(1)} s` : 'open';
}

/**
 * The caller's side of the call: the recording (at the chosen pacing), then a live line of real-time
 * silence until the bot has been quiet for --idle, then hang up. Ends early when the bot disconnects,
 * the session fails, or --timeout passes.
 */
async function driveCall(
  client: GenesysClient,
  ulaw: Uint8Array,
  options: ReplayOptions,
  quiet: BotQuietTracker,
  clock: Clock,
  startedAt: number,
  signal: AbortSignal | undefined,
): Promise<ReplayResult['ending']> {
  const deadline = startedAt + options.timeoutMs;
  const cues = new DtmfSchedule(options.dtmf);
  const source = (audio: Uint8Array, thenSilence: boolean) => withDtmfCues(ulawSource(audio, { thenSilence }), cues, client.session);

  let ended = false;
  void client.ended.then(() => (ended = true));
  const untilEnded = client.ended.then(() => 'ended' as const);
  const timedOut = sleep(systemClock, Math.max(1, deadline - clock.now())).then(() => 'timeout' as const);
  const interrupted = new Promise<'interrupted'>((resolve) => {
    if (signal?.aborted) resolve('interrupted');
    else signal?.addEventListener('abort', () => resolve('interrupted'), { once: true });
  });

  const recording = client.streamAudio(source(ulaw, false), { pacing: options.pacing });
  const first = await Promise.race([recording.done.then(() => 'streamed' as const), untilEnded, timedOut, interrupted]);
  if (first === 'ended') return endingOf(client);
  if (first === 'timeout' || first === 'interrupted') return hangUpEarly(client, recording, first);

  quiet.recordingEnded();
  // A live line keeps sending (silent) audio in real time while the bot answers the last words.
  const line = client.streamAudio(source(new Uint8Array(0), true), { pacing: 'realtime' });
  const botQuiet = pollUntil(() => ended || quiet.quietMs() >= options.idleMs, 50).then(() => 'quiet' as const);
  const second = await Promise.race([botQuiet, untilEnded, timedOut, interrupted]);
  if (second === 'timeout' || second === 'interrupted') return hangUpEarly(client, line, second);
  line.stop();
  if (second === 'ended' || ended) return endingOf(client);
  await client.close('end', Math.min(15_000, Math.max(11_000, deadline - clock.now()))).catch(() => client.terminate());
  return client.report().violations.length > 0 ? 'session-failed' : 'caller-hung-up';
}

/** Hangs up before the call is over: stop the audio, then the close transaction like Genesys. */
async function hangUpEarly<T extends 'timeout' | 'interrupted'>(client: GenesysClient, streamer: { stop(): void }, why: T): Promise<T> {
  streamer.stop();
  await client.close('end', 11_000).catch(() => client.terminate());
  return why;
}

function endingOf(client: GenesysClient): ReplayResult['ending'] {
  const report = client.report();
  if (report.disconnect) return 'bot-disconnected';
  return report.violations.length > 0 ? 'session-failed' : 'caller-hung-up';
}

function pollUntil(condition: () => boolean, everyMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      if (condition()) {
        clearInterval(timer);
        resolve();
      }
    }, everyMs);
  });
}


function summarise(
  options: ReplayOptions,
  inputFormat: AudioFormat,
  report: SimulationReport,
  ending: ReplayResult['ending'],
  totalMs: number,
  warnings: string[],
): ReplayResult {
  const origin = report.timings.openedAt ?? report.timings.createdAt;
  const botTurns: BotTurn[] = report.events
    .filter((e) => e.entity.type === 'bot_turn_response')
    .map((e) => {
      const data = (e.entity.data ?? {}) as { text?: unknown; disposition?: unknown };
      return { atMs: Math.round(e.at - origin), text: typeof data.text === 'string' ? data.text : '', disposition: String(data.disposition ?? '') };
    });
  return {
    file: options.file,
    inputFormat,
    url: displayUrl(options.url),
    sessionId: report.sessionId,
    pacing: options.pacing,
    ending,
    timings: {
      openToOpenedMs: round(report.timings.openToOpenedMs),
      openedToFirstBotAudioMs: round(report.timings.openedToFirstServerAudioMs),
      closeToClosedMs: round(report.timings.closeToClosedMs),
      totalMs: Math.round(totalMs),
    },
    audio: {
      sentMs: report.positionMs,
      receivedBytes: report.receivedAudio.length,
      receivedMs: ulawMs(report.receivedAudio.length),
      frames: report.receivedFrames.length,
      maxFrameBytes: report.receivedFrames.reduce((m, f) => Math.max(m, f.bytes), 0),
    },
    bargeIns: report.events.filter((e) => e.entity.type === 'barge_in').length,
    botTurns,
    events: report.events.map((e) => ({ type: e.entity.type, atMs: Math.round(e.at - origin), botAudioBytesBefore: e.receivedAudioBytes })),
    disconnect: report.disconnect,
    violations: report.violations.map((v) => ({ code: v.code, message: v.message })),
    warnings,
    ...(options.out ? { out: options.out } : {}),
    ...(options.recordCall ? { recordCall: options.recordCall } : {}),
  };
}

/** The URL for output: a password in it (ws://user:secret@host) is replaced, never printed. */
export function displayUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (!parsed.password && !parsed.username) return url;
    parsed.username = parsed.username ? '***' : '';
    parsed.password = parsed.password ? '***' : '';
    return parsed.toString();
  } catch {
    return url;
  }
}

function round(ms: number | null): number | null {
  return ms === null ? null : Math.round(ms * 10) / 10;
}

/** Human-readable report, as printed at the end of a replay. */
export function formatReplay(result: ReplayResult): string {
  const lines: string[] = [];
  const t = result.timings;
  lines.push(`Replayed ${result.file} (${result.pacing}) → ${result.url} (session ${result.sessionId})`);
  lines.push(
    `Timings: open → opened ${fmtMs(t.openToOpenedMs)}, opened → first bot audio ${fmtMs(t.openedToFirstBotAudioMs)}, close → closed ${fmtMs(t.closeToClosedMs)}, total ${(t.totalMs / 1000).toFixed(1)} s`,
  );
  lines.push(
    `Audio: sent ${(result.audio.sentMs / 1000).toFixed(1)} s, received ${(result.audio.receivedMs / 1000).toFixed(1)} s of bot audio in ${result.audio.frames} frames (largest ${result.audio.maxFrameBytes} B)`,
  );
  lines.push(`Barge-ins: ${result.bargeIns}`);
  lines.push('Bot turns (bot_turn_response events, as Genesys saw them):');
  if (result.botTurns.length === 0) lines.push('  (none sent)');
  for (const turn of result.botTurns) {
    const mark = turn.disposition && turn.disposition !== 'match' ? ` [${turn.disposition}]` : '';
    lines.push(`  [${(turn.atMs / 1000).toFixed(1).padStart(5)} s] ${turn.text}${mark}`);
  }
  const d = result.disconnect;
  lines.push(`Ending: ${result.ending}${d ? ` — disconnect reason "${d.reason}"${d.info ? ` (${d.info})` : ''}` : ''}`);
  if (d?.outputVariables && Object.keys(d.outputVariables).length > 0) {
    lines.push('Output variables:');
    for (const [k, v] of Object.entries(d.outputVariables)) lines.push(`  ${k} = ${v}`);
  }
  if (result.out) lines.push(`Bot audio written to ${result.out}`);
  if (result.recordCall) lines.push(`Call recording (stereo: caller left, bot right, as heard) written to ${result.recordCall}`);
  for (const warning of result.warnings) lines.push(`Note: ${warning}`);
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

export function formatProgress(p: ReplayProgress): string {
  return `[${(p.elapsedMs / 1000).toFixed(1).padStart(5)} s] sent ${(p.sentMs / 1000).toFixed(1)} s · bot audio ${(p.receivedBytes / 8000).toFixed(1)} s · barge-ins ${p.bargeIns} · ${p.state}`;
}

/** Writes one live progress line on a terminal (stderr); nothing when stderr is not a TTY. */
export function liveProgress(stream: TextOut): { update?: (p: ReplayProgress) => void; end(): void } {
  if (!stream.isTTY) return { end: () => {} };
  let written = false;
  return {
    update: (p) => {
      written = true;
      stream.write(`\r${formatProgress(p)}\x1b[K`);
    },
    end: () => {
      if (written) stream.write('\n');
    },
  };
}

/** The one-line message and exit code for a failed replay. */
export function describeFailure(err: unknown, options: Pick<ReplayOptions, 'file' | 'url'>): { message: string; code: number } | undefined {
  const url = displayUrl(options.url);
  if (err instanceof AudioFileError) {
    const converted = `${basename(options.file, extname(options.file))}-8k.wav`;
    return { message: `${options.file}: ${err.found}; expected 8 kHz PCMU or 16-bit PCM WAV (mono/stereo) or raw .ulaw. Convert with: sox "${options.file}" -r 8000 -c 1 -e u-law ${converted}`, code: REPLAY_EXIT.usage };
  }
  const errno = (err as NodeJS.ErrnoException | null)?.code;
  if (errno === 'ENOENT') return { message: `cannot read ${options.file}: no such file`, code: REPLAY_EXIT.usage };
  if (errno === 'EISDIR') return { message: `cannot read ${options.file}: it is a directory`, code: REPLAY_EXIT.usage };
  if (errno === 'EACCES') return { message: `cannot read ${options.file}: permission denied`, code: REPLAY_EXIT.usage };
  if (err instanceof ConnectError) {
    const hint =
      err.status === 401 || err.status === 403
        ? ' (check --api-key / --client-secret)'
        : err.status === 404
          ? ' (check the path in --url)'
          : err.status === null
            ? ' (is the server running at that address?)'
            : '';
    return { message: `cannot open a session at ${url}: ${err.message}${hint}`, code: REPLAY_EXIT.connect };
  }
  if (err instanceof WaitError) {
    const violated = err.report.violations.length > 0;
    return { message: `no session at ${url}: ${err.message}`, code: violated ? REPLAY_EXIT.violations : REPLAY_EXIT.connect };
  }
  return undefined;
}

/** Entry for `audiohook-realtime replay`. Returns the process exit code. */
export async function runReplayCli(argv: string[], io: CliIo): Promise<number> {
  let options: ReplayOptions;
  try {
    options = parseReplayArgs(argv, io.env);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    if (err.help) {
      io.stdout.write(REPLAY_USAGE);
      return REPLAY_EXIT.ok;
    }
    io.stderr.write(`replay: ${err.message} (see replay --help)\n`);
    return REPLAY_EXIT.usage;
  }
  const live = liveProgress(io.stderr);
  // Ctrl-C hangs up properly (close → closed) and still prints the report; a second one kills.
  const hangUp = new AbortController();
  const stopListening = io.onInterrupt(() => hangUp.abort());
  let result: ReplayResult;
  try {
    result = await replayCall(options, {
      ...(live.update ? { onProgress: live.update } : {}),
      onWarning: (warning) => io.stderr.write(`${live.update ? '\r\x1b[K' : ''}replay: warning: ${oneLine(warning)}\n`),
      signal: hangUp.signal,
      cwd: io.cwd,
    });
  } catch (err) {
    live.end();
    const failure = describeFailure(err, options);
    if (!failure) throw err;
    io.stderr.write(`replay: ${oneLine(failure.message)}\n`);
    return failure.code;
  } finally {
    stopListening();
  }
  live.end();
  io.stdout.write(options.json ? `${JSON.stringify(result, null, 2)}\n` : `${formatReplay(result)}\n`);
  return exitCodeOf(result, options, io.stderr);
}

/** The exit code of a finished replay, with its one stderr line when it is not 0 (the exit-code table). */
export function exitCodeOf(result: ReplayResult, options: Pick<ReplayOptions, 'timeoutMs'>, stderr: TextOut): number {
  if (result.violations.length > 0) {
    const list = result.violations.map((v) => `[${v.code}] ${v.message}`).join('; ');
    stderr.write(`replay: ${result.violations.length} protocol violation(s): ${oneLine(list)}\n`);
    return REPLAY_EXIT.violations;
  }
  if (result.ending === 'bot-disconnected' && result.disconnect?.reason === 'error') {
    const info = result.disconnect.info ? `: ${oneLine(result.disconnect.info).slice(0, 300)}` : '';
    stderr.write(`replay: the bot ended the call with disconnect error${info}\n`);
    return REPLAY_EXIT.botError;
  }
  if (result.ending === 'timeout') {
    stderr.write(`replay: timed out after ${options.timeoutMs / 1000} s (raise --timeout)\n`);
    return REPLAY_EXIT.timeout;
  }
  if (result.ending === 'interrupted') return REPLAY_EXIT.interrupted;
  return REPLAY_EXIT.ok;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ');
}
