/**
 * Structure-aware fuzz campaign against the AudioHook protocol session (in-process, ManualClock).
 *
 *   npx tsx --expose-gc scripts/fuzz.ts [--cases N] [--seed S]
 *
 * Defaults: 100,000 cases, seed 1. Prints cases, crashes (cases violating an invariant), sessions
 * leaked, cases/s and heap before/after (after a full GC when --expose-gc is given); exits 1 on any
 * crash, leak or disturbance of the victim session. A failing case is replayed with the same seed;
 * its index is printed.
 */
import { runCampaign } from '../test/fuzz/campaign.js';

function intFlag(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  if (at < 0) return fallback;
  const value = Number(process.argv[at + 1]);
  if (!Number.isSafeInteger(value) || value < 0) {
    console.error(`${name} needs a non-negative integer`);
    process.exit(2);
  }
  return value;
}

const cases = intFlag('--cases', 100_000);
const seed = intFlag('--seed', 1);
const gc = (globalThis as { gc?: () => void }).gc;
const heapMb = () => {
  gc?.();
  return process.memoryUsage().heapUsed / 1_048_576;
};

let unhandled = 0;
process.on('unhandledRejection', (reason) => {
  unhandled++;
  console.error('unhandled rejection:', reason);
});

const heapBefore = heapMb();
const result = await runCampaign({
  seed,
  cases,
  onProgress: (done) => process.stderr.write(`  ${done} cases…\n`),
});
const heapAfter = heapMb();

const rate = result.cases / (result.elapsedMs / 1000);
console.log(`fuzz: seed ${seed}`);
console.log(`  cases            ${result.cases} (${result.validCases} valid, ${result.cases - result.validCases} mutated)`);
console.log(`  crashes          ${result.crashes}`);
console.log(`  sessions leaked  ${result.leaked}`);
console.log(`  cases/s          ${rate.toFixed(0)} (${(result.elapsedMs / 1000).toFixed(1)} s)`);
console.log(`  heap             ${heapBefore.toFixed(1)} MB before, ${heapAfter.toFixed(1)} MB after${gc ? ' (after gc)' : ' (no --expose-gc)'}`);
console.log(`  outcomes         opened ${result.opened}, closed sent ${result.closedSent}, disconnect ${JSON.stringify(result.disconnected)}`);
console.log(`  victim session   ${result.victimSteps} steps, ${result.victimProblems.length === 0 ? 'undisturbed' : result.victimProblems.join('; ')}`);
console.log(`  unhandled        ${unhandled} promise rejections`);
for (const failure of result.failures) {
  console.log(`  FAIL case ${failure.index} (case seed ${failure.seed}) mutations [${failure.mutations.join(', ')}]`);
  for (const v of failure.violations) console.log(`       - ${v}`);
}
const ok = result.crashes === 0 && result.leaked === 0 && result.victimProblems.length === 0 && unhandled === 0;
process.exit(ok ? 0 : 1);
