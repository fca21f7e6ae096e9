/**
 * The `tools:` section of a bots file: how each named tool source is reached. Parsed with zod by
 * src/bots (which reports errors with the file and the path inside it).
 */
import { z } from 'zod';

/** Field names in tool output replaced by "[redacted]" before the model sees it (any depth, arrays too). */
const redact = z.array(z.string().min(1).max(100)).max(100).optional();
const httpUrl = z
  .string()
  .url({ message: 'must be an http(s) URL' })
  .refine((u) => /^https?:\/\//i.test(u), { message: 'must be an http(s) URL' });
const headers = z.record(z.string().regex(/^[A-Za-z0-9-]{1,100}$/, { message: 'must be an HTTP header name' }), z.string().max(8192)).optional();
/** A Realtime function name (what the model calls). */
export const FUNCTION_NAME = /^[a-zA-Z0-9_-]{1,64}$/;
const functionName = z.string().regex(FUNCTION_NAME, { message: 'must match ^[a-zA-Z0-9_-]{1,64}$' });
const description = z.string().trim().min(1).max(1024);

export const mcpToolSpec = z.strictObject({
  type: z.literal('mcp'),
  url: httpUrl,
  headers,
  /** Only these tools of the server (by their MCP names); default: all. */
  include: z.array(z.string().min(1)).min(1).optional(),
  exclude: z.array(z.string().min(1)).optional(),
  /** Prepended to every function name of this server (`orders_` → `orders_get_status`). */
  prefix: z.string().regex(/^[a-zA-Z0-9_-]{0,32}$/, { message: 'must be up to 32 of [a-zA-Z0-9_-]' }).optional(),
  redact,
});

export const dataActionToolSpec = z.strictObject({
  type: z.literal('genesys_data_action'),
  action_id: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, { message: 'must be a Data Action ID such as custom_-_0a1b…' }),
  /** Default: the tool's key in the file. */
  name: functionName.optional(),
  /** Default: the action's own name. */
  description: description.optional(),
  redact,
});

export const httpToolSpec = z.strictObject({
  type: z.literal('http'),
  url: httpUrl,
  /** Default: the tool's key in the file. */
  name: functionName.optional(),
  description,
  /** JSON Schema of the arguments (an object schema). */
  parameters: z.looseObject({ type: z.literal('object') }).optional(),
  /** HMAC-signs the body: `X-Signature: sha256=<hex>` (as the summary webhook). At least 16 characters. */
  secret: z.string().min(16, { message: 'must be at least 16 characters' }).optional(),
  headers,
  redact,
});

export const toolSpec = z.discriminatedUnion('type', [mcpToolSpec, dataActionToolSpec, httpToolSpec], {
  error: (issue) =>
    issue.code === 'invalid_union' ? 'type must be mcp, genesys_data_action or http' : undefined,
});

export type McpToolSpec = z.infer<typeof mcpToolSpec>;
export type DataActionToolSpec = z.infer<typeof dataActionToolSpec>;
export type HttpToolSpec = z.infer<typeof httpToolSpec>;
export type ToolSpec = z.infer<typeof toolSpec>;
