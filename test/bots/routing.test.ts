/** Connector ID routing at the upgrade: a Connector ID with no bot and no default is refused with 404. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BotDirectory } from '../../src/bots/directory.js';
import { createMetrics } from '../../src/server/metrics.js';
import { systemClock } from '../../src/util/clock.js';
import { newIds, signedHeaders, startApp, upgrade, type StartedApp } from '../server/support.js';
import { quietLogger, SETTINGS } from '../tools/support.js';

let started: StartedApp | undefined;
afterEach(async () => {
  await started?.app.close();
  started = undefined;
});

async function appWithBots(yaml: string) {
  const dir = mkdtempSync(join(tmpdir(), 'bots-'));
  const file = join(dir, 'bots.yaml');
  writeFileSync(file, yaml);
  const bots = await BotDirectory.create({ file, env: {}, toolSettings: SETTINGS, clock: systemClock, logger: quietLogger });
  const metrics = createMetrics({ defaultMetrics: false });
  started = await startApp({}, { metrics, refuseConnector: (id) => { const r = bots.route(id); return r.ok ? undefined : r.reason; } });
  return { bots, metrics };
}

async function connect(path: string) {
  const port = started!.port;
  const result = await upgrade(port, path, signedHeaders(port, newIds(), { path }));
  if (result.kind === 'open') result.ws.close();
  return result;
}

describe('Connector ID routing', () => {
  it('accepts a Connector ID with a bot and refuses one without (no default) with 404 and a reason', async () => {
    const { metrics } = await appWithBots('bots:\n  sales: {}\n');
    expect((await connect('/audiohook/sales')).kind).toBe('open');
    const refused = await connect('/audiohook/crm');
    expect(refused).toEqual({ kind: 'rejected', status: 404, body: '404 Not Found: no bot for this Connector ID\n' });
    const none = await connect('/audiohook');
    expect(none).toMatchObject({ kind: 'rejected', status: 404, body: '404 Not Found: no Connector ID and no default bot\n' });
    expect(await metrics.render()).toMatch(/audiohook_upgrades_refused_total\{reason="not_found"\} 2/);
  });

  it('routes unknown Connector IDs to the default bot', async () => {
    await appWithBots('default: sales\nbots:\n  sales: {}\n');
    expect((await connect('/audiohook/anything')).kind).toBe('open');
  });

  it('authenticates before routing: an unauthenticated probe learns nothing about bots', async () => {
    await appWithBots('bots:\n  sales: {}\n');
    const port = started!.port;
    const probe = await upgrade(port, '/audiohook/crm', { 'X-API-KEY': 'wrong' });
    expect(probe).toMatchObject({ kind: 'rejected' });
    expect(probe.kind === 'rejected' && probe.status).not.toBe(404);
  });
});
