/**
 * docs/ARCHITECT.md against the code: the input variables it documents are exactly those
 * src/bridge/variables.ts reads (each one proven by a rejected bad value), and the output variables are
 * exactly those src/bridge/outputs.ts produces, with the documented allowed values.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildOutputVariables } from '../../src/bridge/outputs.js';
import { parseSummaryText } from '../../src/bridge/summary.js';
import { emptyUsage } from '../../src/bridge/usage.js';
import { InputVariableError, resolveCallConfig } from '../../src/bridge/variables.js';
import { REALTIME_VOICES, VAD_EAGERNESS, realtimeEnvSchema } from '../../src/realtime/env.js';

const ROOT = join(import.meta.dirname, '..', '..');
const doc = readFileSync(join(ROOT, 'docs', 'ARCHITECT.md'), 'utf8');

/** The body of the section whose heading starts with `## <number>.` */
function section(number: number): string {
  const start = doc.indexOf(`\n## ${number}. `);
  expect(start, `section ${number}`).toBeGreaterThanOrEqual(0);
  const end = doc.indexOf('\n## ', start + 1);
  return doc.slice(start, end < 0 ? undefined : end);
}

/** Rows of the first Markdown table in `text`, as cells (header and separator dropped). */
function tableRows(text: string): string[][] {
  const lines = text.split('\n');
  const first = lines.findIndex((l) => l.startsWith('|'));
  const rows: string[][] = [];
  for (let i = first + 2; i < lines.length && lines[i]!.startsWith('|'); i++) {
    rows.push(lines[i]!.slice(1, -1).split('|').map((c) => c.trim()));
  }
  return rows;
}

