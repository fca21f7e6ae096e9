/**
 * Data Action contracts, cached: one GET per action per TTL whatever the number of calls, a failed fetch
 * remembered briefly (a broken action must not add a Platform API round trip to every call start).
 */
import type { Clock } from '../util/clock.js';
import type { DataActionInfo, GenesysPlatformClient } from './genesys.js';

const TTL_MS = 10 * 60_000;
const FAILURE_TTL_MS = 30_000;
const MAX_ENTRIES = 500;

type Entry = { at: number; info?: DataActionInfo; pending?: Promise<DataActionInfo | undefined> };

export class DataActionCatalog {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly client: GenesysPlatformClient,
    private readonly clock: Clock,
    private readonly onFailure: (actionId: string, err: unknown) => void,
  ) {}

  /** The action's contract, or undefined when it could not be read (logged by onFailure). */
  get(actionId: string): Promise<DataActionInfo | undefined> {
    const now = this.clock.now();
    const entry = this.entries.get(actionId);
    if (entry?.pending) return entry.pending;
    if (entry && now - entry.at < (entry.info ? TTL_MS : FAILURE_TTL_MS)) return Promise.resolve(entry.info);
    if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
    const controller = new AbortController();
    const timer = this.clock.setTimeout(() => controller.abort(new Error('timed out')), 10_000);
    const pending = this.client.getAction(actionId, controller.signal).then(
      (info) => {
        this.entries.set(actionId, { at: this.clock.now(), info });
        return info;
      },
      (err: unknown) => {
        this.entries.set(actionId, { at: this.clock.now() });
        this.onFailure(actionId, err);
        return undefined;
      },
    );
    void pending.finally(() => this.clock.clearTimeout(timer));
    this.entries.set(actionId, { at: now, ...(entry?.info ? { info: entry.info } : {}), pending });
    return pending;
  }
}
