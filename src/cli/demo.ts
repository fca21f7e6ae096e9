/**
 * `demo`: the whole product on one machine with no keys. Starts the bridge (the production `serve` code
 * path) against the offline Realtime emulator — or against OpenAI when OPENAI_API_KEY is set — plus a
 * local webhook receiver, replays a recorded sample call through the strict Genesys simulator, writes
 * the bot audio to a WAV and prints transcript, summary and output variables.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import dotenv from 'dotenv';
import pino from 'pino';
import type { CallRecord } from '../bridge/webhook.js';
import { parseEnv } from './env.js';
import { startEmulator, type Emulator } from '../emulator/index.js';
import { createLogger } from '../log/logger.js';
import { startOrdersMcpServer, type OrdersMcpServer } from '../mcp-demo/orders-server.js';
import type { CliIo } from './io.js';
import { describeFailure, formatReplay, liveProgress, replayCall, type ReplayResult } from './replay.js';
import { serve } from './serve.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The sample calls: caller recording, its cue file, and the emulator script that answers it. */
const CALLS = {
  // The order number is really looked up: the bot's get_order_status tool, served by a local MCP server.
  'multi-turn': { audio: 'fixtures/caller/multi-turn-call.wav', cues: 'fixtures/caller/multi-turn-call.cues.json', script: 'fixtures/scripts/order-status-tool.json' },
  // The interrupt has a short pause inside ("Sorry, wait. Actually…"): a longer VAD silence keeps it one turn.
  'barge-in': { audio: 'fixtures/caller/barge-in-call.wav', cues: 'fixtures/caller/barge-in-call.cues.json', script: 'fixtures/scripts/barge-in.json', env: { VAD_SILENCE_DURATION_MS: '900' } },
} as const;
type CallName = keyof typeof CALLS;

export const DEMO_USAGE = `Usage: npm run demo -- [options]
       audiohook-realtime demo [options]

Runs the bridge (the production serve path) against the built-in Realtime EMULATOR — an offline stand-in
that plays scripted replies, not OpenAI — unless OPENAI_API_KEY (or AZURE_OPENAI_ENDPOINT) is set in the
environment or .env; replays a recorded sample call in real time as Genesys Cloud would; writes the bot
audio and a stereo recording of the call to WAV files and prints the transcript, the call summary
(received by a local webhook) and the output variables. No keys needed; takes about 45 s. Watch the call
live in the operations console: the demo prints its URL and sign-in token (CONSOLE_TOKEN from the
environment, else a random one).

Options:
  --call multi-turn|barge-in   which sample call to replay (default multi-turn)
  --out FILE.wav               where to write the bot audio (default out/demo-bot.wav)
  --record-call FILE.wav       where to write the call as heard: stereo, caller left, bot right
                               (default out/demo-call.wav)
  --json                       print a machine-readable report on stdout (logs go to stderr)
  --hold SECONDS               keep the bridge and its console up this long after the call (default 0)
  -h, --help                   show this help
`;

interface Cues {
  dtmf?: Array<{ digits: string; atSec: number }>;
}

/** Said with every demo transcript and summary made by the emulator: they are its script, not a reading of the call. */
export const SCRIPTED_NOTE = 'scripted by the emulator, not derived from the caller\'s audio';

