/**
 * The summary spool across worker slots. Each slot spools into SUMMARY_SPOOL_DIR/worker-<slot> (plan.ts), so
 * a record is only ever delivered by the worker in that slot: a replacement worker replays its crashed
 * predecessor's directory. Before any worker starts, the primary hands files that no slot will read — left in
 * the root by a single-process run, or in worker-<k> for k above today's WORKERS — to slot 1 (a rename, atomic
 * on one filesystem). A single process (WORKERS=1) likewise takes back every worker-<k> directory.
 */
import { mkdir, readdir, rename, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { syncDir } from '../bridge/spool-store.js';
import { slotOfDirName, slotSpoolDir } from './plan.js';

/** Pending spool entries and crash leftovers; `.bad`/`.rejected` files stay where an operator put them. */
const MOVABLE = /\.(json|tmp)$/;

export interface AdoptionReport {
  moved: number;
  /** A file of that name already existed at the destination (the same idempotency key twice): left in place. */
  skipped: string[];
}

export async function adoptOrphanedSpoolFiles(root: string, workers: number): Promise<AdoptionReport> {
  await mkdir(root, { recursive: true });
  const target = workers === 1 ? root : slotSpoolDir(root, 1);
  await mkdir(target, { recursive: true });
  const sources: string[] = workers === 1 ? [] : [root];
  for (const entry of await readdir(root, { withFileTypes: true })) {
    const slot = entry.isDirectory() ? slotOfDirName(entry.name) : undefined;
    if (slot !== undefined && slot > workers) sources.push(join(root, entry.name));
    else if (slot !== undefined && workers === 1) sources.push(join(root, entry.name));
  }
  const report: AdoptionReport = { moved: 0, skipped: [] };
  for (const source of sources) {
    for (const entry of await readdir(source, { withFileTypes: true })) {
      if (!entry.isFile() || !MOVABLE.test(entry.name)) continue;
      const destination = join(target, entry.name);
      if (await stat(destination).catch(() => undefined)) {
        report.skipped.push(join(source, entry.name));
        continue;
      }
      await rename(join(source, entry.name), destination);
      report.moved++;
    }
    // An emptied slot directory of a larger earlier WORKERS goes; one still holding set-aside files stays.
    if (source !== root) await rmdir(source).catch(() => undefined);
  }
  if (report.moved > 0) await syncDir(target);
  return report;
}
