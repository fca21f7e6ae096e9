/**
 * Whether the model provider accepts our handshakes, across all calls of the process: a revoked key or a
 * wrong model makes every call fail within a second, which must be visible beyond per-call warnings.
 * Every refusal is counted (by HTTP status, through `onRefusal`: audiohook_model_errors_total
 * code="handshake_<status>"); the first refusal of a streak is logged at error with the fix; /readyz
 * reports the model as failing while the streak lasts.
 *
 * /readyz choice: it stays 200 and carries `model: {status: "failing", reason}` in its body. A bad key is
 * shared by every instance, so answering 503 would take the whole fleet out of rotation: Genesys would
 * then fail calls before they reach us (no logs, no metrics, no records), while the caller-facing result
 * (the flow's failure path) is the same. One flaky handshake changes nothing but the body until the next
 * success clears it.
 */
import type { Logger } from 'pino';
import { isRetryableHttpStatus } from './backoff.js';

export type ModelProvider = 'openai' | 'azure';

/** What connectRealtime reports about each handshake (ConnectSettings.health). */
export interface HandshakeObserver {
  handshakeRefused(httpStatus: number): void;
  handshakeSucceeded(): void;
}

export interface ModelHealthStatus {
  status: 'ok' | 'failing' | 'unknown';
  /** Consecutive refusals since the last successful handshake. */
  consecutiveRefusals?: number;
  lastStatus?: number;
  reason?: string;
}

/** The operator's fix for a refused handshake, naming the variables to check. */
export function refusalHint(httpStatus: number, provider: ModelProvider): string {
  const key = provider === 'azure' ? 'AZURE_OPENAI_API_KEY' : 'OPENAI_API_KEY';
  if (httpStatus === 401 || httpStatus === 403) return `check ${key} (rejected or revoked)`;
  if (httpStatus === 404) {
    return provider === 'azure'
      ? 'check AZURE_OPENAI_DEPLOYMENT and AZURE_OPENAI_ENDPOINT (no such deployment or path)'
      : 'check OPENAI_MODEL / AI_MODEL and OPENAI_BASE_URL (no such model or path)';
  }
  if (httpStatus === 429) return 'rate or concurrency limit reached: check the account limits and quota';
  if (isRetryableHttpStatus(httpStatus)) return 'the provider is failing; calls retry within MODEL_RETRY_BUDGET_MS';
  return `check ${key} and the model settings`;
}

export class ModelHealth implements HandshakeObserver {
  private refusals = 0;
  private lastStatus: number | undefined;
  private succeeded = false;

  constructor(
    private readonly options: {
      provider: ModelProvider;
      logger: Logger;
      /** Counts one refusal (the metric). */
      onRefusal?: (httpStatus: number) => void;
    },
  ) {}

  handshakeRefused(httpStatus: number): void {
    this.refusals += 1;
    this.lastStatus = httpStatus;
    this.options.onRefusal?.(httpStatus);
    if (this.refusals === 1) {
      this.options.logger.error(
        { httpStatus, provider: this.options.provider, fix: refusalHint(httpStatus, this.options.provider) },
        `model handshake refused (HTTP ${httpStatus}): ${refusalHint(httpStatus, this.options.provider)}`,
      );
    }
  }

  handshakeSucceeded(): void {
    if (this.refusals > 0) this.options.logger.info({ refusals: this.refusals }, 'model handshakes succeed again');
    this.refusals = 0;
    this.lastStatus = undefined;
    this.succeeded = true;
  }

  status(): ModelHealthStatus {
    if (this.refusals > 0) {
      const status = this.lastStatus ?? 0;
      return {
        status: 'failing',
        consecutiveRefusals: this.refusals,
        lastStatus: status,
        reason: `handshake refused (HTTP ${status}): ${refusalHint(status, this.options.provider)}`,
      };
    }
    return { status: this.succeeded ? 'ok' : 'unknown' };
  }
}
