/**
 * Genesys Cloud Platform API for Data Actions (TOOLS.md §1): OAuth client credentials, the action's input
 * contract, and execution.
 *
 * - Token: POST <login>/oauth/token (Basic client id:secret, form grant_type=client_credentials), cached
 *   until shortly before `expires_in`, one fetch shared by concurrent callers, refreshed once on a 401.
 * - Contract: GET /api/v2/integrations/actions/{id}?expand=contract → contract.input.inputSchema.
 * - Execute: POST /api/v2/integrations/actions/{id}/execute (never /test, which returns a debug trace).
 *   A 401 or 429 proves the action did not run, so those are retried (429 after Retry-After, only when it
 *   fits before the tool's deadline). Anything else that may have reached the action — timeout, reset,
 *   5xx — is never retried: no duplicate refunds. Upstream error text never reaches the model (it can hold
 *   stack traces, TOOLS.md §1.3); contextId and inin-correlation-id are logged.
 */
import type { Logger } from 'pino';
import type { Clock } from '../util/clock.js';
import type { GenesysOAuthSettings } from './env.js';
import { fetchBounded, parseBody, transportFailure, type BoundedResponse } from './fetch-bounded.js';
import { MODEL_MESSAGES, ToolFailure } from './result.js';

const TOKEN_TIMEOUT_MS = 10_000;
const MAX_BODY_BYTES = 1024 * 1024;
/** Refresh this long before the token expires (or at 90 % of a short lifetime). */
const TOKEN_EARLY_MS = 60_000;
const MAX_429_RETRIES = 3;

export interface DataActionInfo {
  id: string;
  name: string;
  inputSchema: unknown;
}

export interface GenesysClientDeps {
  clock: Clock;
  logger: Logger;
  fetchImpl?: typeof fetch;
}

export interface RequestBudget {
  signal: AbortSignal;
  /** Clock time after which no retry wait may end. */
  deadline: number;
}

/** Retry-After as seconds or an HTTP date; undefined when absent or unparseable. */
export function retryAfterMs(value: string | null, nowEpochMs: number): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowEpochMs);
}

export class GenesysPlatformClient {
  private token: { value: string; refreshAt: number } | undefined;
  private pendingToken: Promise<string> | undefined;
  private readonly fetchImpl: typeof fetch;

  constructor(
    private readonly settings: GenesysOAuthSettings,
    private readonly deps: GenesysClientDeps,
  ) {
    this.fetchImpl = deps.fetchImpl ?? fetch;
  }

  /** A valid access token; `stale` (a token that just got a 401) is never handed out again. */
  async accessToken(signal: AbortSignal, stale?: string): Promise<string> {
    if (stale !== undefined && this.token?.value === stale) this.token = undefined;
    if (this.token && this.deps.clock.now() < this.token.refreshAt) return this.token.value;
    // One token request for everyone waiting; a caller that gives up does not cancel it for the others.
    this.pendingToken ??= this.fetchToken().finally(() => {
      this.pendingToken = undefined;
    });
    return raceAbort(this.pendingToken, signal);
  }

  private async fetchToken(): Promise<string> {
    const controller = new AbortController();
    const timer = this.deps.clock.setTimeout(() => controller.abort(), TOKEN_TIMEOUT_MS);
    let res: BoundedResponse;
    try {
      res = await fetchBounded(
        this.fetchImpl,
        `${this.settings.loginBaseUrl}/oauth/token`,
        {
          method: 'POST',
          headers: {
            authorization: `Basic ${Buffer.from(`${this.settings.clientId}:${this.settings.clientSecret}`).toString('base64')}`,
            'content-type': 'application/x-www-form-urlencoded',
            accept: 'application/json',
          },
          body: 'grant_type=client_credentials',
          signal: controller.signal,
        },
        64 * 1024,
      );
    } catch (err) {
      throw new ToolFailure('unavailable', MODEL_MESSAGES.unavailable, `genesys oauth: ${controller.signal.aborted ? 'timed out' : (err as Error).message}`);
    } finally {
      this.deps.clock.clearTimeout(timer);
    }
    const body = parseBody(res.text) as { access_token?: unknown; expires_in?: unknown } | null;
    if (res.status !== 200 || typeof body?.access_token !== 'string') {
      // 400/401 here is a configuration problem (wrong client id/secret, not a client-credentials grant).
      this.deps.logger.error({ status: res.status }, 'genesys oauth token request failed');
      throw new ToolFailure('unavailable', MODEL_MESSAGES.unavailable, `genesys oauth: HTTP ${res.status}`);
    }
    const lifetimeMs = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in * 1000 : 3600_000;
    const early = Math.min(TOKEN_EARLY_MS, lifetimeMs / 10);
    this.token = { value: body.access_token, refreshAt: this.deps.clock.now() + lifetimeMs - early };
    return body.access_token;
  }

