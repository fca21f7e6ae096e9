/**
 * One MCP server (Streamable HTTP, official SDK client), shared by every call that uses it.
 *
 * Connects at start-up in the background: a server that is down does not stop start-up; its tools are
 * absent until it answers (retried with backoff, each failure logged and counted). The tool list is read
 * at connect time (all pages) and again on the server's tools/list_changed notification. A call that
 * fails below the protocol (session lost, socket reset) triggers a reconnect; the call itself becomes a
 * structured error. Tool errors (`isError`) go back to the model as errors.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../util/clock.js';
import { MODEL_MESSAGES, ToolFailure } from './result.js';
import type { McpToolSpec } from './spec.js';

const CONNECT_TIMEOUT_MS = 10_000;
const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 30_000;
const MAX_LIST_PAGES = 64;
const MAX_TOOLS = 256;
const MAX_ERROR_TEXT = 500;

export type McpSourceState = 'connecting' | 'up' | 'down' | 'closed';

/**
 * The official MCP client, loaded when a server is first dialled: with its dependencies (ajv, a JSON-schema
 * converter…) it adds ~25 MB to every process, which a deployment without MCP servers never needs.
 */
async function importSdk() {
  const [client, http, types] = await Promise.all([
    import('@modelcontextprotocol/sdk/client/index.js'),
    import('@modelcontextprotocol/sdk/client/streamableHttp.js'),
    import('@modelcontextprotocol/sdk/types.js'),
  ]);
  return { Client: client.Client, StreamableHTTPClientTransport: http.StreamableHTTPClientTransport, StreamableHTTPError: http.StreamableHTTPError, McpError: types.McpError };
}
type McpSdk = Awaited<ReturnType<typeof importSdk>>;
let sdkLoading: Promise<McpSdk> | undefined;
const loadSdk = (): Promise<McpSdk> => (sdkLoading ??= importSdk());

export interface McpToolInfo {
  /** The server's own name for the tool. */
  name: string;
  description: string;
  inputSchema: unknown;
}

export interface McpSourceDeps {
  clock: Clock;
  logger: Logger;
  /** A connection attempt failed (server down at start-up or lost later). */
  onConnectFailure?: (source: string) => void;
  /** The tool list changed (connect, list_changed). */
  onToolsChanged?: (source: string) => void;
  fetchImpl?: typeof fetch;
}

export class McpSource {
  private client: Client | undefined;
  /** Set before the first connection attempt; `call` only runs on a connected client. */
  private sdk: McpSdk | undefined;
  private state_: McpSourceState = 'down';
  private tools_: McpToolInfo[] = [];
  private retryTimer: TimerHandle | undefined;
  private retryDelay = RETRY_MIN_MS;
  private connecting: Promise<void> | undefined;

  constructor(
    readonly key: string,
    readonly spec: McpToolSpec,
    private readonly deps: McpSourceDeps,
  ) {}

  get state(): McpSourceState {
    return this.state_;
  }

  /** The server's tools after include/exclude; empty while it is not connected. */
  tools(): readonly McpToolInfo[] {
    return this.state_ === 'up' ? this.tools_ : [];
  }

