/**
 * `replay` as a release gate in a deploy pipeline (run in-process: the command function the binary calls):
 * a bot that ends the call with `disconnect error` fails the run with its own code, a truncated input file
 * and `--fast` are said out loud, and no output ever shows a secret.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAST_PACING_WARNING, REPLAY_EXIT, type ReplayResult } from '../../src/cli/replay.js';
import { startFakeServer, type FakeServer } from '../simulator/fake-server.js';
import { REPO_ROOT, runInProcess, scratchDir, startStack, stderrLines, type CliRun, type Stack } from '../support/cli.js';

const CALL_TIMEOUT_MS = 60_000;
let dir: string;
/** Answers like a correct server; the API key chooses what the "bot" does after `opened`. */
let fake: FakeServer;
/** The production serve path + the offline emulator. */
let stack: Stack;

beforeAll(async () => {
  dir = scratchDir();
  stack = await startStack();
  fake = await startFakeServer((conn) => {
    conn.behaveCorrectly({
      open: (msg) => {
        conn.send('opened', { startPaused: false, media: msg.parameters.media.slice(0, 1) });
        if (conn.headers['x-api-key'] === 'bot-error') {
          conn.send('disconnect', { reason: 'error', info: 'Input variable AI_TEMPERATURE: must be a number', outputVariables: {} });
        }
        if (conn.headers['x-api-key'] === 'bot-completes') conn.send('disconnect', { reason: 'completed', outputVariables: { RESOLVED: 'true' } });
      },
    });
  });}, 30_000);

afterAll(async () => {
  await fake?.close();
  await stack?.close();
});

const hello = join(REPO_ROOT, 'fixtures/caller/hello.wav');
const replay = (args: string[], env: Record<string, string> = {}): Promise<CliRun> => runInProcess(['replay', ...args], { cwd: dir, env });

