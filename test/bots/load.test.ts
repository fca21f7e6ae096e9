import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BotsFileError, loadBotsFile, parseBotsFile } from '../../src/bots/load.js';

const EXAMPLE = `
default: sales
bots:
  sales:
    instructions: "You are the voice assistant of Acme."
    voice: cedar
    language: en-US
    greeting: true
    tools: [orders, lookup_customer, refund]
  support:
    greeting: "Hello, Acme support."
    holding_phrase: "One moment please."
tools:
  orders:
    type: mcp
    url: https://mcp.example.com/mcp
    headers: { Authorization: "Bearer \${ORDERS_MCP_TOKEN}" }
    include: [get_order_status]
  lookup_customer:
    type: genesys_data_action
    action_id: custom_-_0a1b2c3d
    description: "Find the caller's account by phone number"
  refund:
    type: http
    url: https://api.example.com/refunds
    description: "Start a refund for an order"
    parameters: { type: object, properties: { order_id: { type: string } }, required: [order_id] }
    secret: \${REFUND_HOOK_SECRET}
`;

const ENV = { ORDERS_MCP_TOKEN: 'tok-123', REFUND_HOOK_SECRET: 'a-long-enough-secret' };

function problemsOf(text: string, env: Record<string, string> = ENV): string[] {
  try {
    parseBotsFile(text, 'bots.yaml', env);
  } catch (err) {
    expect(err).toBeInstanceOf(BotsFileError);
    expect((err as Error).message).toContain('bots.yaml');
    return (err as BotsFileError).problems;
  }
  throw new Error('expected the file to be refused');
}

describe('bots file', () => {
  it('parses the documented shape and substitutes ${NAME}', () => {
    const config = parseBotsFile(EXAMPLE, 'bots.yaml', ENV);
    expect(config.defaultBot).toBe('sales');
    expect(config.bots.get('sales')).toEqual({
      name: 'sales',
      instructions: 'You are the voice assistant of Acme.',
      voice: 'cedar',
      language: 'en-US',
      greeting: true,
      tools: ['orders', 'lookup_customer', 'refund'],
    });
    expect(config.bots.get('support')).toMatchObject({ greeting: 'Hello, Acme support.', holdingPhrase: 'One moment please.', tools: [] });
    expect(config.tools.orders).toMatchObject({ type: 'mcp', headers: { Authorization: 'Bearer tok-123' } });
    expect(config.tools.refund).toMatchObject({ type: 'http', secret: 'a-long-enough-secret' });
  });

  it('names an unset environment variable and where it is used', () => {
    expect(problemsOf(EXAMPLE, { ORDERS_MCP_TOKEN: 'x' })).toEqual(['tools.refund.secret: environment variable REFUND_HOOK_SECRET is not set']);
  });

  it('names an unknown tool by its path', () => {
    const text = EXAMPLE.replace('tools: [orders, lookup_customer, refund]', 'tools: [orders, crm]');
    expect(problemsOf(text)).toEqual(['bots.sales.tools[1]: unknown tool "crm"']);
  });

  it('names bad values and unknown fields by their paths, all at once', () => {
    const text = EXAMPLE.replace('voice: cedar', 'voice: robot\n    colour: blue').replace('type: http', 'type: ftp');
    const problems = problemsOf(text);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^bots\.sales\.voice: must be one of alloy, /),
        'bots.sales: unknown field "colour"',
        expect.stringMatching(/^tools\.refund(\.type)?: /),
      ]),
    );
  });

  it('refuses a default that is not a bot, and a file without bots', () => {
    expect(problemsOf(EXAMPLE.replace('default: sales', 'default: nobody'))).toEqual(['default: unknown bot "nobody"']);
    expect(problemsOf('bots: {}\n')).toEqual(['bots: must define at least one bot']);
    expect(problemsOf('tools: {}\n')).toEqual(['bots: is required']);
  });

  it('refuses bad tool details with their paths', () => {
    const text = `
bots: { a: { tools: [h, d] } }
tools:
  h: { type: http, url: "ftp://x", description: d, secret: short }
  d: { type: genesys_data_action, action_id: "has spaces" }
`;
    expect(problemsOf(text)).toEqual(
      expect.arrayContaining(['tools.h.url: must be an http(s) URL', 'tools.h.secret: must be at least 16 characters', expect.stringMatching(/^tools\.d\.action_id: /)]),
    );
  });

  it('reports YAML syntax errors with a line number', () => {
    expect(problemsOf('bots:\n  a: [\n')[0]).toMatch(/^line \d+: /);
    expect(problemsOf('bots: { a: {} }\nbots: { b: {} }\n')[0]).toMatch(/^line \d+: .*unique/i);
  });

  it('reads JSON files too, and names an unreadable file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bots-'));
    const file = join(dir, 'bots.json');
    writeFileSync(file, JSON.stringify({ bots: { sales: { voice: 'marin' } } }));
    expect(loadBotsFile(file, {}).bots.get('sales')).toMatchObject({ voice: 'marin', tools: [] });
    expect(() => loadBotsFile(join(dir, 'missing.yaml'), {})).toThrow(/missing\.yaml:\n {2}- cannot read the file: ENOENT/);
  });
});