/** `AI_VOICE` / `A` / `B` in a cell → the names. */
const codeNames = (cell: string) => [...cell.matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((m) => m[1]!);

const inputRows = tableRows(section(4));
const documentedInputs = inputRows.flatMap((row) => [...codeNames(row[0]!), ...codeNames(row[1]!)]);
const documentedOutputs = tableRows(section(5)).flatMap((row) => codeNames(row[0]!));

/** Names variables.ts passes to its readers: `read(vars, ['A', 'B'], …)` and `pick(vars, ['A'])`. */
function namesReadBy(source: string): string[] {
  return [...source.matchAll(/\(vars, \[([^\]]*)\]/g)].flatMap((m) => [...m[1]!.matchAll(/'([A-Z0-9_]+)'/g)].map((n) => n[1]!));
}

const defaults = realtimeEnvSchema.parse({});

/** A value each variable rejects, plus what it needs alongside to be read at all. */
const INVALID: Record<string, Record<string, string>> = {
  AI_SYSTEM_PROMPT: { AI_SYSTEM_PROMPT: 'x'.repeat(20_001) },
  OPENAI_SYSTEM_PROMPT: { OPENAI_SYSTEM_PROMPT: 'x'.repeat(20_001) },
  AI_VOICE: { AI_VOICE: 'nova' },
  OPENAI_VOICE: { OPENAI_VOICE: 'nova' },
  AI_MODEL: { AI_MODEL: 'not a model!' },
  OPENAI_MODEL: { OPENAI_MODEL: 'not a model!' },
  AI_LANGUAGE: { AI_LANGUAGE: 'en_US;1' },
  LANGUAGE: { LANGUAGE: 'en_US;1' },
  AI_GREETING: { AI_GREETING: 'x'.repeat(501) },
  AI_MAX_OUTPUT_TOKENS: { AI_MAX_OUTPUT_TOKENS: '0' },
  OPENAI_MAX_OUTPUT_TOKENS: { OPENAI_MAX_OUTPUT_TOKENS: '4097' },
  AI_VAD_TYPE: { AI_VAD_TYPE: 'none' },
  AI_VAD_THRESHOLD: { AI_VAD_TYPE: 'server_vad', AI_VAD_THRESHOLD: '1.5' },
  AI_VAD_SILENCE_MS: { AI_VAD_TYPE: 'server_vad', AI_VAD_SILENCE_MS: '99' },
  AI_VAD_PREFIX_MS: { AI_VAD_TYPE: 'server_vad', AI_VAD_PREFIX_MS: '5001' },
  AI_VAD_IDLE_TIMEOUT_MS: { AI_VAD_TYPE: 'server_vad', AI_VAD_IDLE_TIMEOUT_MS: '4999' },
  AI_VAD_EAGERNESS: { AI_VAD_TYPE: 'semantic_vad', AI_VAD_EAGERNESS: 'eager' },
  CUSTOMER_DATA: { CUSTOMER_DATA: 'just a value' },
  AGENT_NAME: { AGENT_NAME: 'x'.repeat(101) },
  COMPANY_NAME: { COMPANY_NAME: 'x'.repeat(101) },
  DATA_ACTION_IDS: { DATA_ACTION_IDS: 'custom_-_a|not an id' },
  GENESYS_DATA_ACTION_IDS: { GENESYS_DATA_ACTION_IDS: 'custom_-_a|not an id' },
  DATA_ACTION_DESCRIPTIONS: { DATA_ACTION_IDS: 'custom_-_a|custom_-_b', DATA_ACTION_DESCRIPTIONS: 'one' },
};

function rejectionOf(vars: Record<string, string>): InputVariableError | undefined {
  try {
    resolveCallConfig(vars, defaults);
    return undefined;
  } catch (err) {
    if (err instanceof InputVariableError) return err;
    throw err;
  }
}

describe('docs/ARCHITECT.md input variables', () => {
  it('names exactly the variables variables.ts reads (new and legacy names)', () => {
    const source = readFileSync(join(ROOT, 'src', 'bridge', 'variables.ts'), 'utf8');
    const read = namesReadBy(source);
    expect(read.length).toBeGreaterThan(10);
    expect([...new Set(documentedInputs)].sort()).toEqual([...new Set(read)].sort());
    expect(new Set(documentedInputs).size).toBe(documentedInputs.length);
  });

  it.each(Object.keys(INVALID))('%s is read: a bad value is rejected naming it', (name) => {
    expect(documentedInputs).toContain(name);
    expect(rejectionOf(INVALID[name]!)?.variable).toBe(name);
  });

  it('every documented name has a rejection case here (so none is documented but ignored)', () => {
    expect(Object.keys(INVALID).sort()).toEqual([...documentedInputs].sort());
  });

  it('lists the voices and eagerness values the code accepts', () => {
    const row = (name: string) => inputRows.find((r) => r[0] === `\`${name}\``)!;
    const literals = (cell: string) => [...cell.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]!);
    expect(literals(row('AI_VOICE')[2]!)).toEqual([...REALTIME_VOICES]);
    expect(literals(row('AI_VAD_EAGERNESS')[2]!)).toEqual([...VAD_EAGERNESS]);
    for (const voice of REALTIME_VOICES) expect(rejectionOf({ AI_VOICE: voice })).toBeUndefined();
  });

  it('AI_GREETING: unset/true → bot greets in its own words, false → caller first, other text → exactly that', () => {
    expect(resolveCallConfig({}, defaults).greeting).toEqual({ kind: 'model' });
    expect(resolveCallConfig({ AI_GREETING: 'TRUE' }, defaults).greeting).toEqual({ kind: 'model' });
    expect(resolveCallConfig({ AI_GREETING: 'false' }, defaults).greeting).toEqual({ kind: 'none' });
    expect(resolveCallConfig({ AI_GREETING: 'Welcome to Acme!' }, defaults).greeting).toEqual({ kind: 'text', text: 'Welcome to Acme!' });
  });
});

describe('docs/ARCHITECT.md output variables', () => {
  const outputs = buildOutputVariables({
    summary: { summary: 'Caller asked about an order.', sentiment: 'neutral', resolved: true, follow_ups: ['Send tracking link'], source: 'model' },
    escalation: { reason: 'caller asked for a manager' },
    durationMs: 61_400,
    usage: { ...emptyUsage(), totalTokens: 30, inputTokens: 20, outputTokens: 10, cachedTokens: 5 },
  });

  it('names exactly the variables outputs.ts produces', () => {
    expect([...documentedOutputs].sort()).toEqual(Object.keys(outputs).sort());
  });

  it('documents the values as produced: strings, true/false, whole seconds, every summary source', () => {
    for (const value of Object.values(outputs)) expect(typeof value).toBe('string');
    expect(outputs).toMatchObject({ ESCALATION_REQUIRED: 'true', CONVERSATION_RESOLVED: 'true', CONVERSATION_DURATION: '61' });
    const sourceRow = tableRows(section(5)).find((r) => r[0] === '`SUMMARY_SOURCE`')!;
    const documentedSources = [...sourceRow[1]!.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]!);
    // model (structured), model_text (plain text answer) and fallback are the three the code can give.
    expect(parseSummaryText('{"summary":"s","sentiment":"neutral","resolved":false}')?.source).toBe('model');
    expect(parseSummaryText('The caller asked about an order.')?.source).toBe('model_text');
    expect(documentedSources).toEqual(expect.arrayContaining(['model', 'model_text', 'fallback']));
  });
});