describe('a bot that ends the call with disconnect error', { timeout: CALL_TIMEOUT_MS }, () => {
  it.concurrent('fails the replay with exit 5, one stderr line with the reason, and the report on stdout', async () => {
    const run = await replay([hello, '--url', fake.url, '--api-key', 'bot-error']);
    expect(run.code).toBe(REPLAY_EXIT.botError);
    expect(REPLAY_EXIT.botError).toBe(5);
    expect(stderrLines(run)).toEqual(['replay: the bot ended the call with disconnect error: Input variable AI_TEMPERATURE: must be a number']);
    expect(run.stdout).toMatch(/^Ending: bot-disconnected — disconnect reason "error" \(Input variable AI_TEMPERATURE: must be a number\)$/m);
    expect(run.stdout).toMatch(/^Protocol violations: none$/m);
  });

  it.concurrent('the real bridge refusing a bad input variable (AI_VOICE) → exit 5 with its reason', async () => {
    const run = await replay([hello, '--url', stack.url, '--api-key', stack.apiKey, '--client-secret', stack.clientSecret, '--input', 'AI_VOICE=nobody']);
    expect(run.code, run.stderr).toBe(REPLAY_EXIT.botError);
    expect(stderrLines(run)).toHaveLength(1);
    expect(run.stderr).toMatch(/^replay: the bot ended the call with disconnect error: .*AI_VOICE must be one of/);
  });

  it.concurrent('a bot that completes the call still exits 0', async () => {
    const run = await replay([hello, '--url', fake.url, '--api-key', 'bot-completes']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(REPLAY_EXIT.ok);
  });

  it('the code is documented in --help and in the README next to the others', async () => {
    const help = await replay(['--help']);
    expect(help.stdout).toMatch(/5 the bot ended the call with disconnect error/);
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const exitCodes = readme.split('\n').filter((l) => l.includes('`130` Ctrl-C') || l.startsWith('Exit codes:') || l.includes('`5`'));
    expect(exitCodes.join(' ')).toMatch(/`5` the bot ended the call with `disconnect error`/);
  });
});

describe('a truncated WAV (its data chunk claims more bytes than the file has)', { timeout: CALL_TIMEOUT_MS }, () => {
  it.concurrent('is replayed as far as it goes, with a warning naming the declared and present sizes (stderr and report)', async () => {
    const whole = readFileSync(hello);
    const cut = join(dir, 'cut.wav');
    writeFileSync(cut, whole.subarray(0, whole.length - 8000)); // one second short; the header still claims all of it
    const run = await replay([cut, '--url', fake.url, '--api-key', 'k', '--json', '--idle', '0.5']);
    const declared = whole.length - 58; // hello.wav: 58 header bytes (fmt 18 + fact)
    const present = declared - 8000;
    const warning = `${cut} is truncated: its data chunk declares ${declared} bytes but the file holds ${present}; replaying the audio that is there`;
    expect(stderrLines(run)).toEqual([`replay: warning: ${warning}`]);
    expect(run.code).toBe(REPLAY_EXIT.ok);
    const result = JSON.parse(run.stdout) as ReplayResult;
    expect(result.warnings).toEqual([warning]);
    expect(result.audio.sentMs).toBeGreaterThanOrEqual(present / 8);
  });
});

describe('--fast', { timeout: CALL_TIMEOUT_MS }, () => {
  it.concurrent('says how it changes turn-taking, on stderr and in the report', async () => {
    const run = await replay([hello, '--url', fake.url, '--api-key', 'k', '--fast', '--idle', '0.5']);
    expect(stderrLines(run)).toEqual([`replay: warning: ${FAST_PACING_WARNING}`]);
    expect(FAST_PACING_WARNING).toMatch(/every caller turn reaches the bot before it has answered the first/);
    expect(run.stdout).toContain(`Note: ${FAST_PACING_WARNING}`);
    expect(run.code).toBe(REPLAY_EXIT.ok);
  });

  it.concurrent('is not mentioned without --fast', async () => {
    const run = await replay([hello, '--url', fake.url, '--api-key', 'k', '--idle', '0.5']);
    expect(run.stderr).toBe('');
    expect(run.stdout).not.toContain('Note:');
  });
});

describe('no CLI output ever shows a secret', { timeout: CALL_TIMEOUT_MS }, () => {
  const expectNoSecret = (run: CliRun, secrets: string[]) => {
    for (const secret of secrets) {
      expect(run.stdout, 'stdout').not.toContain(secret);
      expect(run.stderr, 'stderr').not.toContain(secret);
    }
  };

  it.concurrent('a call with key and secret from the environment (text and JSON reports)', async () => {
    const env = { GENESYS_API_KEY: stack.apiKey, GENESYS_CLIENT_SECRET: stack.clientSecret };
    const [text, json] = await Promise.all([
      replay([hello, '--url', stack.url, '--fast', '--idle', '1'], env),
      replay([hello, '--url', stack.url, '--fast', '--idle', '1', '--json'], env),
    ]);
    expect(text.code, text.stderr).toBe(0);
    expect(json.code, json.stderr).toBe(0);
    expectNoSecret(text, [stack.apiKey, stack.clientSecret]);
    expectNoSecret(json, [stack.apiKey, stack.clientSecret]);
  });

  it.concurrent('a refused key, a bad secret, a password in the URL, a mistyped option', async () => {
    const wrongKey = 'wrong-key-SECRET-4711';
    const badSecret = 'not*base64*SECRET-4712';
    const urlPassword = 'url-password-SECRET-4713';
    const typoValue = 'typo-value-SECRET-4714';
    const runs = await Promise.all([
      replay([hello, '--url', stack.url, '--api-key', wrongKey, '--client-secret', stack.clientSecret]),
      replay([hello, '--url', stack.url, '--api-key', stack.apiKey, '--client-secret', badSecret]),
      replay([hello, '--url', stack.url.replace('ws://', `ws://bot:${urlPassword}@`), '--api-key', wrongKey, '--json']),
      replay([hello, '--url', stack.url.replace('ws://', `ws://bot:${urlPassword}@`).replace(/:\d+\//, ':1/'), '--api-key', wrongKey]),
      replay([hello, '--url', stack.url, `--api-keyy=${typoValue}`]),
    ]);
    expect(runs.map((r) => r.code)).toEqual([REPLAY_EXIT.connect, REPLAY_EXIT.usage, REPLAY_EXIT.connect, REPLAY_EXIT.connect, REPLAY_EXIT.usage]);
    for (const run of runs) expectNoSecret(run, [wrongKey, badSecret, urlPassword, typoValue, stack.apiKey, stack.clientSecret]);
  });
});