  /** Starts connecting (background); resolves after the first attempt either way. */
  start(): Promise<void> {
    if (this.state_ === 'closed') return Promise.resolve();
    this.connecting ??= this.connect().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async connect(): Promise<void> {
    this.state_ = 'connecting';
    const sdk = (this.sdk ??= await loadSdk());
    const { Client, StreamableHTTPClientTransport } = sdk;
    const client = new Client(
      { name: 'audiohook-realtime', version: '1' },
      {
        capabilities: {},
        listChanged: { tools: { autoRefresh: false, debounceMs: 300, onChanged: () => void this.refresh() } },
      },
    );
    const transport = new StreamableHTTPClientTransport(new URL(this.spec.url), {
      ...(this.spec.headers ? { requestInit: { headers: this.spec.headers } } : {}),
      ...(this.deps.fetchImpl ? { fetch: this.deps.fetchImpl } : {}),
    });
    try {
      await client.connect(transport, { timeout: CONNECT_TIMEOUT_MS });
      const tools = await this.listAll(client);
      if (this.state === 'closed') {
        await client.close().catch(() => undefined);
        return;
      }
      this.client = client;
      this.tools_ = tools;
      this.state_ = 'up';
      this.retryDelay = RETRY_MIN_MS;
      client.onclose = () => {
        if (this.client === client) this.lost('connection closed');
      };
      this.deps.logger.info({ source: this.key, tools: tools.length }, 'mcp server connected');
      this.deps.onToolsChanged?.(this.key);
    } catch (err) {
      await client.close().catch(() => undefined);
      if (this.state === 'closed') return;
      this.state_ = 'down';
      this.deps.onConnectFailure?.(this.key);
      this.deps.logger.warn(
        { source: this.key, error: errorText(err), retryInMs: this.retryDelay },
        'mcp server unreachable: its tools are absent until it answers',
      );
      this.scheduleRetry();
    }
  }

  private scheduleRetry(): void {
    if (this.state_ === 'closed' || this.retryTimer !== undefined) return;
    const delay = this.retryDelay;
    this.retryDelay = Math.min(RETRY_MAX_MS, this.retryDelay * 2);
    this.retryTimer = this.deps.clock.setTimeout(() => {
      this.retryTimer = undefined;
      void this.start();
    }, delay);
  }

  private lost(reason: string): void {
    if (this.state_ !== 'up') return;
    const client = this.client;
    this.client = undefined;
    this.state_ = 'down';
    this.deps.logger.warn({ source: this.key, reason }, 'mcp server connection lost: reconnecting');
    void client?.close().catch(() => undefined);
    this.deps.onToolsChanged?.(this.key);
    this.scheduleRetry();
  }

  private async listAll(client: Client): Promise<McpToolInfo[]> {
    const tools: Tool[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < MAX_LIST_PAGES; page++) {
      const result = await client.listTools(cursor ? { cursor } : undefined, { timeout: CONNECT_TIMEOUT_MS });
      tools.push(...result.tools);
      cursor = result.nextCursor;
      if (!cursor || tools.length >= MAX_TOOLS) break;
    }
    const include = this.spec.include ? new Set(this.spec.include) : undefined;
    const exclude = new Set(this.spec.exclude ?? []);
    return tools
      .filter((t) => (include ? include.has(t.name) : true) && !exclude.has(t.name))
      .slice(0, MAX_TOOLS)
      .map((t) => ({ name: t.name, description: t.description ?? t.title ?? t.name, inputSchema: t.inputSchema }));
  }

  /** Re-reads the tool list (the server said it changed). */
  async refresh(): Promise<void> {
    const client = this.client;
    if (!client || this.state_ !== 'up') return;
    try {
      this.tools_ = await this.listAll(client);
      this.deps.logger.info({ source: this.key, tools: this.tools_.length }, 'mcp tool list changed');
      this.deps.onToolsChanged?.(this.key);
    } catch (err) {
      this.deps.logger.warn({ source: this.key, error: errorText(err) }, 'mcp tool list refresh failed');
    }
  }

  /** Calls a tool; returns what the model should see, or throws a ToolFailure (or the abort reason). */
  async call(name: string, args: Record<string, unknown>, signal: AbortSignal, timeoutMs: number): Promise<unknown> {
    const client = this.client;
    if (!client || this.state_ !== 'up') {
      throw new ToolFailure('unavailable', MODEL_MESSAGES.unavailable, `mcp ${this.key}: not connected`);
    }
    let result;
    try {
      // The SDK's own timeout is a backstop only: the executor's deadline aborts `signal` first.
      result = await client.callTool({ name, arguments: args }, undefined, { signal, timeout: timeoutMs + 1000 });
    } catch (err) {
      if (signal.aborted) throw signal.reason as Error;
      if (err instanceof this.sdk!.McpError) {
        // A JSON-RPC error from the server: the session is fine, the call failed.
        throw new ToolFailure('tool_error', MODEL_MESSAGES.tool_error, `mcp ${this.key}: error ${err.code}`);
      }
      // Below the protocol (session expired, server restarted, socket reset): reconnect for later calls.
      this.lost(errorText(err));
      if (err instanceof this.sdk!.StreamableHTTPError && (err.code === 404 || err.code === 400)) {
        // The server refused the request for its session: the tool did not run.
        throw new ToolFailure('unavailable', MODEL_MESSAGES.unavailable, `mcp ${this.key}: session lost (HTTP ${err.code})`);
      }
      throw new ToolFailure('unknown_outcome', MODEL_MESSAGES.unknown_outcome, `mcp ${this.key}: ${errorText(err)}`);
    }
    const content = Array.isArray(result.content) ? (result.content as Array<Record<string, unknown>>) : [];
    if (result.isError === true) {
      // MCP puts tool errors into the result precisely so the model can read them; bounded.
      const text = textOf(content).slice(0, MAX_ERROR_TEXT);
      throw new ToolFailure('tool_error', text === '' ? MODEL_MESSAGES.tool_error : text, `mcp ${this.key}: isError`);
    }
    if (result.structuredContent !== undefined) return result.structuredContent;
    return contentForModel(content);
  }

  async close(): Promise<void> {
    this.state_ = 'closed';
    this.deps.clock.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const client = this.client;
    this.client = undefined;
    await client?.close().catch(() => undefined);
  }
}

function textOf(content: Array<Record<string, unknown>>): string {
  return content
    .filter((c) => c.type === 'text' && typeof c.text === 'string')
    .map((c) => c.text as string)
    .join('\n');
}

/** Text items (a single JSON text is parsed, so redaction can see its fields); other kinds summarised. */
function contentForModel(content: Array<Record<string, unknown>>): unknown {
  const items = content.map((c) => {
    if (c.type === 'text' && typeof c.text === 'string') return c.text;
    if (c.type === 'resource_link') return { type: 'resource_link', uri: c.uri, name: c.name };
    return { type: typeof c.type === 'string' ? c.type : 'unknown', omitted: 'not text' };
  });
  if (items.length === 1 && typeof items[0] === 'string') {
    const text = items[0];
    if (/^\s*[[{]/.test(text)) {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        return text;
      }
    }
    return text;
  }
  return items;
}

function errorText(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).slice(0, 200);
}
