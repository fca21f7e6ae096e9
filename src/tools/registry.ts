/**
 * The tool registry: the tool sources of a bots file (MCP servers, Data Actions, HTTP endpoints), and per
 * call the Realtime function definitions plus an executor that never throws.
 *
 * Every execution is bounded: a deadline (TOOL_TIMEOUT_MS), a cap per call (TOOL_MAX_CALLS_PER_CALL),
 * output redacted and cut to TOOL_MAX_OUTPUT_CHARS, and any failure turned into a structured error result
 * for the model. Arguments and results never reach logs at info; the call record gets them only with
 * TOOL_LOG_ARGUMENTS=true.
 */
import { randomUUID } from 'node:crypto';
import type { RealtimeFunctionTool } from 'openai/resources/realtime/realtime';
import type { Logger } from 'pino';
import type { Clock } from '../util/clock.js';
import { DataActionCatalog } from './data-actions.js';
import { ToolsConfigError } from './env.js';
import { sleepFree } from './deadline.js';
import { GenesysPlatformClient, type DataActionInfo } from './genesys.js';
import { callHttpTool } from './http-tool.js';
import { McpSource } from './mcp.js';
import { BoundedLabels, type ToolMetrics } from './metrics.js';
import { FunctionNames, sanitizeFunctionName } from './names.js';
import {
  errorOutput,
  MODEL_MESSAGES,
  okOutput,
  redactFields,
  ToolFailure,
  type ToolCallResult,
  type ToolErrorCode,
  type ToolOutcome,
} from './result.js';
import { cleanParametersSchema } from './schema-clean.js';
import type { HttpToolSpec, ToolSpec } from './spec.js';

/** Function names the bridge's call-control tools use; never given to a configured tool. */
export const RESERVED_FUNCTION_NAMES = ['end_call', 'transfer_to_agent'];
const MAX_ARGUMENT_CHARS = 16_384;
/** Records kept for refused calls (over the cap, unknown tools) beyond TOOL_MAX_CALLS_PER_CALL: memory per call is bounded. */
const MAX_REFUSED_RECORDS = 20;
const MAX_DESCRIPTION = 1024;
/** How long a call start waits for Data Action contracts before going on without the missing ones. */
const CONTRACT_WAIT_MS = 3000;

export interface ToolSettings {
  timeoutMs: number;
  maxCallsPerCall: number;
  maxOutputChars: number;
  logArguments: boolean;
}

export interface ToolRegistryOptions {
  /** The `tools:` section of the bots file (empty without one). */
  tools: Record<string, ToolSpec>;
  settings: ToolSettings;
  /** Needed when any Data Action is configured or added per call. */
  genesys?: GenesysPlatformClient;
  clock: Clock;
  logger: Logger;
  metrics?: ToolMetrics;
  fetchImpl?: typeof fetch;
  /** MCP sources of an earlier registry to keep (same key and same spec) instead of reconnecting. */
  reuse?: ToolRegistry;
}

export interface CallToolsRequest {
  /** The bot's name ('' for the single bot from env). */
  bot: string;
  /** Keys of the `tools:` section this bot may use. */
  toolNames: readonly string[];
  /** Data Actions the flow adds for this call (DATA_ACTION_IDS / DATA_ACTION_DESCRIPTIONS). */
  dataActions?: ReadonlyArray<{ id: string; description?: string }>;
  /** The call's logger (session and correlation ids). */
  logger: Logger;
}

export interface ToolCallRecord {
  tool: string;
  bot: string;
  /** Wall-clock ISO time the call started. */
  started_at: string;
  duration_ms: number;
  outcome: ToolOutcome;
  error_code?: ToolErrorCode;
  /** Only with TOOL_LOG_ARGUMENTS=true. */
  arguments?: unknown;
  /** Only with TOOL_LOG_ARGUMENTS=true: the output the model got. */
  result?: string;
}

export interface ExecuteOptions {
  /** Aborts the call: hang-up (`cancelled`). */
  signal?: AbortSignal;
  /** Default TOOL_TIMEOUT_MS. */
  timeoutMs?: number;
  /** The model's call_id: sent as Idempotency-Key by HTTP tools. */
  toolCallId?: string;
}

