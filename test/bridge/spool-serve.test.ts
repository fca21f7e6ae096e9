/** The spool as `serve` wires it: env → sink choice, replay at start-up, close on stop. */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { z } from 'zod';
import { parseEnv } from '../../src/cli/env.js';
import { createCallRecordDelivery, serve, type ServeEnv } from '../../src/cli/serve.js';
import { spoolEnvShape } from '../../src/bridge/spool.js';
import { readyPath, serializeEnvelope } from '../../src/bridge/spool-store.js';
import { createMetrics } from '../../src/server/metrics.js';
import { callRecord } from './spool-support.js';

const logger = pino({ level: 'silent' });
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'spool-serve-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function receiver() {
  const keys: string[] = [];
  const waiters: Array<() => void> = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      keys.push(String(req.headers['idempotency-key']));
      res.writeHead(200).end();
      waiters.splice(0).forEach((w) => w());
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  const next = () => new Promise<void>((r) => waiters.push(r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, keys, next };
}

function env(extra: Record<string, string>, spool: Record<string, string> = {}): ServeEnv {
  // spoolEnvShape is parsed here as env.ts will once it is merged there.
  return {
    ...parseEnv({ GENESYS_API_KEY: 'key', OPENAI_API_KEY: 'sk-test', PORT: '0', HOST: '127.0.0.1', ...extra }),
    ...z.object(spoolEnvShape).parse(spool),
  };
}

describe('spool wiring', () => {
  it('parses SUMMARY_SPOOL_DIR and SUMMARY_SPOOL_MAX_FILES', () => {
    const schema = z.object(spoolEnvShape);
    expect(schema.parse({})).toEqual({ SUMMARY_SPOOL_MAX_FILES: 10_000 });
    expect(schema.parse({ SUMMARY_SPOOL_DIR: '/var/spool/x', SUMMARY_SPOOL_MAX_FILES: '50' })).toEqual({
      SUMMARY_SPOOL_DIR: '/var/spool/x',
      SUMMARY_SPOOL_MAX_FILES: 50,
    });
    expect(schema.safeParse({ SUMMARY_SPOOL_MAX_FILES: '0' }).success).toBe(false);
    expect(schema.safeParse({ SUMMARY_SPOOL_MAX_FILES: 'lots' }).success).toBe(false);
  });

  it('no webhook: no sink; webhook only: best-effort sender; webhook and spool dir: the spool', async () => {
    const dir = await tempDir();
    expect(createCallRecordDelivery(env({}, { SUMMARY_SPOOL_DIR: dir }), logger)).toEqual({});
    const plain = createCallRecordDelivery(env({ SUMMARY_WEBHOOK_URL: 'http://127.0.0.1:9/x' }), logger);
    expect(plain.sink).toBeDefined();
    expect(plain.spool).toBeUndefined();
    const spooled = createCallRecordDelivery(env({ SUMMARY_WEBHOOK_URL: 'http://127.0.0.1:9/x' }, { SUMMARY_SPOOL_DIR: dir }), logger);
    expect(spooled.spool).toBeDefined();
    expect(spooled.sink).toBe(spooled.spool);
  });

  it('the spool delivers through the webhook sender and feeds the metrics', async () => {
    const dir = await tempDir();
    const hook = await receiver();
    const metrics = createMetrics({ defaultMetrics: false });
    const { sink } = createCallRecordDelivery(
      env({ SUMMARY_WEBHOOK_URL: hook.url }, { SUMMARY_SPOOL_DIR: dir }),
      logger,
      metrics,
    );

    const result = await sink!.deliver(callRecord('w1'));

    expect(result.delivered).toBe(true);
    expect(hook.keys).toEqual(['w1:conv-w1']);
    expect(await readdir(dir)).toEqual([]);
    const text = await metrics.render();
    expect(text).toMatch(/audiohook_webhook_deliveries_total\{outcome="delivered"\} 1/);
    expect(text).toMatch(/audiohook_webhook_spool_depth 0/);
  });

  it('serve replays records left in SUMMARY_SPOOL_DIR at start-up, before calls are taken', async () => {
    const dir = await tempDir();
    await writeFile(readyPath(dir, 'left:conv-left'), serializeEnvelope(callRecord('left'), new Date()));
    const hook = await receiver();
    const delivered = hook.next();

    const service = await serve(env({ SUMMARY_WEBHOOK_URL: hook.url, LOG_LEVEL: 'silent' }, { SUMMARY_SPOOL_DIR: dir }), {
      logger,
      handleSignals: false,
    });
    cleanups.push(() => service.server.stop(0));
    await delivered;
    await service.spool!.idle();

    expect(hook.keys).toEqual(['left:conv-left']);
    expect(await readdir(dir)).toEqual([]);
    expect(service.spool!.depth()).toBe(0);
    await service.server.stop(0);
  });
});