  /** The action's name and input contract (GET ?expand=contract). */
  async getAction(actionId: string, signal: AbortSignal): Promise<DataActionInfo> {
    const url = `${this.settings.apiBaseUrl}/api/v2/integrations/actions/${encodeURIComponent(actionId)}?expand=contract`;
    const res = await this.authorized(url, { method: 'GET' }, signal, `data action ${actionId} contract`);
    if (res.status !== 200) {
      this.logUpstream(res, actionId, 'data action contract request failed');
      throw new ToolFailure('unavailable', MODEL_MESSAGES.unavailable, `contract of ${actionId}: HTTP ${res.status}`);
    }
    const body = parseBody(res.text) as { name?: unknown; contract?: { input?: { inputSchema?: unknown } } } | null;
    return {
      id: actionId,
      name: typeof body?.name === 'string' && body.name.trim() !== '' ? body.name : actionId,
      inputSchema: body?.contract?.input?.inputSchema ?? { type: 'object', properties: {} },
    };
  }

  /** Runs the action; the success body (the action's output contract) or a ToolFailure. */
  async execute(actionId: string, input: unknown, budget: RequestBudget): Promise<unknown> {
    const url = `${this.settings.apiBaseUrl}/api/v2/integrations/actions/${encodeURIComponent(actionId)}/execute`;
    const body = JSON.stringify(input ?? {});
    for (let attempt = 0; ; attempt++) {
      const res = await this.authorized(
        url,
        { method: 'POST', body, headers: { 'content-type': 'application/json' } },
        budget.signal,
        `data action ${actionId}`,
      );
      if (res.status >= 200 && res.status < 300) {
        if (res.tooLarge) throw new ToolFailure('tool_error', MODEL_MESSAGES.tool_error, `data action ${actionId}: response over ${MAX_BODY_BYTES} bytes`);
        return parseBody(res.text);
      }
      this.logUpstream(res, actionId, 'data action execution failed');
      if (res.status === 429) {
        const wait = retryAfterMs(res.headers.get('retry-after'), Date.now()) ?? 1000;
        if (attempt < MAX_429_RETRIES && this.deps.clock.now() + wait < budget.deadline) {
          await sleep(this.deps.clock, wait, budget.signal);
          continue;
        }
        throw new ToolFailure('rate_limited', MODEL_MESSAGES.rate_limited, `data action ${actionId}: HTTP 429`);
      }
      if (res.status === 400) throw new ToolFailure('invalid_arguments', 'The system rejected these inputs.', `data action ${actionId}: HTTP 400`);
      if (res.status === 401 || res.status === 403 || res.status === 404) {
        throw new ToolFailure('unavailable', MODEL_MESSAGES.unavailable, `data action ${actionId}: HTTP ${res.status}`);
      }
      // 408, 5xx and anything else: it may have run. Not retried.
      throw new ToolFailure('unknown_outcome', MODEL_MESSAGES.unknown_outcome, `data action ${actionId}: HTTP ${res.status}`);
    }
  }

  /** One request with the bearer token; a 401 (the action did not run) gets one retry with a fresh token. */
  private async authorized(url: string, init: RequestInit, signal: AbortSignal, what: string): Promise<BoundedResponse> {
    let token = await this.accessToken(signal);
    for (let attempt = 0; ; attempt++) {
      let res: BoundedResponse;
      try {
        res = await fetchBounded(
          this.fetchImpl,
          url,
          { ...init, headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${token}`, accept: 'application/json' }, signal },
          MAX_BODY_BYTES,
        );
      } catch (err) {
        if (signal.aborted) throw err;
        throw transportFailure(err, what);
      }
      if (res.status !== 401 || attempt > 0) return res;
      token = await this.accessToken(signal, token);
    }
  }

  private logUpstream(res: BoundedResponse, actionId: string, message: string): void {
    const body = parseBody(res.text) as { contextId?: unknown; code?: unknown } | null;
    this.deps.logger.warn(
      {
        actionId,
        status: res.status,
        code: typeof body?.code === 'string' ? body.code.slice(0, 100) : undefined,
        contextId: typeof body?.contextId === 'string' ? body.contextId.slice(0, 100) : undefined,
        correlationId: res.headers.get('inin-correlation-id')?.slice(0, 100) ?? undefined,
      },
      message,
    );
  }
}

function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e as Error);
      },
    );
  });
}

export function sleep(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    const timer = clock.setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clock.clearTimeout(timer);
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
