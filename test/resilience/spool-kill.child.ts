/**
 * Child process for spool-kill.test.ts (run with tsx). Environment:
 * - SPOOL_DIR, WEBHOOK_URL
 * - MODE=deliver: hand COUNT call records to the spooling sink, print `delivering`, then stay alive
 *   (the parent kills it with SIGKILL while attempts are hanging or failing).
 * - MODE=provisional: hold a provisional record for each of COUNT calls (as the bridge does when a call
 *   ends), deliver the final record for the even-numbered ones, print `held`, then stay alive (the parent
 *   kills it with SIGKILL while the odd ones wait for their summary).
 * - MODE=replay: start the spool (replaying what the killed process left), print `replayed <n>`, wait until
 *   the spool is empty, print `empty` and exit 0.
 */
import { pino } from 'pino';
import { createSpoolingSink } from '../../src/bridge/spool.js';
import { createWebhookSender } from '../../src/bridge/webhook.js';
import { systemClock } from '../../src/util/clock.js';
import { callRecord } from '../bridge/spool-support.js';

const dir = process.env.SPOOL_DIR;
const url = process.env.WEBHOOK_URL;
const mode = process.env.MODE;
const count = Number(process.env.COUNT ?? '0');
if (!dir || !url || (mode !== 'deliver' && mode !== 'replay' && mode !== 'provisional')) {
  process.stderr.write('usage: SPOOL_DIR=… WEBHOOK_URL=… MODE=deliver|provisional|replay [COUNT=n]\n');
  process.exit(2);
}

// Never outlive the test process (stdin is a pipe from it).
process.stdin.on('end', () => process.exit(3));
process.stdin.resume();

const logger = pino({ level: 'warn' }, pino.destination(2));
const sender = createWebhookSender({ url, timeoutMs: 30_000, retries: 0, clock: systemClock, logger });
const spool = createSpoolingSink({
  dir,
  inner: sender,
  clock: systemClock,
  logger,
  retrySchedule: { initialMs: 200, maxMs: 1000, jitter: 0.2 },
});

if (mode === 'deliver') {
  for (let i = 0; i < count; i++) void spool.deliver(callRecord(`kill-${i}`));
  process.stdout.write('delivering\n');
  // Stay alive until killed: the spool's own timers do not hold the process open.
  setInterval(() => undefined, 1000);
} else if (mode === 'provisional') {
  await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const final = callRecord(`prov-${i}`);
      await spool.holdProvisional({ ...final, summary: { ...final.summary, summary: 'fallback', source: 'fallback' } });
      if (i % 2 === 0) await spool.deliver(final);
    }),
  );
  process.stdout.write('held\n');
  setInterval(() => undefined, 1000);
} else {
  const report = await spool.start();
  process.stdout.write(`replayed ${report.replayed}\n`);
  while (spool.depth() > 0) {
    await spool.idle();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await spool.close();
  process.stdout.write('empty\n');
  process.exit(0);
}