export interface CallTools {
  readonly bot: string;
  /** For `session.update` `tools` (after the call-control tools). */
  readonly definitions: readonly RealtimeFunctionTool[];
  has(name: string): boolean;
  /** Never throws and never rejects: every failure is a structured error result. */
  execute(name: string, args: string | Record<string, unknown>, options?: ExecuteOptions): Promise<ToolCallResult>;
  /** Finished tool calls, in order, for the call record. */
  readonly records: readonly ToolCallRecord[];
  /** Cancels pending tool calls (their results are dropped, recorded `cancelled`) and frees the sources. */
  release(): void;
}

type DataActionRef = { id: string; description?: string; name?: string; redact: readonly string[] };

type Runner = (args: Record<string, unknown>, signal: AbortSignal, ctx: { toolCallId: string; timeoutMs: number }) => Promise<unknown>;

interface CallFunction {
  definition: RealtimeFunctionTool;
  redact: readonly string[];
  run: Runner;
}

export class ToolRegistry {
  private readonly mcp = new Map<string, McpSource>();
  private readonly catalog: DataActionCatalog | undefined;
  private readonly labels = new BoundedLabels();
  private liveCalls = 0;
  private closing: Promise<void> | undefined;
  private closeWhenIdle = false;

  constructor(private readonly options: ToolRegistryOptions) {
    const needsGenesys = Object.entries(options.tools).filter(([, spec]) => spec.type === 'genesys_data_action');
    if (needsGenesys.length > 0 && !options.genesys) {
      throw new ToolsConfigError(
        `tools.${needsGenesys[0]![0]}: a genesys_data_action needs GENESYS_OAUTH_CLIENT_ID, GENESYS_OAUTH_CLIENT_SECRET and GENESYS_REGION`,
      );
    }
    this.catalog = options.genesys
      ? new DataActionCatalog(options.genesys, options.clock, (actionId, err) =>
          options.logger.warn({ actionId, error: (err as Error)?.message }, 'data action contract unavailable: the tool is absent'),
        )
      : undefined;
    for (const [key, spec] of Object.entries(options.tools)) {
      if (spec.type !== 'mcp') continue;
      const earlier = options.reuse?.mcp.get(key);
      if (earlier && JSON.stringify(earlier.spec) === JSON.stringify(spec)) {
        this.mcp.set(key, earlier);
        continue;
      }
      this.mcp.set(
        key,
        new McpSource(key, spec, {
          clock: options.clock,
          logger: options.logger.child({ component: 'mcp' }),
          ...(options.metrics ? { onConnectFailure: (source) => options.metrics!.toolSourceFailures.inc(source) } : {}),
          ...(options.fetchImpl ? { fetchImpl: options.fetchImpl } : {}),
        }),
      );
    }
  }

  /** MCP sources by key (state and tools, for health and tests). */
  mcpSource(key: string): McpSource | undefined {
    return this.mcp.get(key);
  }

  /**
   * Connects the MCP servers and reads the configured Data Action contracts. Waits for the first attempt
   * of each; never fails (unreachable servers retry in the background, their tools absent meanwhile).
   */
  async start(): Promise<void> {
    const work: Array<Promise<unknown>> = [...this.mcp.values()].map((s) => s.start());
    for (const spec of Object.values(this.options.tools)) {
      if (spec.type === 'genesys_data_action') work.push(this.catalog!.get(spec.action_id));
    }
    await Promise.allSettled(work);
  }

  /**
   * The functions and executor of one call: a snapshot of what is available now. Synchronous unless Data
   * Action contracts must be read (then at most CONTRACT_WAIT_MS), so a call without them starts at once.
   */
  forCall(request: CallToolsRequest): CallTools | Promise<CallTools> {
    const dataActions = this.dataActionsFor(request);
    if (dataActions.length === 0) return this.assemble(request, dataActions, new Map());
    return this.contractsFor(dataActions.map((a) => a.id)).then((contracts) => this.assemble(request, dataActions, contracts));
  }

  private dataActionsFor(request: CallToolsRequest): DataActionRef[] {
    const dataActions: DataActionRef[] = [];
    for (const key of request.toolNames) {
      const spec = this.options.tools[key];
      if (spec?.type === 'genesys_data_action') {
        dataActions.push({ id: spec.action_id, name: spec.name ?? key, redact: spec.redact ?? [], ...(spec.description ? { description: spec.description } : {}) });
      }
    }
    const perCall = request.dataActions ?? [];
    if (perCall.length > 0 && !this.catalog) {
      request.logger.warn({ count: perCall.length }, 'DATA_ACTION_IDS ignored: Genesys OAuth (GENESYS_OAUTH_CLIENT_ID …) is not configured');
    } else {
      for (const action of perCall) dataActions.push({ ...action, redact: [] });
    }
    return dataActions;
  }

