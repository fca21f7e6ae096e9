/**
 * The Archy flow in docs/architect/ against the bridge: every input variable it sends is one the bridge
 * reads (src/bridge/variables.ts), every output it maps is one the bridge returns (src/bridge/outputs.ts),
 * the escalation decision reads the flow variable ESCALATION_REQUIRED lands in, and both the escalation and
 * the failure path end in a Transfer to ACD.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildOutputVariables } from '../../src/bridge/outputs.js';
import { emptyUsage } from '../../src/bridge/usage.js';
import { InputVariableError, resolveCallConfig } from '../../src/bridge/variables.js';
import { realtimeEnvSchema } from '../../src/realtime/env.js';

const ROOT = join(import.meta.dirname, '..', '..');
const flowText = readFileSync(join(ROOT, 'docs', 'architect', 'audiohook-realtime-inbound.yaml'), 'utf8');
const optionsText = readFileSync(join(ROOT, 'docs', 'architect', 'options.example.yaml'), 'utf8');

type Node = Record<string, any>;
const flow = (parse(flowText, { uniqueKeys: true }) as Node).inboundCall as Node;

/** Every action object in a list, depth first through `outputs.<path>.actions`, as [type, body]. */
function actionsIn(list: Node[] | undefined): Array<[string, Node]> {
  const found: Array<[string, Node]> = [];
  for (const item of list ?? []) {
    const [type, body] = Object.entries(item)[0] as [string, Node];
    found.push([type, body]);
    for (const path of Object.values((body.outputs ?? {}) as Record<string, Node>)) found.push(...actionsIn(path.actions as Node[]));
  }
  return found;
}

const tasks = (flow.tasks as Node[]).map((t) => t.task as Node);
const all = tasks.flatMap((t) => actionsIn(t.actions as Node[]));
const connectors = all.filter(([type]) => type === 'callAudioConnector').map(([, body]) => body);
const connector = connectors[0]!;

/** Names variables.ts passes to its readers: `read(vars, ['A', 'B'], …)` and `pick(vars, ['A'])`. */
const namesRead = [...readFileSync(join(ROOT, 'src', 'bridge', 'variables.ts'), 'utf8').matchAll(/\(vars, \[([^\]]*)\]/g)].flatMap((m) =>
  [...m[1]!.matchAll(/'([A-Z0-9_]+)'/g)].map((n) => n[1]!),
);

const outputNames = Object.keys(
  buildOutputVariables({
    summary: { summary: 's', sentiment: 'neutral', resolved: true, follow_ups: [], source: 'model' },
    durationMs: 1000,
    usage: emptyUsage(),
  }),
);

describe('docs/architect/audiohook-realtime-inbound.yaml', () => {
  it('is an inbound call flow whose start-up task exists, with one Call Audio Connector action', () => {
    expect(flow.name).toBeDefined();
    const refIds = tasks.map((t) => t.refId as string);
    expect(flow.startUpRef).toBe(`/inboundCall/tasks/task[${refIds[0]}]`);
    expect(connectors).toHaveLength(1);
    expect(connector.connectorId).toBeDefined();
    expect(connector.integration).toBeDefined();
  });

  it('sends only input variables the bridge reads, set from flow data', () => {
    const inputs = Object.keys(connector.inputs as Node);
    expect(inputs.length).toBeGreaterThanOrEqual(3);
    expect(namesRead.length).toBeGreaterThan(10);
    for (const name of inputs) expect(namesRead, name).toContain(name);
    // At least one comes from the call itself, not a literal.
    expect(Object.values(connector.inputs as Node).some((v: Node) => typeof v.exp === 'string' && /\bCall\./.test(v.exp))).toBe(true);
    // And the bridge accepts what the flow sends for literals of the example options.
    const defaults = realtimeEnvSchema.parse({});
    expect(() => resolveCallConfig({ COMPANY_NAME: 'Acme', AI_LANGUAGE: 'en-US', CUSTOMER_DATA: 'conversation:abc' }, defaults)).not.toThrow(InputVariableError);
  });

  it('maps only output variables the bridge returns, each to a declared flow variable', () => {
    const mapped = connector.successOutputs as Record<string, { var: string }>;
    expect(Object.keys(mapped)).toContain('ESCALATION_REQUIRED');
    for (const name of Object.keys(mapped)) expect(outputNames, name).toContain(name);
    const declared = new Set((flow.variables as Node[]).map((v) => (Object.values(v)[0] as Node).name as string));
    for (const target of [...Object.values(mapped), ...Object.values(connector.failureOutputs as Record<string, { var: string }>)]) {
      expect(declared, target.var).toContain(target.var);
    }
  });

  it('decides on ESCALATION_REQUIRED: yes → Transfer to ACD, no → Disconnect; failure → Transfer to ACD', () => {
    const escalationVar = (connector.successOutputs as Record<string, { var: string }>).ESCALATION_REQUIRED!.var;
    const success = actionsIn(connector.outputs.success.actions as Node[]);
    const decision = success.find(([type]) => type === 'decision')![1];
    expect(decision.condition.exp).toBe(`${escalationVar} == "true"`);
    expect(actionsIn(decision.outputs.yes.actions as Node[]).map(([type]) => type)[0]).toBe('transferToAcd');
    expect(actionsIn(decision.outputs.no.actions as Node[]).map(([type]) => type)).toEqual(['disconnect']);
    const failure = actionsIn(connector.outputs.failure.actions as Node[]).map(([type]) => type);
    expect(failure[0]).toBe('transferToAcd');
  });

  it('every {{substitution}} has a value in the example options file', () => {
    const used = new Set([...flowText.matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1]!));
    const substitutions = (parse(optionsText) as Node).substitutions as Record<string, string>;
    expect([...used].sort()).toEqual(Object.keys(substitutions).sort());
  });
});
