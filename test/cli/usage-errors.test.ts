/**
 * The CLI when things go wrong (run in-process: the same command functions the binary calls): a server
 * that breaks the protocol, and bad input — each gives one clear line on stderr and the documented exit
 * code; plus --help. The binary's own exit codes: binary.test.ts.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPLAY_EXIT } from '../../src/cli/replay-args.js';
import { startFakeServer, type FakeServer } from '../simulator/fake-server.js';
import { closedPort, REPO_ROOT, runInProcess, scratchDir, startStack, stderrLines, type CliRun, type Stack } from '../support/cli.js';

const CALL_TIMEOUT_MS = 60_000;
let stack: Stack;
let dir: string;

beforeAll(async () => {
  stack = await startStack();
  dir = scratchDir();
}, 30_000);

afterAll(async () => {
  await stack?.close();
});

function replay(args: string[]): Promise<CliRun> {
  return runInProcess(['replay', ...args], { cwd: dir });
}

describe('replay reports a server that breaks the protocol', { timeout: CALL_TIMEOUT_MS }, () => {
  let fake: FakeServer;
  beforeAll(async () => {
    fake = await startFakeServer((conn) => {
      conn.behaveCorrectly({
        open: (msg) => {
          conn.send('opened', { startPaused: false, media: msg.parameters.media.slice(0, 1) });
          // seq jumps from 1 to 3: Genesys would answer with error 400 and close.
          conn.send('event', { entities: [{ type: 'barge_in', data: {} }] }, { seq: 3 });
        },
      });
    });
  });
  afterAll(async () => {
    await fake?.close();
  });

  it.concurrent('exits 1 and prints the violation (stdout report, one stderr line)', async () => {
    const run = await replay([join(REPO_ROOT, 'fixtures/caller/hello.ulaw'), '--url', fake.url, '--api-key', 'k']);
    expect(run.code).toBe(REPLAY_EXIT.violations);
    expect(stderrLines(run)).toHaveLength(1);
    expect(run.stderr).toMatch(/^replay: 1 protocol violation\(s\): \[seq-out-of-order\]/);
    expect(run.stdout).toMatch(/Protocol violations: 1\n {2}\[seq-out-of-order\]/);
  });
});

describe('ending the call early', { timeout: CALL_TIMEOUT_MS }, () => {
  it.concurrent('--timeout reached → hangs up cleanly, prints the report, one stderr line, exit 4', async () => {
    const run = await replay([join(REPO_ROOT, 'fixtures/caller/multi-turn-call.wav'), '--url', stack.url, '--api-key', stack.apiKey, '--client-secret', stack.clientSecret, '--timeout', '2']);
    expect(run.code).toBe(REPLAY_EXIT.timeout);
    expect(stderrLines(run)).toEqual(['replay: timed out after 2 s (raise --timeout)']);
    expect(run.stdout).toMatch(/^Ending: timeout$/m);
    expect(run.stdout).toMatch(/^Protocol violations: none$/m);
    expect(run.stdout).toMatch(/close → closed \d/);
  });

  it.concurrent('Ctrl-C → close transaction, report, exit 130', async () => {
    let pressCtrlC: (() => void) | undefined;
    const fake = await startFakeServer((conn) => {
      conn.behaveCorrectly();
      // The session is open: the CLI has its Ctrl-C handler by now.
      conn.on((msg) => {
        if (msg.type === 'open') setTimeout(() => pressCtrlC?.(), 300);
      });
    });
    try {
      const run = await runInProcess(['replay', join(REPO_ROOT, 'fixtures/caller/multi-turn-call.wav'), '--url', fake.url, '--api-key', 'k'], {
        cwd: dir,
        onInterruptible: (press) => (pressCtrlC = press),
      });
      expect(run.code, run.stderr).toBe(REPLAY_EXIT.interrupted);
      expect(run.stdout).toMatch(/^Ending: interrupted$/m);
      expect(fake.connections[0]!.received.map((m) => m.type)).toContain('close');
      expect(fake.connections[0]!.received.find((m) => m.type === 'close')!.parameters.reason).toBe('end');
    } finally {
      await fake.close();
    }
  });
});

describe('bad input: one clear line on stderr and the documented exit code', { timeout: CALL_TIMEOUT_MS }, () => {
  const hello = () => join(REPO_ROOT, 'fixtures/caller/hello.wav');

  async function expectOneLineError(run: CliRun, code: number, pattern: RegExp): Promise<void> {
    expect(run.code).toBe(code);
    const lines = stderrLines(run);
    expect(lines, run.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^replay: /);
    expect(lines[0]).toMatch(pattern);
    expect(run.stdout).toBe('');
  }

  it.concurrent('missing file → 2', async () => {
    const run = await replay([join(dir, 'no-such-call.wav'), '--url', stack.url, '--api-key', stack.apiKey]);
    await expectOneLineError(run, REPLAY_EXIT.usage, /no-such-call\.wav: no such file/);
  });

  it.concurrent('unsupported WAV (44.1 kHz 16-bit) → 2, naming the format and the sox command', async () => {
    const path = join(dir, 'cd-quality.wav');
    writeFileSync(path, pcmWav(44_100, 1, 4410));
    const run = await replay([path, '--url', stack.url, '--api-key', stack.apiKey]);
    await expectOneLineError(run, REPLAY_EXIT.usage, /44100 Hz.*Convert with: sox ".*cd-quality\.wav" -r 8000 -c 1 -e u-law/);
  });

  it.concurrent('bad --input → 2', async () => {
    const run = await replay([hello(), '--url', stack.url, '--api-key', stack.apiKey, '--input', 'COMPANY_NAME']);
    await expectOneLineError(run, REPLAY_EXIT.usage, /--input must be NAME=value, got "COMPANY_NAME"/);
  });

  it.concurrent('unreachable URL (a closed port) → 3', async () => {
    const port = await closedPort();
    const run = await replay([hello(), '--url', `ws://127.0.0.1:${port}/audiohook`, '--api-key', 'k']);
    await expectOneLineError(run, REPLAY_EXIT.connect, /cannot open a session at ws:\/\/127\.0\.0\.1:\d+\/audiohook: connection failed: .*ECONNREFUSED/);
  });

  it.concurrent('wrong API key → 3 (upgrade refused with 401)', async () => {
    const run = await replay([hello(), '--url', stack.url, '--api-key', 'not-the-key', '--client-secret', stack.clientSecret]);
    await expectOneLineError(run, REPLAY_EXIT.connect, /HTTP 401 \(check --api-key \/ --client-secret\)/);
  });

  it.concurrent('--help → usage on stdout, exit 0', async () => {
    const run = await replay(['--help']);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/^Usage: audiohook-realtime replay/);
    for (const option of ['--url', '--api-key', '--client-secret', '--input', '--dtmf', '--language', '--realtime', '--fast', '--out', '--record-call', '--json', '--timeout', '--idle']) {
      expect(run.stdout).toContain(option);
    }
  });
});

/** A 16-bit PCM WAV of silence at `rate` Hz. */
function pcmWav(rate: number, channels: number, samples: number): Buffer {
  const data = samples * channels * 2;
  const out = Buffer.alloc(44 + data);
  out.write('RIFF', 0, 'ascii');
  out.writeUInt32LE(36 + data, 4);
  out.write('WAVE', 8, 'ascii');
  out.write('fmt ', 12, 'ascii');
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(1, 20);
  out.writeUInt16LE(channels, 22);
  out.writeUInt32LE(rate, 24);
  out.writeUInt32LE(rate * channels * 2, 28);
  out.writeUInt16LE(channels * 2, 32);
  out.writeUInt16LE(16, 34);
  out.write('data', 36, 'ascii');
  out.writeUInt32LE(data, 40);
  return out;
}