  private assemble(request: CallToolsRequest, dataActions: DataActionRef[], contracts: Map<string, DataActionInfo>): CallTools {
    const names = new FunctionNames(RESERVED_FUNCTION_NAMES);
    const functions = new Map<string, CallFunction>();
    const add = (rawName: string, description: string, parameters: unknown, redact: readonly string[], run: Runner) => {
      const name = names.claim(rawName);
      functions.set(name, {
        definition: { type: 'function', name, description: description.slice(0, MAX_DESCRIPTION), parameters: cleanParametersSchema(parameters) },
        redact,
        run,
      });
    };

    for (const key of request.toolNames) {
      const spec = this.options.tools[key];
      if (!spec) continue;
      if (spec.type === 'mcp') {
        const source = this.mcp.get(key)!;
        for (const tool of source.tools()) {
          add(`${spec.prefix ?? ''}${tool.name}`, tool.description, tool.inputSchema, spec.redact ?? [], (args, signal, ctx) =>
            source.call(tool.name, args, signal, ctx.timeoutMs),
          );
        }
      } else if (spec.type === 'http') {
        add(spec.name ?? key, spec.description, spec.parameters ?? { type: 'object', properties: {} }, spec.redact ?? [], (args, signal, ctx) =>
          callHttpTool({ spec: spec as HttpToolSpec, args, toolCallId: ctx.toolCallId, signal, ...(this.options.fetchImpl ? { fetchImpl: this.options.fetchImpl } : {}) }),
        );
      }
    }
    for (const action of dataActions) {
      const info = contracts.get(action.id);
      if (!info) continue;
      const genesys = this.options.genesys!;
      const deadlineOf = (timeoutMs: number) => this.options.clock.now() + timeoutMs;
      add(action.name ?? sanitizeFunctionName(info.name), action.description ?? info.name, info.inputSchema, action.redact, (args, signal, ctx) =>
        genesys.execute(action.id, args, { signal, deadline: deadlineOf(ctx.timeoutMs) }),
      );
    }

    this.liveCalls++;
    return new CallToolSet(this, request, functions);
  }

  private async contractsFor(ids: string[]): Promise<Map<string, DataActionInfo>> {
    const found = new Map<string, DataActionInfo>();
    if (ids.length === 0 || !this.catalog) return found;
    const all = Promise.all(
      [...new Set(ids)].map(async (id) => {
        const info = await this.catalog!.get(id);
        if (info) found.set(id, info);
      }),
    );
    await Promise.race([all, sleepFree(this.options.clock, CONTRACT_WAIT_MS)]);
    return new Map(found);
  }

  /** @internal by CallToolSet */
  settings(): ToolSettings {
    return this.options.settings;
  }

  /** @internal by CallToolSet */
  clock(): Clock {
    return this.options.clock;
  }

  /** @internal by CallToolSet */
  report(tool: string, outcome: ToolOutcome, seconds: number): void {
    const label = this.labels.label(tool);
    this.options.metrics?.toolCalls.inc(label, outcome);
    this.options.metrics?.toolCallSeconds.observe(label, seconds);
  }

  /** @internal by CallToolSet */
  callEnded(): void {
    this.liveCalls--;
    if (this.liveCalls === 0 && this.closeWhenIdle) void this.close();
  }

  /**
   * After a reload: close once no live call uses this registry any more, keeping the MCP sources the new
   * registry took over.
   */
  retire(successor: ToolRegistry): void {
    for (const [key, source] of this.mcp) if (successor.mcp.get(key) === source) this.mcp.delete(key);
    this.closeWhenIdle = true;
    if (this.liveCalls === 0) void this.close();
  }

  close(): Promise<void> {
    this.closing ??= Promise.all([...this.mcp.values()].map((s) => s.close())).then(() => undefined);
    return this.closing;
  }
}

class CallToolSet implements CallTools {
  readonly definitions: readonly RealtimeFunctionTool[];
  readonly records: ToolCallRecord[] = [];
  private calls = 0;
  private released = false;
  private readonly pending = new Set<AbortController>();

  constructor(
    private readonly registry: ToolRegistry,
    private readonly request: CallToolsRequest,
    private readonly functions: Map<string, CallFunction>,
  ) {
    this.definitions = [...functions.values()].map((f) => f.definition);
  }

  get bot(): string {
    return this.request.bot;
  }

  has(name: string): boolean {
    return this.functions.has(name);
  }

