import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { ManualClock } from '../../src/util/clock.js';
import {
  createSpoolingSink,
  spoolRetryDelayMs,
  type SpoolingSinkOptions,
  type SpoolRetrySchedule,
} from '../../src/bridge/spool.js';
import { readyPath, serializeEnvelope, spoolFileStem } from '../../src/bridge/spool-store.js';
import type { CallRecordSink, DeliveryResult } from '../../src/bridge/webhook.js';
import { callRecord, down, recordingMetrics, scriptedSink } from './spool-support.js';

const schedule: SpoolRetrySchedule = { initialMs: 1000, maxMs: 4000, jitter: 0.2 };
const dirs: string[] = [];

afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function spoolDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'spool-test-'));
  dirs.push(dir);
  return dir;
}

/** A pino logger whose lines are kept for assertions. */
function capturingLogger() {
  const lines: Array<{ level: number; msg: string } & Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

function sinkWith(dir: string, inner: CallRecordSink, extra: Partial<SpoolingSinkOptions> = {}) {
  const clock = new ManualClock();
  const { logger, lines } = capturingLogger();
  const { metrics, outcomes, depths } = recordingMetrics();
  const spool = createSpoolingSink({
    dir,
    inner,
    clock,
    logger,
    metrics,
    retrySchedule: schedule,
    random: () => 0.5,
    ...extra,
  });
  return { spool, clock, lines, outcomes, depths };
}

const fileOf = (dir: string) => (record: { idempotency_key: string }) => readyPath(dir, spoolFileStem(record.idempotency_key));

async function jsonFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.endsWith('.json')).sort();
}

describe('spool retry schedule', () => {
  it('doubles from initialMs, caps at maxMs and takes at most `jitter` off', () => {
    const none = () => 0;
    expect([1, 2, 3, 4, 50].map((n) => spoolRetryDelayMs(n, schedule, none))).toEqual([1000, 2000, 4000, 4000, 4000]);
    const almostOne = () => 0.999_999;
    expect(spoolRetryDelayMs(1, schedule, almostOne)).toBe(800);
    expect(spoolRetryDelayMs(3, schedule, () => 0.5)).toBe(3600);
  });
});

