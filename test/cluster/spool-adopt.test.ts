import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { adoptOrphanedSpoolFiles } from '../../src/cluster/spool-adopt.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function spoolRoot(layout: Record<string, string[]>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'spool-adopt-'));
  dirs.push(root);
  for (const [sub, files] of Object.entries(layout)) {
    const dir = sub === '.' ? root : join(root, sub);
    await mkdir(dir, { recursive: true });
    for (const file of files) await writeFile(join(dir, file), `{"from":"${sub}/${file}"}`);
  }
  return root;
}

const list = async (dir: string) => (await readdir(dir)).sort();

describe('spool hand-over between worker slots', () => {
  it('WORKERS=2: records a single process left in the root, and worker-3 of a larger run, go to worker-1; live slots keep theirs', async () => {
    const root = await spoolRoot({
      '.': ['a.json', 'b.123-1.tmp', 'old.json.bad'],
      'worker-1': ['c.json'],
      'worker-2': ['d.json'],
      'worker-3': ['e.json', 'f.json.rejected'],
    });
    const report = await adoptOrphanedSpoolFiles(root, 2);
    expect(report).toEqual({ moved: 3, skipped: [] });
    expect(await list(join(root, 'worker-1'))).toEqual(['a.json', 'b.123-1.tmp', 'c.json', 'e.json']);
    expect(await list(join(root, 'worker-2'))).toEqual(['d.json']);
    // Set-aside files stay where they are; an emptied orphan slot would be removed, this one still holds one.
    expect(await list(root)).toEqual(['old.json.bad', 'worker-1', 'worker-2', 'worker-3']);
    expect(await list(join(root, 'worker-3'))).toEqual(['f.json.rejected']);
  });

  it('WORKERS=1: every worker-<n> directory comes back to the root, emptied directories removed', async () => {
    const root = await spoolRoot({ '.': ['a.json'], 'worker-1': ['b.json'], 'worker-2': ['c.json', 'd.9-9.tmp'], notes: ['x.json'] });
    expect(await adoptOrphanedSpoolFiles(root, 1)).toEqual({ moved: 3, skipped: [] });
    expect(await list(root)).toEqual(['a.json', 'b.json', 'c.json', 'd.9-9.tmp', 'notes']);
  });

  it('the same record in two places is left in place, never overwritten', async () => {
    const root = await spoolRoot({ '.': ['same.json'], 'worker-1': ['same.json'] });
    const report = await adoptOrphanedSpoolFiles(root, 2);
    expect(report.moved).toBe(0);
    expect(report.skipped).toEqual([join(root, 'same.json')]);
  });

  it('a missing directory is created (first start)', async () => {
    const root = join(await spoolRoot({}), 'fresh');
    expect(await adoptOrphanedSpoolFiles(root, 3)).toEqual({ moved: 0, skipped: [] });
    expect(await list(root)).toEqual(['worker-1']);
  });
});
