/** The spool's provisional records: held durably and undelivered, replaced by the final record. */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { ManualClock } from '../../src/util/clock.js';
import { createSpoolingSink, type SpoolingSinkOptions } from '../../src/bridge/spool.js';
import { readyPath, spoolFileStem } from '../../src/bridge/spool-store.js';
import type { CallRecord, CallRecordSink } from '../../src/bridge/webhook.js';
import { callRecord, down, scriptedSink } from './spool-support.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function spoolDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'spool-prov-'));
  dirs.push(dir);
  return dir;
}

const logger = pino({ level: 'silent' });
const fileOf = (dir: string) => (record: { idempotency_key: string }) => readyPath(dir, spoolFileStem(record.idempotency_key));

function sinkWith(dir: string, inner: CallRecordSink, extra: Partial<SpoolingSinkOptions> = {}) {
  const clock = new ManualClock();
  const spool = createSpoolingSink({
    dir,
    inner,
    clock,
    logger,
    retrySchedule: { initialMs: 1000, maxMs: 4000, jitter: 0 },
    provisionalTimeoutMs: 60_000,
    ...extra,
  });
  return { spool, clock };
}

/** The record as the call ended (fallback summary) and as it is once the model's summary is in. */
function provisionalAndFinal(id: string): { provisional: CallRecord; final: CallRecord } {
  const final = callRecord(id);
  const provisional: CallRecord = { ...final, summary: { ...final.summary, summary: 'fallback', source: 'fallback' } };
  return { provisional, final };
}

async function onDisk(dir: string, record: CallRecord): Promise<CallRecord> {
  return (JSON.parse(await readFile(fileOf(dir)(record), 'utf8')) as { record: CallRecord }).record;
}

describe('spool: provisional records', () => {
  it('is written durably, marked provisional, and not delivered while the process lives', async () => {
    const dir = await spoolDir();
    const { sink, calls } = scriptedSink([], fileOf(dir));
    const { spool, clock } = sinkWith(dir, sink);
    const { provisional } = provisionalAndFinal('p1');
    await spool.holdProvisional(provisional);
    expect(await onDisk(dir, provisional)).toEqual({ ...provisional, provisional: true });
    expect(calls).toEqual([]);
    expect(spool.depth()).toBe(1);
    clock.advance(59_999);
    await spool.idle();
    expect(calls).toEqual([]);
    await spool.close();
  });

  it('the final record replaces it: one delivery, the final one, and no file left', async () => {
    const dir = await spoolDir();
    const { sink, calls } = scriptedSink([], fileOf(dir));
    const { spool, clock } = sinkWith(dir, sink);
    const { provisional, final } = provisionalAndFinal('p2');
    await spool.holdProvisional(provisional);
    expect(await spool.deliver(final)).toMatchObject({ delivered: true });
    expect(calls.map((c) => c.record)).toEqual([final]);
    expect(calls[0]!.record.provisional).toBeUndefined();
    expect(await readdir(dir)).toEqual([]);
    expect(spool.depth()).toBe(0);
    clock.advance(120_000); // the safety net was cancelled
    await spool.idle();
    expect(calls).toHaveLength(1);
  });

  it('a final record that fails is retried from disk as the final one, never the provisional', async () => {
    const dir = await spoolDir();
    const { sink, calls } = scriptedSink([down], fileOf(dir));
    const { spool, clock } = sinkWith(dir, sink);
    const { provisional, final } = provisionalAndFinal('p3');
    const held = spool.holdProvisional(provisional); // not awaited: the final write must still land last
    const result = await spool.deliver(final);
    await held;
    expect(result).toMatchObject({ delivered: false, spooled: true });
    expect(await onDisk(dir, final)).toEqual(final);
    clock.advance(1000);
    await spool.idle();
    expect(calls.map((c) => c.record)).toEqual([final, final]);
    expect(await readdir(dir)).toEqual([]);
  });

  it('a provisional record after the final one is ignored', async () => {
    const dir = await spoolDir();
    const { sink, calls } = scriptedSink([down], fileOf(dir));
    const { spool } = sinkWith(dir, sink);
    const { provisional, final } = provisionalAndFinal('p4');
    await spool.deliver(final);
    await spool.holdProvisional(provisional);
    expect(await onDisk(dir, final)).toEqual(final);
    expect(calls).toHaveLength(1);
    await spool.close();
  });

  it('left by a process that died, it is delivered at the next start, still marked provisional', async () => {
    const dir = await spoolDir();
    const { sink: none, calls: noCalls } = scriptedSink([], fileOf(dir));
    const first = sinkWith(dir, none).spool;
    const { provisional } = provisionalAndFinal('p5');
    await first.holdProvisional(provisional);
    await first.close(); // as good as dead: nothing more happens in it

    const { sink, calls } = scriptedSink([], fileOf(dir));
    const second = sinkWith(dir, sink).spool;
    expect(await second.start()).toMatchObject({ replayed: 1 });
    await second.idle();
    expect(noCalls).toEqual([]);
    expect(calls.map((c) => c.record)).toEqual([{ ...provisional, provisional: true }]);
    expect(await readdir(dir)).toEqual([]);
  });

  it('never replaced within the timeout (the ending path failed), it is delivered as it is', async () => {
    const dir = await spoolDir();
    const { sink, calls } = scriptedSink([], fileOf(dir));
    const { spool, clock } = sinkWith(dir, sink);
    const { provisional } = provisionalAndFinal('p6');
    await spool.holdProvisional(provisional);
    clock.advance(60_000);
    await spool.idle();
    expect(calls.map((c) => c.record)).toEqual([{ ...provisional, provisional: true }]);
    expect(await readdir(dir)).toEqual([]);
  });

  it('with the spool full, a provisional record is not kept and the final one still gets its attempt', async () => {
    const dir = await spoolDir();
    const { sink, calls } = scriptedSink([down], fileOf(dir));
    const { spool } = sinkWith(dir, sink, { maxFiles: 1 });
    await spool.deliver(callRecord('occupant'));
    const { provisional, final } = provisionalAndFinal('p7');
    await spool.holdProvisional(provisional);
    expect((await readdir(dir)).filter((n) => n.endsWith('.json'))).toHaveLength(1);
    expect(await spool.deliver(final)).toMatchObject({ delivered: true });
    expect(calls.map((c) => c.record.idempotency_key)).toEqual([callRecord('occupant').idempotency_key, final.idempotency_key]);
    await spool.close();
  });
});