export async function runDemo(argv: string[], io: CliIo): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        call: { type: 'string' },
        out: { type: 'string' },
        'record-call': { type: 'string' },
        json: { type: 'boolean' },
        hold: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    const message = (err as Error).message.split('. To specify a positional')[0]!.split('\n')[0]!;
    io.stderr.write(`demo: ${message} (see demo --help)\n`);
    return 2;
  }
  if (values.help) {
    io.stdout.write(DEMO_USAGE);
    return 0;
  }
  const callName = (values.call ?? 'multi-turn') as CallName;
  if (!Object.hasOwn(CALLS, callName)) {
    io.stderr.write(`demo: --call must be one of ${Object.keys(CALLS).join(', ')}\n`);
    return 2;
  }
  const holdSeconds = Number(values.hold ?? '0');
  if (!Number.isInteger(holdSeconds) || holdSeconds < 0 || holdSeconds > 3600) {
    io.stderr.write('demo: --hold must be a whole number of seconds from 0 to 3600\n');
    return 2;
  }
  const call = CALLS[callName];
  const out = values.out ?? 'out/demo-bot.wav';
  const recordCall = values['record-call'] ?? 'out/demo-call.wav';
  if (out === recordCall) {
    io.stderr.write('demo: --out and --record-call must name different files\n');
    return 2;
  }
  const say = (line: string) => io.stderr.write(`${line}\n`);

  // The .env of the working directory fills in what the environment does not set (as dotenv.config would,
  // without changing the environment of the process).
  const processEnv = { ...(await readDotEnv(io.cwd)), ...io.env };
  const useOpenAI = Boolean(processEnv.OPENAI_API_KEY || processEnv.AZURE_OPENAI_ENDPOINT);
  let emulator: Emulator | undefined;
  let orders: OrdersMcpServer | undefined;
  let botsDir: string | undefined;
  const webhook = await startWebhookReceiver();
  try {
    // The demo bot acts: its order lookup is a tool on an MCP server started here, on 127.0.0.1.
    orders = await startOrdersMcpServer();
    botsDir = await mkdtemp(join(tmpdir(), 'audiohook-demo-'));
    const botsFile = join(botsDir, 'bots.yaml');
    await writeFile(botsFile, demoBotsFile(orders.url));
    say(`Tools: bot "demo" looks orders up with get_order_status on a local MCP server (${orders.url})`);
    let modelEnv: Record<string, string>;
    if (useOpenAI) {
      say('Model: the OpenAI Realtime API (OPENAI_API_KEY is set). The sample caller audio is sent to OpenAI.');
      modelEnv = {};
    } else {
      emulator = await startEmulator({
        script: `${REPO_ROOT}${call.script}`,
        scriptBaseDir: REPO_ROOT,
        speed: 'realtime',
        logger: createLogger('warn', logsToStderr()),
      });
      say('Model: the built-in Realtime EMULATOR — an offline stand-in that plays scripted replies, not OpenAI.');
      say('       Set OPENAI_API_KEY (or .env) to run the same demo against the real model.');
      modelEnv = { OPENAI_API_KEY: 'offline-demo', OPENAI_BASE_URL: emulator.baseURL, REALTIME_CA_FILE: emulator.caPath };
    }
    const apiKey = randomBytes(18).toString('base64url');
    const consoleToken = processEnv.CONSOLE_TOKEN || randomBytes(18).toString('base64url');
    const env = parseEnv({
      ...processEnv,
      ...modelEnv,
      ...('env' in call ? call.env : {}),
      GENESYS_API_KEY: apiKey,
      GENESYS_CLIENT_SECRET: randomBytes(32).toString('base64'),
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: processEnv.LOG_LEVEL ?? 'warn',
      BOT_TURN_EVENTS: 'true',
      SUMMARY_WEBHOOK_URL: webhook.url,
      BOTS_FILE: botsFile,
      CONSOLE_TOKEN: consoleToken,
      // The sample call is a recording, not personal data: show its transcript unless told otherwise.
      CONSOLE_TRANSCRIPTS: processEnv.CONSOLE_TRANSCRIPTS || 'true',
    });
    const service = await serve(env, { logger: createLogger(env.LOG_LEVEL, logsToStderr()), handleSignals: false });
    const url = `ws://127.0.0.1:${service.server.port}${env.AUDIOHOOK_PATH}/demo`;
    say(`Bridge: listening at ${url} (signed upgrades required)`);
    say(`Console: http://127.0.0.1:${service.server.port}/console   token: ${consoleToken}`);
    say(`Caller: replaying ${call.audio} in real time as Genesys Cloud would…`);
    const cues = JSON.parse(await readFile(`${REPO_ROOT}${call.cues}`, 'utf8')) as Cues;
    let result: ReplayResult;
    const live = liveProgress(io.stderr);
    try {
      result = await replayCall(
        {
          file: `${REPO_ROOT}${call.audio}`,
          url,
          apiKey,
          clientSecret: env.GENESYS_CLIENT_SECRET!,
          inputVariables: { COMPANY_NAME: 'Acme', AGENT_NAME: 'Ava', CUSTOMER_DATA: 'tier:gold;customerId:C-1001' },
          dtmf: (cues.dtmf ?? []).map((d) => ({ digits: d.digits, atMs: Math.round(d.atSec * 1000) })),
          language: 'en-us',
          pacing: 'realtime',
          out,
          recordCall,
          json: false,
          timeoutMs: 180_000,
          idleMs: 3000,
        },
        { ...(live.update ? { onProgress: live.update } : {}), cwd: io.cwd },
      );
    } catch (err) {
      const failure = describeFailure(err, { file: call.audio, url });
      if (!failure) throw err;
      io.stderr.write(`demo: ${failure.message}\n`);
      return 1;
    } finally {
      live.end();
      if (holdSeconds > 0) {
        say(`Console: still up for ${holdSeconds} s (--hold) at http://127.0.0.1:${service.server.port}/console`);
        await new Promise((resolve) => setTimeout(resolve, holdSeconds * 1000));
      }
      await service.server.stop(5000);
    }
    const record = await webhook.next(15_000);
    const scripted = !useOpenAI;
    if (values.json) {
      const report = { model: useOpenAI ? 'openai' : 'emulator', ...(scripted ? { scripted: SCRIPTED_NOTE } : {}), replay: result, webhook: record ?? null };
      io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    } else {
      io.stdout.write(`\n${useOpenAI ? 'Model: OpenAI Realtime API' : 'Model: offline Realtime emulator (scripted stand-in, not OpenAI)'}\n`);
      io.stdout.write(`${formatReplay(result)}\n`);
      io.stdout.write(`\n${formatRecord(record, scripted)}\n`);
    }
    if (result.violations.length > 0) return 1;
    if (result.disconnect?.reason === 'error') return 1;
    if (result.audio.receivedMs === 0 || !record) return 1;
    return 0;
  } finally {
    await emulator?.close();
    await orders?.close();
    if (botsDir) await rm(botsDir, { recursive: true, force: true });
    await webhook.close();
  }
}

