/**
 * The on-disk half of the summary spool: one JSON envelope per pending call record in SUMMARY_SPOOL_DIR.
 *
 * A record is durable once `writeDurably` resolves: the bytes go to a unique temporary file, which is
 * fsynced, renamed over `<stem>.json` (atomic on POSIX) and the directory fsynced so the rename itself
 * survives a power cut. A crash before the rename leaves only a `.tmp` file, which `recoverPartial`
 * turns back into a spool entry when it is complete. Unreadable files are renamed aside (`.bad`,
 * `.rejected`), never deleted, so an operator can inspect them.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { CallRecord } from './webhook.js';

export const SPOOL_VERSION = 1;
const READY_SUFFIX = '.json';
const PARTIAL_SUFFIX = '.tmp';

const envelopeSchema = z.object({
  spool_version: z.literal(SPOOL_VERSION),
  spooled_at: z.string(),
  // The record was written by this program from a typed CallRecord and is re-sent byte-for-byte in
  // meaning; checking its identity fields catches a wrong or truncated file, and the rest passes through
  // so a spool written by an older version still delivers after an upgrade.
  record: z.looseObject({ idempotency_key: z.string().min(1), session_id: z.string(), conversation_id: z.string() }),
});

export interface SpoolEnvelope {
  spool_version: typeof SPOOL_VERSION;
  spooled_at: string;
  record: CallRecord;
}

export class SpoolCorruptError extends Error {
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`spool file ${path} is unreadable: ${reason}`);
    this.name = 'SpoolCorruptError';
  }
}

/**
 * File name (without extension) for an idempotency key. Keys from the bridge (`<session>:<conversation>`,
 * both UUIDs) are used as they are, so an operator can find a call's file; anything that could escape the
 * directory or clash with our suffixes is replaced by a hash of the key (the key itself is in the file).
 */
export function spoolFileStem(idempotencyKey: string): string {
  if (/^[A-Za-z0-9][A-Za-z0-9_:-]{0,150}$/.test(idempotencyKey)) return idempotencyKey;
  return `key-${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 40)}`;
}

export function readyPath(dir: string, stem: string): string {
  return join(dir, `${stem}${READY_SUFFIX}`);
}

export function serializeEnvelope(record: CallRecord, spooledAt: Date): string {
  const envelope: SpoolEnvelope = { spool_version: SPOOL_VERSION, spooled_at: spooledAt.toISOString(), record };
  return JSON.stringify(envelope);
}

export function parseEnvelope(path: string, text: string): SpoolEnvelope {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new SpoolCorruptError(path, `not JSON (${(err as Error).message})`);
  }
  const parsed = envelopeSchema.safeParse(json);
  if (!parsed.success) throw new SpoolCorruptError(path, parsed.error.issues[0]?.message ?? 'bad envelope');
  return { ...parsed.data, record: parsed.data.record as unknown as CallRecord };
}

export async function ensureSpoolDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
}

let tmpCounter = 0;

/** Writes `<stem>.json` so that, once this resolves, the content survives kill -9 and power loss. */
export async function writeDurably(dir: string, stem: string, content: string): Promise<string> {
  const target = readyPath(dir, stem);
  const tmp = join(dir, `${stem}.${process.pid}-${++tmpCounter}${PARTIAL_SUFFIX}`);
  const file = await open(tmp, 'w', 0o600);
  try {
    await file.writeFile(content, 'utf8');
    await file.sync();
  } finally {
    await file.close();
  }
  try {
    await rename(tmp, target);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await syncDir(dir);
  return target;
}

/** Makes a rename in `dir` durable. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export async function readEnvelope(path: string): Promise<SpoolEnvelope> {
  return parseEnvelope(path, await readFile(path, 'utf8'));
}

export interface SpoolListing {
  /** Complete entries, oldest first (by modification time, then name). */
  ready: Array<{ stem: string; path: string }>;
  /** Temporary files left by a crash between write and rename. */
  partial: string[];
  /** Files already set aside (`.bad`, `.rejected`). */
  setAside: number;
}

export async function listSpool(dir: string): Promise<SpoolListing> {
  const names = await readdir(dir);
  const ready: Array<{ stem: string; path: string; mtimeMs: number }> = [];
  const partial: string[] = [];
  let setAside = 0;
  for (const name of names) {
    const path = join(dir, name);
    if (name.endsWith(READY_SUFFIX)) {
      const info = await stat(path).catch(() => undefined);
      if (info?.isFile()) ready.push({ stem: name.slice(0, -READY_SUFFIX.length), path, mtimeMs: info.mtimeMs });
    } else if (name.endsWith(PARTIAL_SUFFIX)) {
      partial.push(path);
    } else if (name.endsWith('.bad') || name.endsWith('.rejected')) {
      setAside++;
    }
  }
  ready.sort((a, b) => a.mtimeMs - b.mtimeMs || (a.stem < b.stem ? -1 : a.stem > b.stem ? 1 : 0));
  return { ready: ready.map(({ stem, path }) => ({ stem, path })), partial, setAside };
}

/**
 * A `.tmp` file means the process died after starting to write a record and before the first delivery
 * attempt: a complete one is moved into place (unless a newer `.json` for the key exists), an incomplete
 * one is set aside as `.bad`. Returns the stem recovered, or undefined.
 */
export async function recoverPartial(dir: string, tmpPath: string): Promise<{ stem?: string; corrupt?: Error }> {
  let envelope: SpoolEnvelope;
  try {
    envelope = await readEnvelope(tmpPath);
  } catch (err) {
    await setAside(tmpPath, 'bad');
    return { corrupt: err as Error };
  }
  const stem = spoolFileStem(envelope.record.idempotency_key);
  const target = readyPath(dir, stem);
  const existing = await stat(target).catch(() => undefined);
  if (existing) {
    await unlink(tmpPath);
    return {};
  }
  await rename(tmpPath, target);
  await syncDir(dir);
  return { stem };
}

/** Renames a file aside (`<name>.bad` / `<name>.rejected`) so it is kept but never replayed. */
export async function setAside(path: string, kind: 'bad' | 'rejected'): Promise<string> {
  const target = `${path}.${kind}`;
  await rename(path, target);
  return target;
}

/** Deletes a delivered entry; already gone is fine (another attempt delivered it first). */
export async function removeEntry(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
