/**
 * A strict local stand-in for the parts of the Genesys Cloud Platform API that Data Action tools use
 * (TOOLS.md §1): the OAuth client-credentials token endpoint, GET of an action with its contract, and
 * execution. It checks what the real service checks — Basic client credentials and the form grant on the
 * token endpoint, a live bearer token on every API call, the exact paths, a JSON body matching the input
 * contract — and answers with the real shapes (ErrorBody with contextId, `inin-correlation-id`).
 * `/test` exists as on the real service (a TestExecutionResult) so tests can prove it is never used.
 * Faults: expiring or revoked tokens, 429 with Retry-After, slow contracts, slow or failing actions. Loopback only.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface EmulatedAction {
  id: string;
  name: string;
  /** The input contract (flat JSON Schema, as Genesys requires). */
  inputSchema: { type: 'object'; properties: Record<string, { type: string; description?: string }>; required?: string[]; additionalProperties?: boolean };
  successSchema?: Record<string, unknown>;
  /** Produces the output for a valid input; throw { status, body } to answer an error. */
  run(input: Record<string, unknown>): unknown;
  /** Answer after this long (a slow backend). */
  delayMs?: number;
  /** Answer the GET of the action (its contract) after this long (a slow Platform API). */
  contractDelayMs?: number;
}

export interface PlatformEmulatorOptions {
  clientId: string;
  clientSecret: string;
  actions: EmulatedAction[];
  /** Token lifetime in seconds (default 86400). */
  tokenLifetimeSeconds?: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: string;
  status: number;
}

export interface PlatformEmulator {
  /** http://127.0.0.1:<port>: both GENESYS_API_BASE_URL and GENESYS_LOGIN_BASE_URL. */
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** Executions that reached an action's backend, by action id. */
  executions(actionId: string): number;
  tokensIssued(): number;
  /** Every token issued so far stops working (401), as after a revocation. */
  revokeTokens(): void;
  /** The next `count` API requests get 429 with this Retry-After (seconds). */
  rateLimitNext(count: number, retryAfterSeconds: number): void;
  close(): Promise<void>;
}

const TOKEN_PATH = '/oauth/token';
const ACTION_PATH = /^\/api\/v2\/integrations\/actions\/([^/]+)(\/execute|\/test)?$/;
const MAX_BODY = 64 * 1024;

function errorBody(status: number, code: string, message: string) {
  return { message, code, status, contextId: randomUUID(), details: [], errors: [] };
}

function checkInput(action: EmulatedAction, input: unknown): string | undefined {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return 'body must be a JSON object';
  const record = input as Record<string, unknown>;
  for (const name of action.inputSchema.required ?? []) if (!(name in record)) return `missing required property ${name}`;
  for (const [name, value] of Object.entries(record)) {
    const prop = action.inputSchema.properties[name];
    if (!prop) {
      if (action.inputSchema.additionalProperties === false) return `unknown property ${name}`;
      continue;
    }
    const type = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
    const ok =
      prop.type === type || (prop.type === 'integer' && typeof value === 'number' && Number.isInteger(value)) || (prop.type === 'number' && type === 'number');
    if (!ok) return `property ${name} must be ${prop.type}`;
  }
  return undefined;
}