/** The demo deployment's bots file: one bot, on the demo's Connector ID, with the order tool. */
function demoBotsFile(mcpUrl: string): string {
  return [
    'bots:',
    '  demo:',
    '    instructions: >-',
    '      You are [AGENT_NAME], the order assistant of [COMPANY_NAME]. When the caller gives an order number,',
    '      look it up with get_order_status and tell them its status and delivery estimate in one or two',
    '      short sentences. Never guess an order status.',
    '    tools: [orders]',
    'tools:',
    '  orders:',
    '    type: mcp',
    `    url: ${JSON.stringify(mcpUrl)}`,
    '',
  ].join('\n');
}

/** The demo's stdout is its report (JSON with --json); logs of the bridge and emulator go to stderr. */
function logsToStderr(): pino.DestinationStream {
  return pino.destination({ dest: 2, sync: true });
}

async function readDotEnv(cwd: string): Promise<Record<string, string>> {
  try {
    return dotenv.parse(await readFile(join(cwd, '.env'), 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw err;
  }
}

export function formatRecord(record: CallRecord | undefined, scripted: boolean): string {
  if (!record) return 'Summary webhook: nothing received (see the logs).';
  const lines = [
    `Summary webhook received (end reason "${record.end_reason}", ${record.duration_seconds} s, summary source "${record.summary.source}"):`,
    ...(scripted ? [`  Note:      transcript and summary are ${SCRIPTED_NOTE}.`] : []),
    `  Summary:   ${record.summary.summary}`,
    `  Sentiment: ${record.summary.sentiment}; resolved: ${record.summary.resolved}; escalation: ${record.escalation.required}${record.escalation.reason ? ` (${record.escalation.reason})` : ''}`,
    `  Tokens:    ${record.usage.inputTokens} in / ${record.usage.outputTokens} out over ${record.usage.responses} responses`,
    `  Bot:       ${record.bot || '(from env)'}; tool calls: ${(record.tools ?? []).map((t) => `${t.tool} ${t.outcome} (${t.duration_ms} ms)`).join(', ') || 'none'}`,
    '  Transcript:',
  ];
  for (const turn of record.transcript) lines.push(`    ${turn.role === 'caller' ? 'Caller' : 'Bot   '}: ${turn.text}${turn.truncated ? ' [interrupted]' : ''}`);
  return lines.join('\n');
}

interface WebhookReceiver {
  url: string;
  next(timeoutMs: number): Promise<CallRecord | undefined>;
  close(): Promise<void>;
}

/** A local endpoint standing in for the business system that receives call summaries. */
async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const records: CallRecord[] = [];
  const waiters: Array<() => void> = [];
  const server: Server = createServer((req, res) => {
    readBody(req).then(
      (body) => {
        try {
          records.push(JSON.parse(body) as CallRecord);
          for (const w of waiters.splice(0)) w();
          res.writeHead(204).end();
        } catch {
          res.writeHead(400).end();
        }
      },
      () => res.writeHead(400).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/call-summary`,
    next: (timeoutMs) =>
      new Promise((resolve) => {
        if (records.length > 0) return resolve(records.shift());
        const timer = setTimeout(() => resolve(undefined), timeoutMs);
        waiters.push(() => {
          clearTimeout(timer);
          resolve(records.shift());
        });
      }),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > 5_000_000) req.destroy(new Error('body too large'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
