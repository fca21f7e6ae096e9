/**
 * The bots of this deployment: which profile a Connector ID selects, and the tool registry its calls use.
 *
 * Without BOTS_FILE there is one bot from env (today's behaviour): every Connector ID routes to it, with
 * no configured tools (a flow may still add Data Actions per call when Genesys OAuth is set).
 * With it: the Connector ID's profile, else `default`, else the upgrade is refused (HTTP 404).
 * `reload()` (SIGHUP) validates the new file first; a bad file keeps the old configuration and says why.
 * A call keeps the profile and tools it started with; a replaced registry closes once its calls are over
 * (MCP connections whose configuration did not change are handed over, not reconnected).
 */
import type { Logger } from 'pino';
import type { Clock } from '../util/clock.js';
import type { GenesysPlatformClient } from '../tools/genesys.js';
import type { ToolMetrics } from '../tools/metrics.js';
import { ToolRegistry, type ToolSettings } from '../tools/registry.js';
import { BotsFileError, loadBotsFile, type BotProfile, type BotsConfig } from './load.js';

export type BotRoute =
  /** profile undefined: the single bot from env (no BOTS_FILE). */
  | { ok: true; profile: BotProfile | undefined; tools: ToolRegistry }
  | { ok: false; reason: string };

export interface BotDirectoryOptions {
  /** BOTS_FILE, or undefined for one bot from env. */
  file?: string;
  /** For `${NAME}` references in the file. */
  env: Record<string, string | undefined>;
  toolSettings: ToolSettings;
  genesys?: GenesysPlatformClient;
  clock: Clock;
  logger: Logger;
  metrics?: ToolMetrics;
  fetchImpl?: typeof fetch;
}

export type ReloadOutcome = { ok: true; bots: number } | { ok: false; error: string };

/** Grace before a replaced registry is closed when no call used it (a call routed just before the swap). */
const RETIRE_GRACE_MS = 10_000;

export class BotDirectory {
  private reloading: Promise<ReloadOutcome> | undefined;

  private constructor(
    private readonly options: BotDirectoryOptions,
    private config: BotsConfig | undefined,
    private registry: ToolRegistry,
  ) {}

  /** Loads and validates the file (BotsFileError / ToolsConfigError stop start-up) and connects tools. */
  static async create(options: BotDirectoryOptions): Promise<BotDirectory> {
    const config = options.file ? loadBotsFile(options.file, options.env) : undefined;
    const registry = BotDirectory.registryFor(options, config);
    await registry.start();
    if (config) {
      options.logger.info(
        { file: config.file, bots: config.bots.size, tools: Object.keys(config.tools).length, defaultBot: config.defaultBot },
        'bot profiles loaded',
      );
    }
    return new BotDirectory(options, config, registry);
  }

  private static registryFor(options: BotDirectoryOptions, config: BotsConfig | undefined, reuse?: ToolRegistry): ToolRegistry {
    return new ToolRegistry({
      tools: { ...(config?.tools ?? {}) },
      settings: options.toolSettings,
      ...(options.genesys ? { genesys: options.genesys } : {}),
      clock: options.clock,
      logger: options.logger.child({ component: 'tools' }),
      ...(options.metrics ? { metrics: options.metrics } : {}),
      ...(options.fetchImpl ? { fetchImpl: options.fetchImpl } : {}),
      ...(reuse ? { reuse } : {}),
    });
  }

  /** Whether a BOTS_FILE is in force (else one bot from env). */
  get hasProfiles(): boolean {
    return this.config !== undefined;
  }

  get tools(): ToolRegistry {
    return this.registry;
  }

  /** The bot for a Connector ID ('' when Genesys sent none). */
  route(connectorId: string): BotRoute {
    if (!this.config) return { ok: true, profile: undefined, tools: this.registry };
    const profile = this.config.bots.get(connectorId) ?? (this.config.defaultBot ? this.config.bots.get(this.config.defaultBot) : undefined);
    if (!profile) {
      return { ok: false, reason: connectorId === '' ? 'no Connector ID and no default bot' : 'no bot for this Connector ID' };
    }
    return { ok: true, profile, tools: this.registry };
  }

  /** Re-reads BOTS_FILE. On any problem the running configuration stays and the reason is returned and logged. */
  reload(): Promise<ReloadOutcome> {
    this.reloading ??= this.doReload().finally(() => {
      this.reloading = undefined;
    });
    return this.reloading;
  }

  private async doReload(): Promise<ReloadOutcome> {
    const file = this.options.file;
    if (!file) return { ok: false, error: 'BOTS_FILE is not set: nothing to reload' };
    let config: BotsConfig;
    let registry: ToolRegistry;
    try {
      config = loadBotsFile(file, this.options.env);
      registry = BotDirectory.registryFor(this.options, config, this.registry);
    } catch (err) {
      const error = err instanceof BotsFileError ? err.problems.join('; ') : (err as Error).message;
      this.options.logger.error({ file, error }, 'bots file reload failed: keeping the running configuration');
      return { ok: false, error };
    }
    await registry.start();
    const old = this.registry;
    this.config = config;
    this.registry = registry;
    this.options.clock.setTimeout(() => old.retire(registry), RETIRE_GRACE_MS);
    this.options.logger.info({ file, bots: config.bots.size, tools: Object.keys(config.tools).length }, 'bots file reloaded');
    return { ok: true, bots: config.bots.size };
  }

  /** Reload on SIGHUP; returns a function removing the handler. */
  reloadOnSignal(signal: NodeJS.Signals = 'SIGHUP'): () => void {
    const handler = () => void this.reload();
    process.on(signal, handler);
    return () => process.off(signal, handler);
  }

  close(): Promise<void> {
    return this.registry.close();
  }
}