export async function startPlatformEmulator(options: PlatformEmulatorOptions): Promise<PlatformEmulator> {
  const tokens = new Map<string, number>();
  const executions = new Map<string, number>();
  const requests: RecordedRequest[] = [];
  let issued = 0;
  let rateLimited = { count: 0, retryAfter: 1 };
  const lifetime = options.tokenLifetimeSeconds ?? 86_400;
  const actions = new Map(options.actions.map((a) => [a.id, a]));

  const readBody = (req: IncomingMessage) =>
    new Promise<string | undefined>((resolve) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= MAX_BODY) chunks.push(c);
      });
      req.on('end', () => resolve(size > MAX_BODY ? undefined : Buffer.concat(chunks).toString('utf8')));
      req.on('error', () => resolve(undefined));
    });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const record: RecordedRequest = { method: req.method ?? '', path: url.pathname, query: url.search, status: 0 };
    requests.push(record);
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      record.status = status;
      res.writeHead(status, { 'content-type': 'application/json', 'inin-correlation-id': randomUUID(), ...headers });
      res.end(JSON.stringify(body));
    };
    const body = await readBody(req);
    if (body === undefined) return send(413, errorBody(413, 'request.entity.too.large', 'too large'));

    if (url.pathname === TOKEN_PATH) {
      if (req.method !== 'POST') return send(405, { error: 'method_not_allowed' });
      if (!(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
        return send(400, { error: 'invalid_request', description: 'form body required' });
      }
      const expected = `Basic ${Buffer.from(`${options.clientId}:${options.clientSecret}`).toString('base64')}`;
      if (req.headers.authorization !== expected) return send(401, { error: 'invalid_client', description: 'client authentication failed' });
      if (new URLSearchParams(body).get('grant_type') !== 'client_credentials') return send(400, { error: 'unsupported_grant_type' });
      const token = randomUUID();
      tokens.set(token, Date.now() + lifetime * 1000);
      issued++;
      return send(200, { access_token: token, token_type: 'bearer', expires_in: lifetime });
    }

    const match = ACTION_PATH.exec(url.pathname);
    if (!match) return send(404, errorBody(404, 'not.found', 'The requested resource was not found'));
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const expiry = bearer ? tokens.get(bearer) : undefined;
    if (expiry === undefined || expiry < Date.now()) return send(401, errorBody(401, 'bad.credentials', 'Invalid login credentials.'));
    if (rateLimited.count > 0) {
      rateLimited.count--;
      return send(429, errorBody(429, 'too.many.requests', 'Rate limit exceeded'), { 'retry-after': String(rateLimited.retryAfter) });
    }
    const action = actions.get(decodeURIComponent(match[1]!));
    if (!action) return send(404, errorBody(404, 'not.found', 'Action not found'));
    const verb = match[2];
    if (verb === undefined) {
      if (req.method !== 'GET') return send(405, errorBody(405, 'method.not.allowed', 'GET only'));
      const withContract = url.searchParams.get('expand') === 'contract';
      if (action.contractDelayMs) await new Promise((r) => setTimeout(r, action.contractDelayMs));
      return send(200, {
        id: action.id,
        name: action.name,
        category: 'Emulated',
        integrationId: 'emulated-integration',
        version: 1,
        secure: false,
        ...(withContract
          ? { contract: { input: { inputSchema: { $schema: 'http://json-schema.org/draft-04/schema#', title: 'Input', ...action.inputSchema } }, output: { successSchema: action.successSchema ?? { type: 'object' } } } }
          : {}),
      });
    }
    if (req.method !== 'POST') return send(405, errorBody(405, 'method.not.allowed', 'POST only'));
    if (!(req.headers['content-type'] ?? '').startsWith('application/json')) {
      return send(415, errorBody(415, 'unsupported.media.type', 'application/json required'));
    }
    let input: unknown;
    try {
      input = JSON.parse(body);
    } catch {
      return send(400, errorBody(400, 'bad.request', 'body is not JSON'));
    }
    const problem = checkInput(action, input);
    if (problem) return send(400, errorBody(400, 'invalid.input', problem));
    if (verb === '/test') {
      // As the real service: a debug trace, HTTP 200 even when the action failed.
      return send(200, { operations: [], success: true, finalResult: action.run(input as Record<string, unknown>) });
    }
    executions.set(action.id, (executions.get(action.id) ?? 0) + 1);
    if (action.delayMs) await new Promise((r) => setTimeout(r, action.delayMs));
    try {
      return send(200, action.run(input as Record<string, unknown>));
    } catch (thrown) {
      const failure = thrown as { status?: number; body?: unknown };
      const status = failure.status ?? 500;
      return send(status, failure.body ?? { ...errorBody(status, 'internal.server.error', 'at Function.handler (index.js:12:5)'), details: [{ errorCode: 'ACTION.REMOTE_ENDPOINT' }] });
    }
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    executions: (id) => executions.get(id) ?? 0,
    tokensIssued: () => issued,
    revokeTokens: () => tokens.clear(),
    rateLimitNext: (count, retryAfterSeconds) => {
      rateLimited = { count, retryAfter: retryAfterSeconds };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