describe('demo usage', { timeout: CALL_TIMEOUT_MS }, () => {
  it.concurrent('--help prints the usage on stdout and exits 0', async () => {
    const help = await runInProcess(['demo', '--help'], { cwd: dir });
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: npm run demo/);
  });

  it.concurrent('an unknown option is one line on stderr and exit 2', async () => {
    const bad = await runInProcess(['demo', '--nope'], { cwd: dir });
    expect(bad.code).toBe(2);
    expect(stderrLines(bad)).toHaveLength(1);
    expect(bad.stderr).toMatch(/^demo: Unknown option '--nope'/);
  });

  it.concurrent('--out and --record-call naming the same file is one line on stderr and exit 2', async () => {
    const bad = await runInProcess(['demo', '--out', 'x.wav', '--record-call', 'x.wav'], { cwd: dir });
    expect(bad.code).toBe(2);
    expect(stderrLines(bad)).toEqual(['demo: --out and --record-call must name different files']);
  });
});

describe('emulator usage', { timeout: CALL_TIMEOUT_MS }, () => {
  it('--help prints the usage on stdout and exits 0 (the serve mode for the emulator alone)', async () => {
    const help = await runInProcess(['emulator', '--help'], { cwd: dir });
    expect(help.code).toBe(0);
    expect(help.stderr).toBe('');
    expect(help.stdout).toMatch(/^Usage: emulator /);
  });
});

describe('the command line itself', () => {
  it.concurrent('help prints the commands on stdout and exits 0; an unknown command is exit 2 with the usage on stderr', async () => {
    const help = await runInProcess(['--help'], { cwd: dir });
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: audiohook-realtime <command>/);
    for (const command of ['serve', 'demo', 'replay', 'emulator']) expect(help.stdout).toContain(`  ${command} `);
    const unknown = await runInProcess(['nope'], { cwd: dir });
    expect(unknown.code).toBe(2);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toMatch(/^unknown command "nope"\n\nUsage: audiohook-realtime/);
  });
});
