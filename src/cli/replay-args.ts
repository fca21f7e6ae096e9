/** Command line of `replay`: usage text, exit codes and option parsing (pure; no I/O). */
import { parseArgs } from 'node:util';
import type { DtmfCue } from './dtmf-cues.js';

/** Process exit codes of `replay` (documented in the usage text and the README). */
export const REPLAY_EXIT = {
  ok: 0,
  /** The server broke the protocol (each violation is printed). */
  violations: 1,
  /** Bad command line or input file. */
  usage: 2,
  /** No session: endpoint unreachable, upgrade refused (e.g. 401 for a wrong API key). */
  connect: 3,
  /** --timeout reached before the call ended. */
  timeout: 4,
  /** The bot ended the call with `disconnect` reason `error` (e.g. a bad input variable, a refused model key). */
  botError: 5,
  /** Ctrl-C: hung up early (after a clean close), report printed. */
  interrupted: 130,
} as const;

export const REPLAY_USAGE = `Usage: audiohook-realtime replay <audio file> [options]
       npm run replay -- <audio file> [options]

Acts as Genesys Cloud: opens an AudioHook session, streams the recording as caller audio (200 ms frames),
records the bot audio, and checks every server message strictly. After the recording the caller line stays
open with silence until the bot has been quiet for --idle seconds (or disconnects), then hangs up.

Input: WAV (PCMU or 16-bit PCM, 8 kHz, mono or stereo; channel 0 is the caller) or raw .ulaw (8 kHz μ-law mono).
A truncated WAV (data chunk longer than the file) is replayed as far as it goes, with a warning.

Options:
  --url URL               AudioHook endpoint, ws:// or wss:// (default ws://127.0.0.1:8080/audiohook)
  --api-key KEY           X-API-KEY (default $GENESYS_API_KEY; prefer the variable: flags show in ps and logs)
  --client-secret B64     sign the upgrade with this client secret (default $GENESYS_CLIENT_SECRET)
  --input NAME=value      an Architect input variable (repeatable)
  --dtmf DIGITS@SECONDS   press keypad digits at this point of the recording, e.g. 1234#@18.5 (repeatable)
  --language xx-xx        open.parameters.language (e.g. en-us)
  --realtime              send the recording at real time (default)
  --fast                  send the recording as fast as the socket takes it (bot audio still plays in real time);
                          every caller turn reaches the bot at once, so turn-taking is not that of a real call
  --out FILE.wav          write the bot audio as a playable WAV (μ-law 8 kHz mono, the bot's turns end to end)
  --record-call FILE.wav  write the call as heard: stereo, caller left and bot right, on the call's timeline
  --json                  print a machine-readable report on stdout
  --timeout SECONDS       give up after this long (default 180)
  --idle SECONDS          hang up once the recording is over and the bot has been quiet this long (default 3)
  -h, --help              show this help

Exit codes: 0 clean call, 1 protocol violation(s), 2 bad usage or input file,
            3 no session (unreachable, upgrade refused), 4 timed out,
            5 the bot ended the call with disconnect error, 130 hung up with Ctrl-C.
`;

/** A bad command line; `help` means the usage was asked for (exit 0). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(
    message: string,
    readonly help = false,
  ) {
    super(message);
  }
}

export interface ReplayOptions {
  file: string;
  url: string;
  apiKey: string;
  clientSecret?: string;
  inputVariables: Record<string, string>;
  dtmf: DtmfCue[];
  language?: string;
  pacing: 'realtime' | 'fast';
  out?: string;
  /** Stereo WAV of the call as heard (caller left, bot right). */
  recordCall?: string;
  json: boolean;
  timeoutMs: number;
  idleMs: number;
}

const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const DTMF_CUE = /^([0-9*#A-D]+)@(\d+(?:\.\d+)?)$/;

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
        'record-call': { type: 'string' },
        json: { type: 'boolean' },
        timeout: { type: 'string' },
        idle: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    // parseArgs appends a long hint about '--' to unknown options; the first sentence says it all.
    throw new UsageError((err as Error).message.split('. To specify a positional')[0]!.split('\n')[0]!);
  }
  const { values, positionals } = parsed;
  if (values.help) throw new UsageError('', true);
  if (positionals.length === 0) throw new UsageError('give the audio file to replay');
  if (positionals.length > 1) throw new UsageError(`give exactly one audio file to replay, got ${positionals.length}`);
  const url = values.url ?? 'ws://127.0.0.1:8080/audiohook';
  if (!isWebSocketUrl(url)) throw new UsageError(`--url must be a ws:// or wss:// URL, got "${url}"`);
  const apiKey = values['api-key'] ?? env.GENESYS_API_KEY;
  if (!apiKey) throw new UsageError('--api-key is required (or set GENESYS_API_KEY)');
  if (values.realtime && values.fast) throw new UsageError('choose one of --realtime and --fast');
  if (values.out !== undefined && values.out === values['record-call']) throw new UsageError('--out and --record-call must name different files');

  const inputVariables: Record<string, string> = {};
  for (const entry of values.input ?? []) {
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new UsageError(`--input must be NAME=value, got "${entry}"`);
    const name = entry.slice(0, eq);
    if (!VARIABLE_NAME.test(name)) throw new UsageError(`--input name "${name}" is not a valid variable name (letters, digits, _ . -)`);
    if (Object.hasOwn(inputVariables, name)) throw new UsageError(`--input ${name} is given twice`);
    inputVariables[name] = entry.slice(eq + 1);
  }
  const dtmf = (values.dtmf ?? []).map((entry): DtmfCue => {
    const m = DTMF_CUE.exec(entry);
    if (!m) throw new UsageError(`--dtmf must be DIGITS@SECONDS (digits 0-9 * # A-D), e.g. 1234#@18.5; got "${entry}"`);
    return { digits: m[1]!, atMs: Math.round(Number(m[2]) * 1000) };
  });
  const clientSecret = values['client-secret'] ?? env.GENESYS_CLIENT_SECRET;
  if (clientSecret !== undefined && !/^[A-Za-z0-9+/]+={0,2}$/.test(clientSecret)) {
    throw new UsageError('--client-secret must be base64 (as configured in the Genesys integration)');
  }
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
    ...(values['record-call'] ? { recordCall: values['record-call'] } : {}),
    json: values.json === true,
    timeoutMs: seconds('timeout', values.timeout, 180),
    idleMs: seconds('idle', values.idle, 3),
  };
}

function seconds(name: string, text: string | undefined, fallbackSeconds: number): number {
  if (text === undefined) return fallbackSeconds * 1000;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} must be a positive number of seconds, got "${text}"`);
  return Math.round(n * 1000);
}

function isWebSocketUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'ws:' || url.protocol === 'wss:') && url.host !== '';
  } catch {
    return false;
  }
}