  async execute(name: string, rawArgs: string | Record<string, unknown>, options: ExecuteOptions = {}): Promise<ToolCallResult> {
    const clock = this.registry.clock();
    const settings = this.registry.settings();
    const startedAt = clock.now();
    const startedWall = new Date().toISOString();
    // The model's name for the tool, bounded: it reaches logs and the record.
    const shownName = name.slice(0, 64);
    const finish = (outcome: ToolOutcome, output: string, errorCode?: ToolErrorCode, args?: unknown): ToolCallResult => {
      const durationMs = Math.round(clock.now() - startedAt);
      // A name the model made up is not a label value (cardinality), nor a record beyond the bound.
      this.registry.report(this.functions.has(name) ? name : 'unknown', outcome, durationMs / 1000);
      if (this.records.length < settings.maxCallsPerCall + MAX_REFUSED_RECORDS) {
        this.records.push({
          tool: shownName,
          bot: this.request.bot,
          started_at: startedWall,
          duration_ms: durationMs,
          outcome,
          ...(errorCode ? { error_code: errorCode } : {}),
          ...(settings.logArguments ? { arguments: args ?? rawArgs, result: output } : {}),
        });
      }
      this.request.logger.info({ tool: shownName, bot: this.request.bot, outcome, durationMs, errorCode }, 'tool call finished');
      if (settings.logArguments) this.request.logger.debug({ tool: shownName, arguments: args ?? rawArgs, output }, 'tool call detail');
      return { outcome, output, durationMs, ...(errorCode ? { errorCode } : {}) };
    };
    const fail = (outcome: ToolOutcome, code: ToolErrorCode, message: string = MODEL_MESSAGES[code], args?: unknown) =>
      finish(outcome, errorOutput(code, message), code, args);

    const fn = this.functions.get(name);
    if (!fn) return fail('error', 'unknown_tool');
    if (this.released || options.signal?.aborted) return fail('cancelled', 'cancelled');
    this.calls++;
    if (this.calls > settings.maxCallsPerCall) return fail('limited', 'call_limit_reached');

    let args: Record<string, unknown>;
    try {
      const parsed: unknown = typeof rawArgs === 'string' ? (rawArgs.length > MAX_ARGUMENT_CHARS ? undefined : JSON.parse(rawArgs === '' ? '{}' : rawArgs)) : rawArgs;
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      args = parsed as Record<string, unknown>;
    } catch {
      return fail('error', 'invalid_arguments');
    }

    const timeoutMs = options.timeoutMs ?? settings.timeoutMs;
    const controller = new AbortController();
    this.pending.add(controller);
    const timer = clock.setTimeout(() => controller.abort(new DeadlineReached()), timeoutMs);
    const onCallerAbort = () => controller.abort(new Cancelled());
    options.signal?.addEventListener('abort', onCallerAbort, { once: true });
    try {
      const run = fn.run(args, controller.signal, { toolCallId: options.toolCallId ?? randomUUID(), timeoutMs });
      // An adapter that ignores its signal still cannot hold the call past the deadline.
      const value = await Promise.race([run, abortOf(controller.signal)]);
      return finish('ok', okOutput(redactFields(value, fn.redact), settings.maxOutputChars), undefined, args);
    } catch (err) {
      const reason: unknown = controller.signal.aborted ? controller.signal.reason : err;
      if (reason instanceof DeadlineReached) return fail('timeout', 'timeout', undefined, args);
      if (reason instanceof Cancelled) return fail('cancelled', 'cancelled', undefined, args);
      if (reason instanceof ToolFailure) {
        this.request.logger.warn({ tool: name, code: reason.code, detail: reason.detail }, 'tool call failed');
        return fail('error', reason.code, reason.modelMessage, args);
      }
      this.request.logger.error({ tool: name, err: reason }, 'tool call failed unexpectedly');
      return fail('error', 'tool_error', undefined, args);
    } finally {
      clock.clearTimeout(timer);
      options.signal?.removeEventListener('abort', onCallerAbort);
      this.pending.delete(controller);
    }
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    for (const controller of this.pending) controller.abort(new Cancelled());
    this.registry.callEnded();
  }
}

class DeadlineReached extends Error {
  constructor() {
    super('tool deadline reached');
  }
}

class Cancelled extends Error {
  constructor() {
    super('tool call cancelled');
  }
}

function abortOf(signal: AbortSignal): Promise<never> {
  return new Promise<never>((_, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
  });
}