describe('spooling sink', () => {
  it('writes the record durably before the first attempt and deletes it once delivered', async () => {
    const dir = await spoolDir();
    const { sink, calls } = scriptedSink([], fileOf(dir));
    const { spool, outcomes, depths } = sinkWith(dir, sink);
    const record = callRecord('s1');

    const result = await spool.deliver(record);

    expect(result).toMatchObject({ delivered: true });
    expect(calls).toHaveLength(1);
    expect(calls[0]!.fileExisted).toBe(true);
    expect(calls[0]!.record.idempotency_key).toBe('s1:conv-s1');
    expect(await jsonFiles(dir)).toEqual([]);
    expect(await readdir(dir)).toEqual([]); // no temporary file left either
    expect(spool.depth()).toBe(0);
    expect(outcomes).toEqual(['delivered']);
    expect(depths.at(-1)).toBe(0);
  });

  it('keeps the idempotency key in the spooled payload', async () => {
    const dir = await spoolDir();
    const { sink } = scriptedSink([down], fileOf(dir));
    const { spool } = sinkWith(dir, sink);
    await spool.deliver(callRecord('s2'));

    const text = await readFile(readyPath(dir, 's2:conv-s2'), 'utf8');
    const envelope = JSON.parse(text) as { spool_version: number; record: { idempotency_key: string } };
    expect(envelope.spool_version).toBe(1);
    expect(envelope.record.idempotency_key).toBe('s2:conv-s2');
    expect(envelope.record).toEqual(callRecord('s2'));
    await spool.close();
  });

  it('on failure keeps the file and retries with exponential backoff and jitter until delivered', async () => {
    const dir = await spoolDir();
    const { sink, calls } = scriptedSink([down, down, { delivered: false, attempts: 1, error: 'ECONNREFUSED' }], fileOf(dir));
    const { spool, clock, outcomes } = sinkWith(dir, sink);

    const result = await spool.deliver(callRecord('s3'));
    expect(result).toMatchObject({ delivered: false, spooled: true, status: 503 });
    expect(await jsonFiles(dir)).toEqual(['s3:conv-s3.json']);
    expect(spool.depth()).toBe(1);
    expect(clock.pending).toBe(1);

    // random 0.5 with jitter 0.2 takes 10 % off: 900, 1800, 3600 ms.
    for (const delay of [900, 1800, 3600]) {
      clock.advance(delay - 1);
      await spool.idle();
      const before = calls.length;
      expect(await jsonFiles(dir)).toEqual(['s3:conv-s3.json']);
      clock.advance(1);
      await spool.idle();
      expect(calls.length).toBe(before + 1);
      expect(calls.at(-1)!.fileExisted).toBe(true);
    }

    expect(calls).toHaveLength(4);
    expect(await jsonFiles(dir)).toEqual([]);
    expect(spool.depth()).toBe(0);
    expect(clock.pending).toBe(0);
    expect(outcomes).toEqual(['spooled', 'retry', 'retry', 'delivered']);
  });

  it('a new instance replays what an earlier one left, oldest first', async () => {
    const dir = await spoolDir();
    const first = sinkWith(dir, scriptedSink([down, down, down], fileOf(dir)).sink);
    for (const id of ['c', 'a', 'b']) await first.spool.deliver(callRecord(id));
    await first.spool.close();
    expect(first.clock.pending).toBe(0);
    expect(await jsonFiles(dir)).toHaveLength(3);
    // Modification times decide the order; set them apart explicitly (file systems have coarse clocks).
    const base = Date.now() / 1000 - 100;
    for (const [i, id] of ['c', 'a', 'b'].entries()) {
      const t = base + i;
      await utimes(readyPath(dir, `${id}:conv-${id}`), t, t);
    }

    const { sink, calls } = scriptedSink([], fileOf(dir));
    const second = sinkWith(dir, sink, { concurrency: 1 });
    expect(await second.spool.start()).toEqual({ replayed: 3, recovered: 0, quarantined: 0 });
    await second.spool.idle();

    expect(calls.map((c) => c.record.idempotency_key)).toEqual(['c:conv-c', 'a:conv-a', 'b:conv-b']);
    expect(calls.every((c) => c.fileExisted)).toBe(true);
    expect(calls[0]!.record).toEqual(callRecord('c'));
    expect(await readdir(dir)).toEqual([]);
    expect(second.outcomes).toEqual(['delivered', 'delivered', 'delivered']);
  });

  it('sets a corrupt file aside as .bad with a warning and still delivers the others', async () => {
    const dir = await spoolDir();
    await writeFile(join(dir, 'broken.json'), '{"spool_version":1,"spooled_at":"2026-');
    await writeFile(join(dir, 'wrong.json'), JSON.stringify({ spool_version: 1, spooled_at: 'x', record: { a: 1 } }));
    await writeFile(readyPath(dir, 'ok:conv-ok'), serializeEnvelope(callRecord('ok'), new Date()));
    const { sink, calls } = scriptedSink([], fileOf(dir));
    const { spool, lines } = sinkWith(dir, sink);

    expect((await spool.start()).replayed).toBe(3);
    await spool.idle();

    expect(calls.map((c) => c.record.idempotency_key)).toEqual(['ok:conv-ok']);
    expect((await readdir(dir)).sort()).toEqual(['broken.json.bad', 'wrong.json.bad']);
    const warnings = lines.filter((l) => l.level === 40 && l.msg === 'corrupt summary spool file set aside');
    expect(warnings).toHaveLength(2);
    expect(spool.depth()).toBe(0);
  });

  it('recovers a complete temporary file left by a crash and sets an incomplete one aside', async () => {
    const dir = await spoolDir();
    await writeFile(join(dir, 'tmp1:conv-tmp1.4242-1.tmp'), serializeEnvelope(callRecord('tmp1'), new Date()));
    await writeFile(join(dir, 'tmp2:conv-tmp2.4242-2.tmp'), serializeEnvelope(callRecord('tmp2'), new Date()).slice(0, 40));
    const { sink, calls } = scriptedSink([], fileOf(dir));
    const { spool } = sinkWith(dir, sink);

    expect(await spool.start()).toEqual({ replayed: 1, recovered: 1, quarantined: 1 });
    await spool.idle();

    expect(calls.map((c) => c.record.idempotency_key)).toEqual(['tmp1:conv-tmp1']);
    expect(await readdir(dir)).toEqual(['tmp2:conv-tmp2.4242-2.tmp.bad']);
  });

  it('a record the receiver rejects (4xx) is kept aside as .rejected and not retried', async () => {
    const dir = await spoolDir();
    const rejected: DeliveryResult = { delivered: false, attempts: 1, status: 422 };
    const { sink, calls } = scriptedSink([rejected], fileOf(dir));
    const { spool, clock, outcomes, lines } = sinkWith(dir, sink);

    const result = await spool.deliver(callRecord('r'));

    expect(result).toMatchObject({ delivered: false, status: 422 });
    expect(result.spooled).toBeUndefined();
    expect(await readdir(dir)).toEqual(['r:conv-r.json.rejected']);
    expect(clock.pending).toBe(0);
    clock.advance(1_000_000);
    await spool.idle();
    expect(calls).toHaveLength(1);
    expect(outcomes).toEqual(['failed']);
    expect(lines.some((l) => l.level === 50)).toBe(true);
  });

  it('beyond maxFiles a record is not spooled: one attempt, then counted dropped and logged as an error', async () => {
    const dir = await spoolDir();
    const { sink, calls } = scriptedSink([down, down, down], fileOf(dir));
    const { spool, outcomes, lines } = sinkWith(dir, sink, { maxFiles: 2 });

    await spool.deliver(callRecord('m1'));
    await spool.deliver(callRecord('m2'));
    const third = await spool.deliver(callRecord('m3'));

    expect(third.delivered).toBe(false);
    expect(third.spooled).toBeUndefined();
    expect(calls).toHaveLength(3);
    expect(calls[2]!.fileExisted).toBe(false);
    expect(await jsonFiles(dir)).toEqual(['m1:conv-m1.json', 'm2:conv-m2.json']);
    expect(outcomes).toEqual(['spooled', 'spooled', 'dropped']);
    const error = lines.find((l) => l.level === 50);
    expect(error).toMatchObject({ idempotencyKey: 'm3:conv-m3' });
    expect(spool.depth()).toBe(2);
    await spool.close();
  });

  it('a second delivery of the same key while it waits does not take a second slot', async () => {
    const dir = await spoolDir();
    const { sink } = scriptedSink([down, down], fileOf(dir));
    const { spool } = sinkWith(dir, sink, { maxFiles: 1 });

    await spool.deliver(callRecord('d'));
    const again = await spool.deliver(callRecord('d'));

    expect(again.spooled).toBe(true);
    expect(spool.depth()).toBe(1);
    expect(await jsonFiles(dir)).toEqual(['d:conv-d.json']);
    await spool.close();
  });

  it('when the spool directory cannot be written, still attempts delivery once', async () => {
    const parent = await spoolDir();
    const notADir = join(parent, 'file');
    await writeFile(notADir, 'x');
    const { sink, calls } = scriptedSink([], () => join(notADir, 'never'));
    const { spool, outcomes } = sinkWith(join(notADir, 'spool'), sink);

    const result = await spool.deliver(callRecord('w'));

    expect(result.delivered).toBe(true);
    expect(calls).toHaveLength(1);
    expect(outcomes).toEqual(['delivered']);
    await expect(spool.start()).rejects.toThrow();
  });

  it('close() stops retry timers and leaves pending files for the next start', async () => {
    const dir = await spoolDir();
    const { sink, calls } = scriptedSink([down], fileOf(dir));
    const { spool, clock } = sinkWith(dir, sink);
    await spool.deliver(callRecord('k'));
    expect(clock.pending).toBe(1);

    await spool.close();

    expect(clock.pending).toBe(0);
    clock.advance(1_000_000);
    expect(calls).toHaveLength(1);
    expect(await jsonFiles(dir)).toEqual(['k:conv-k.json']);
  });

  it('replays with bounded concurrency', async () => {
    const dir = await spoolDir();
    for (const id of ['p1', 'p2', 'p3', 'p4', 'p5']) {
      await writeFile(readyPath(dir, `${id}:conv-${id}`), serializeEnvelope(callRecord(id), new Date()));
    }
    let inFlight = 0;
    let maxInFlight = 0;
    const releases: Array<() => void> = [];
    const sink: CallRecordSink = {
      async deliver() {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise<void>((resolve) => releases.push(resolve));
        inFlight--;
        return { delivered: true, attempts: 1, status: 200 };
      },
    };
    const { spool } = sinkWith(dir, sink, { concurrency: 2 });
    await spool.start();
    const idle = spool.idle();
    let released = 0;
    while (released < 5) {
      await new Promise((r) => setTimeout(r, 5));
      const release = releases.shift();
      if (release) {
        release();
        released++;
      }
    }
    await idle;

    expect(maxInFlight).toBe(2);
    expect(await readdir(dir)).toEqual([]);
  });
});
