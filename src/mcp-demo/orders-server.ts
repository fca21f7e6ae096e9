/**
 * A small MCP server (official SDK, Streamable HTTP, stateful sessions) with an order-status tool, bound to
 * 127.0.0.1 only. The demo's bot uses it so `npm run demo` stays offline with a real tool behind MCP;
 * tests use `addTool` to see the tools/list_changed notification reach connected clients.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

export interface DemoOrder {
  status: string;
  shipped?: string;
  eta?: string;
  items?: string[];
}

export const DEMO_ORDERS: Record<string, DemoOrder> = {
  '1234': { status: 'shipped', shipped: 'yesterday', eta: 'Thursday', items: ['coffee beans'] },
  '4471': { status: 'shipped', eta: 'Thursday', items: ['espresso machine'] },
  '5120': { status: 'processing', eta: 'next Monday', items: ['coffee grinder', 'filters'] },
  '3302': { status: 'delivered', items: ['milk frother'] },
};

export interface OrdersMcpServerOptions {
  port?: number;
  orders?: Record<string, DemoOrder>;
  /** The order lookup answers after this long (a slow backend: the bot's holding phrase). */
  delayMs?: number;
}

export interface OrdersMcpServer {
  /** http://127.0.0.1:<port>/mcp */
  readonly url: string;
  /** Registers another tool on every session (clients get tools/list_changed). */
  addTool(name: string, description: string, reply: string): void;
  close(): Promise<void>;
}

const MAX_BODY = 256 * 1024;

export async function startOrdersMcpServer(options: OrdersMcpServerOptions = {}): Promise<OrdersMcpServer> {
  const orders = options.orders ?? DEMO_ORDERS;
  const sessions = new Map<string, { server: McpServer; transport: StreamableHTTPServerTransport }>();
  const extraTools: Array<{ name: string; description: string; reply: string }> = [];

  const registerExtra = (server: McpServer, tool: { name: string; description: string; reply: string }) =>
    server.registerTool(tool.name, { description: tool.description, inputSchema: {} }, () => ({ content: [{ type: 'text', text: tool.reply }] }));

  const newServer = () => {
    const server = new McpServer({ name: 'demo-orders', version: '1.0.0' }, { capabilities: { tools: { listChanged: true } } });
    server.registerTool(
      'get_order_status',
      {
        description: "Look up an order by its number: status, delivery estimate and items. Use it when the caller asks where their order is.",
        inputSchema: { order_id: z.string().describe('The order number the caller gives, digits only') },
      },
      async ({ order_id }) => {
        if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
        const order = orders[order_id.replace(/\D/g, '')];
        if (!order) return { isError: true, content: [{ type: 'text', text: `No order with number ${order_id.slice(0, 20)} was found.` }] };
        return { content: [{ type: 'text', text: JSON.stringify({ order_id, ...order }) }] };
      },
    );
    for (const tool of extraTools) registerExtra(server, tool);
    return server;
  };

  const readJson = (req: IncomingMessage) =>
    new Promise<unknown>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY) reject(new Error('too large'));
        else chunks.push(c);
      });
      req.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch (err) {
          reject(err as Error);
        }
      });
      req.on('error', reject);
    });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (new URL(req.url ?? '/', 'http://localhost').pathname !== '/mcp') {
      res.writeHead(404).end();
      return;
    }
    const sessionId = req.headers['mcp-session-id'];
    const existing = typeof sessionId === 'string' ? sessions.get(sessionId) : undefined;
    if (req.method === 'POST') {
      const body = await readJson(req).catch(() => undefined);
      if (body === undefined) {
        res.writeHead(400).end();
        return;
      }
      if (existing) return existing.transport.handleRequest(req, res, body);
      if (sessionId !== undefined) {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null }));
        return;
      }
      const server = newServer();
      const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => {
          sessions.set(id, { server, transport });
        },
      });
      transport.onclose = () => {
        if (transport.sessionId) sessions.delete(transport.sessionId);
      };
      await server.connect(transport);
      return transport.handleRequest(req, res, body);
    }
    if ((req.method === 'GET' || req.method === 'DELETE') && existing) return existing.transport.handleRequest(req, res);
    res.writeHead(req.method === 'GET' || req.method === 'DELETE' ? 404 : 405).end();
  }

  const http = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    addTool: (name, description, reply) => {
      const tool = { name, description, reply };
      extraTools.push(tool);
      for (const { server } of sessions.values()) registerExtra(server, tool);
    },
    close: async () => {
      for (const { server } of sessions.values()) await server.close().catch(() => undefined);
      sessions.clear();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
