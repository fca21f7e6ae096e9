/**
 * A fuzz campaign: N cases from one seed, run one after another in-process, with a victim session
 * stepped alongside. Shared by the vitest slice (test/fuzz/session.fuzz.test.ts) and scripts/fuzz.ts.
 */
import { createLogger } from '../../src/log/logger.js';
import { buildCase, runCase } from './run-case.js';
import { VictimSession } from './victim.js';

export interface CaseFailure {
  index: number;
  seed: number;
  mutations: string[];
  violations: string[];
}

export interface CampaignResult {
  cases: number;
  /** Cases with at least one invariant violation. */
  crashes: number;
  /** Cases whose session did not end closed, finished and timer-free. */
  leaked: number;
  /** Cases that stayed valid (no mutation). */
  validCases: number;
  opened: number;
  disconnected: Record<string, number>;
  closedSent: number;
  victimSteps: number;
  victimProblems: string[];
  failures: CaseFailure[];
  elapsedMs: number;
}

export interface CampaignOptions {
  seed: number;
  cases: number;
  /** Step the victim session every this many cases (default 10). */
  victimEvery?: number;
  /** Keep at most this many failure details (default 20). */
  maxFailures?: number;
  onProgress?: (done: number) => void;
}

export async function runCampaign(options: CampaignOptions): Promise<CampaignResult> {
  const errorLog: string[] = [];
  // Only error-level lines are serialized (cheap); they reveal bugs the session caught itself.
  const logger = createLogger('error', { write: (line: string) => void errorLog.push(line) });
  const victim = new VictimSession();
  const victimEvery = options.victimEvery ?? 10;
  const maxFailures = options.maxFailures ?? 20;
  const result: CampaignResult = {
    cases: 0,
    crashes: 0,
    leaked: 0,
    validCases: 0,
    opened: 0,
    disconnected: {},
    closedSent: 0,
    victimSteps: 0,
    victimProblems: [],
    failures: [],
    elapsedMs: 0,
  };
  const started = performance.now();
  for (let index = 0; index < options.cases; index++) {
    const fuzzCase = buildCase(options.seed, index);
    errorLog.length = 0;
    const outcome = await runCase(fuzzCase, logger, errorLog);
    result.cases++;
    if (fuzzCase.mutations.length === 0) result.validCases++;
    if (outcome.opened) result.opened++;
    if (outcome.closedSent) result.closedSent++;
    if (outcome.disconnectReason !== null) {
      result.disconnected[outcome.disconnectReason] = (result.disconnected[outcome.disconnectReason] ?? 0) + 1;
    }
    if (outcome.leaked) result.leaked++;
    if (outcome.violations.length > 0) {
      result.crashes++;
      if (result.failures.length < maxFailures) {
        result.failures.push({ index, seed: fuzzCase.seed, mutations: fuzzCase.mutations, violations: outcome.violations });
      }
    }
    if (index % victimEvery === 0) victim.step();
    if (options.onProgress && index % 10_000 === 9_999) options.onProgress(index + 1);
  }
  result.elapsedMs = performance.now() - started;
  result.victimSteps = victim.stepsRun;
  result.victimProblems = await victim.finish();
  return result;
}
