/** Genesys Cloud Data Actions as tools, against the strict Platform API stand-in. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startPlatformEmulator, type EmulatedAction, type PlatformEmulator } from '../../src/platform-emulator/server.js';
import { checkEnv, ConfigError } from '../../src/cli/env.js';
import { genesysOAuthFromEnv, ToolsConfigError } from '../../src/tools/env.js';
import { GenesysPlatformClient, retryAfterMs } from '../../src/tools/genesys.js';
import { systemClock } from '../../src/util/clock.js';
import { quietLogger, registry } from './support.js';

const LOOKUP = 'custom_-_0a1b2c3d-1111-2222-3333-444455556666';
const REFUND = 'custom_-_9e9b11f4-aaaa-bbbb-cccc-d24f3815e818';
const BROKEN = 'custom_-_broken';

function actions(): EmulatedAction[] {
  return [
    {
      id: LOOKUP,
      name: 'Get Account By Phone',
      inputSchema: {
        type: 'object',
        properties: { phone: { type: 'string', description: 'E.164 phone number' } },
        required: ['phone'],
        additionalProperties: false,
      },
      run: (input) => ({ account_id: 'A-17', name: 'Ada', ssn: '123-45-6789', phone: input.phone }),
    },
    {
      id: REFUND,
      name: 'Start Refund',
      inputSchema: { type: 'object', properties: { order_id: { type: 'string' }, amount: { type: 'number' } }, required: ['order_id'] },
      run: () => {
        throw { status: 500 };
      },
    },
    {
      id: BROKEN,
      name: 'Slow One',
      inputSchema: { type: 'object', properties: {} },
      delayMs: 3000,
      run: () => ({ done: true }),
    },
  ];
}

let platform: PlatformEmulator;
let client: GenesysPlatformClient;

beforeEach(async () => {
  platform = await startPlatformEmulator({ clientId: 'client-1', clientSecret: 'secret-1', actions: actions() });
  client = new GenesysPlatformClient(
    { apiBaseUrl: platform.url, loginBaseUrl: platform.url, clientId: 'client-1', clientSecret: 'secret-1' },
    { clock: systemClock, logger: quietLogger },
  );
});

afterEach(async () => {
  await platform.close();
});

const tools = () =>
  registry(
    {
      lookup_customer: { type: 'genesys_data_action', action_id: LOOKUP, description: "Find the caller's account by phone number", redact: ['ssn'] },
      refund: { type: 'genesys_data_action', action_id: REFUND },
      slow: { type: 'genesys_data_action', action_id: BROKEN },
    },
    { genesys: client },
  );

describe('Data Action tools', () => {
  it('turns the input contract into function parameters', async () => {
    const reg = tools();
    await reg.start();
    const c = await reg.forCall({ bot: 'sales', toolNames: ['lookup_customer', 'refund'], logger: quietLogger });
    expect(c.definitions).toEqual([
      {
        type: 'function',
        name: 'lookup_customer',
        description: "Find the caller's account by phone number",
        parameters: {
          type: 'object',
          properties: { phone: { type: 'string', description: 'E.164 phone number' } },
          required: ['phone'],
          additionalProperties: false,
        },
      },
      expect.objectContaining({ name: 'refund', description: 'Start Refund' }),
    ]);
    // Contracts were read once each, with the contract expanded.
    const gets = platform.requests.filter((r) => r.method === 'GET');
    expect(gets.map((r) => [r.path, r.query])).toEqual(
      expect.arrayContaining([[`/api/v2/integrations/actions/${LOOKUP}`, '?expand=contract']]),
    );
    c.release();
  });

  it('executes through /execute with a cached token, redacting the output', async () => {
    const reg = tools();
    await reg.start();
    const c = await reg.forCall({ bot: 'sales', toolNames: ['lookup_customer'], logger: quietLogger });
    const r = await c.execute('lookup_customer', { phone: '+15551230000' });
    expect(r.outcome).toBe('ok');
    expect(JSON.parse(r.output)).toEqual({ ok: true, result: { account_id: 'A-17', name: 'Ada', ssn: '[redacted]', phone: '+15551230000' } });
    await c.execute('lookup_customer', { phone: '+15551230001' });
    expect(platform.executions(LOOKUP)).toBe(2);
    expect(platform.tokensIssued()).toBe(1);
    expect(platform.requests.some((r) => r.path.endsWith('/test'))).toBe(false);
    c.release();
  });

  it('refreshes a revoked token once and runs the action once', async () => {
    const reg = tools();
    await reg.start();
    const c = await reg.forCall({ bot: 'sales', toolNames: ['lookup_customer'], logger: quietLogger });
    platform.revokeTokens();
    const r = await c.execute('lookup_customer', { phone: '+1555' });
    expect(r.outcome).toBe('ok');
    expect(platform.tokensIssued()).toBe(2);
    expect(platform.executions(LOOKUP)).toBe(1);
    c.release();
  });

  it('honours Retry-After on 429 within the tool timeout', async () => {
    const reg = tools();
    await reg.start();
    const c = await reg.forCall({ bot: 'sales', toolNames: ['lookup_customer'], logger: quietLogger });
    platform.rateLimitNext(1, 1);
    const started = Date.now();
    const r = await c.execute('lookup_customer', { phone: '+1555' });
    expect(r.outcome).toBe('ok');
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(platform.executions(LOOKUP)).toBe(1);

    platform.rateLimitNext(1, 30);
    const limited = await c.execute('lookup_customer', { phone: '+1555' }, { timeoutMs: 2000 });
    expect(limited.outcome).toBe('error');
    expect(limited.errorCode).toBe('rate_limited');
    expect(limited.durationMs).toBeLessThan(1500);
    c.release();
  });

  it('never retries a failed execution, and keeps upstream text from the model', async () => {
    const reg = tools();
    await reg.start();
    const c = await reg.forCall({ bot: 'sales', toolNames: ['refund'], logger: quietLogger });
    const r = await c.execute('refund', { order_id: '4471', amount: 10 });
    expect(r.outcome).toBe('error');
    expect(r.errorCode).toBe('unknown_outcome');
    expect(r.output).not.toContain('index.js');
    expect(platform.executions(REFUND)).toBe(1);
    c.release();
  });

  it('times out a slow action without retrying it', async () => {
    const reg = tools();
    await reg.start();
    const c = await reg.forCall({ bot: 'sales', toolNames: ['slow'], logger: quietLogger });
    const r = await c.execute('slow', {}, { timeoutMs: 700 });
    expect(r.outcome).toBe('timeout');
    await new Promise((res) => setTimeout(res, 100));
    expect(platform.executions(BROKEN)).toBe(1);
    c.release();
  });

  it('maps a contract violation (400) to invalid_arguments', async () => {
    const reg = tools();
    await reg.start();
    const c = await reg.forCall({ bot: 'sales', toolNames: ['lookup_customer'], logger: quietLogger });
    const r = await c.execute('lookup_customer', { phone: 5551234 });
    expect(r.errorCode).toBe('invalid_arguments');
    expect(platform.executions(LOOKUP)).toBe(0);
    c.release();
  });

  it('adds Data Actions per call (DATA_ACTION_IDS), named after the action; unknown ones are left out', async () => {
    const reg = registry({}, { genesys: client });
    await reg.start();
    const c = await reg.forCall({
      bot: '',
      toolNames: [],
      dataActions: [{ id: LOOKUP, description: 'Account by phone' }, { id: 'custom_-_does-not-exist' }],
      logger: quietLogger,
    });
    expect(c.definitions.map((d) => [d.name, d.description])).toEqual([['Get_Account_By_Phone', 'Account by phone']]);
    expect((await c.execute('Get_Account_By_Phone', { phone: '+1' })).outcome).toBe('ok');
    c.release();
  });

  it('reports wrong OAuth client credentials as unavailable, not as a crash', async () => {
    const bad = new GenesysPlatformClient(
      { apiBaseUrl: platform.url, loginBaseUrl: platform.url, clientId: 'client-1', clientSecret: 'wrong' },
      { clock: systemClock, logger: quietLogger },
    );
    await expect(bad.execute(LOOKUP, { phone: '1' }, { signal: new AbortController().signal, deadline: Date.now() + 5000 })).rejects.toMatchObject({
      code: 'unavailable',
    });
    expect(platform.executions(LOOKUP)).toBe(0);
  });
});

describe('Genesys OAuth settings', () => {
  it('builds hosts from the region domain, or uses the overrides', () => {
    expect(genesysOAuthFromEnv({})).toBeUndefined();
    expect(genesysOAuthFromEnv({ GENESYS_REGION: 'euw2.pure.cloud', GENESYS_OAUTH_CLIENT_ID: 'i', GENESYS_OAUTH_CLIENT_SECRET: 's' })).toEqual({
      apiBaseUrl: 'https://api.euw2.pure.cloud',
      loginBaseUrl: 'https://login.euw2.pure.cloud',
      clientId: 'i',
      clientSecret: 's',
    });
  });

  it('names what is missing', () => {
    expect(() => genesysOAuthFromEnv({ GENESYS_REGION: 'mypurecloud.com' })).toThrow(/GENESYS_OAUTH_CLIENT_ID, GENESYS_OAUTH_CLIENT_SECRET/);
    expect(() => genesysOAuthFromEnv({ GENESYS_OAUTH_CLIENT_ID: 'i', GENESYS_OAUTH_CLIENT_SECRET: 's' })).toThrow(ToolsConfigError);
  });

  it('an incomplete set stops start-up with the other problems, naming the variables', () => {
    try {
      checkEnv({ GENESYS_API_KEY: 'k', GENESYS_REGION: 'mypurecloud.com', TOOL_TIMEOUT_MS: '5' });
      throw new Error('expected a ConfigError');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).problems).toEqual(
        expect.arrayContaining([
          'Genesys Data Actions need GENESYS_OAUTH_CLIENT_ID, GENESYS_OAUTH_CLIENT_SECRET',
          expect.stringMatching(/^TOOL_TIMEOUT_MS /),
        ]),
      );
    }
    expect(() => checkEnv({ GENESYS_API_KEY: 'k', GENESYS_REGION: 'nowhere.example' })).toThrow(/GENESYS_REGION/);
  });

  it('refuses a Data Action tool without OAuth settings, naming the tool', () => {
    expect(() => registry({ lookup: { type: 'genesys_data_action', action_id: LOOKUP } })).toThrow(/tools\.lookup: .*GENESYS_OAUTH_CLIENT_ID/);
  });

  it('parses Retry-After as seconds or an HTTP date', () => {
    expect(retryAfterMs('2', 0)).toBe(2000);
    expect(retryAfterMs('1.5', 0)).toBe(1500);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4000)).toBe(6000);
    expect(retryAfterMs('soon', 0)).toBeUndefined();
    expect(retryAfterMs(null, 0)).toBeUndefined();
  });
});
