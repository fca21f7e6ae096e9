import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseEnv } from '../../src/cli/env.js';
import { retryDelayMs } from '../../src/bridge/webhook.js';
import { SHUTDOWN_DEFAULTS } from '../../src/server/http.js';
import { parseDockerfile } from './dockerfile-parse.js';
import { parseYamlSubset, YamlSubsetError } from './yaml-subset.js';

/**
 * The App Platform app spec fields, enums and ranges we use, from DigitalOcean's public App Platform
 * OpenAPI specification (digitalocean/openapi, specification/resources/apps/models). Strict objects: a misspelt or
 * unsupported field fails here rather than at deploy time.
 */
const int = (min: number, max: number) => z.number().int().min(min).max(max);

const healthCheck = z.strictObject({
  http_path: z.string().startsWith('/').optional(),
  port: int(1, 65535).optional(),
  initial_delay_seconds: int(0, 3600).optional(),
  period_seconds: int(1, 300).optional(),
  timeout_seconds: int(1, 120).optional(),
  success_threshold: int(1, 50).optional(),
  failure_threshold: int(1, 50).optional(),
});

const env = z
  .strictObject({
    key: z.string().regex(/^[_A-Za-z][_A-Za-z0-9]*$/),
    scope: z.enum(['RUN_TIME', 'BUILD_TIME', 'RUN_AND_BUILD_TIME']).optional(),
    type: z.enum(['GENERAL', 'SECRET']).optional(),
    value: z.string().optional(),
  })
  .refine((e) => e.type !== 'SECRET' || e.value === undefined || /^EV\[.+\]$/.test(e.value), {
    message: 'a SECRET must have no value or an encrypted EV[...] value, never plaintext',
  });

const SHARED_SIZES = ['apps-s-1vcpu-0.5gb', 'apps-s-1vcpu-1gb-fixed', 'apps-s-1vcpu-1gb', 'apps-s-1vcpu-2gb', 'apps-s-2vcpu-4gb'];

const service = z
  .strictObject({
    name: z.string().regex(/^[a-z][a-z0-9-]{0,30}[a-z0-9]$/),
    github: z.strictObject({ repo: z.string().regex(/^[\w.-]+\/[\w.-]+$/), branch: z.string().min(1), deploy_on_push: z.boolean().optional() }).optional(),
    git: z.strictObject({ repo_clone_url: z.string().url(), branch: z.string().min(1) }).optional(),
    gitlab: z.strictObject({ repo: z.string(), branch: z.string().min(1), deploy_on_push: z.boolean().optional() }).optional(),
    image: z.record(z.string(), z.unknown()).optional(),
    dockerfile_path: z.string().optional(),
    source_dir: z.string().optional(),
    build_command: z.string().optional(),
    run_command: z.string().optional(),
    environment_slug: z.string().optional(),
    envs: z.array(env).optional(),
    instance_count: int(1, 250).optional(),
    instance_size_slug: z.string().refine((s) => SHARED_SIZES.includes(s) || /^apps-d-/.test(s), {
      message: `must be one of ${SHARED_SIZES.join(', ')} or a dedicated apps-d-* size (basic-*/professional-* are deprecated)`,
    }).optional(),
    http_port: int(1, 65535).optional(),
    protocol: z.enum(['HTTP', 'HTTP2']).optional(),
    internal_ports: z.array(int(1, 65535)).optional(),
    health_check: healthCheck.optional(),
    liveness_health_check: healthCheck.refine((h) => h.success_threshold === undefined || h.success_threshold === 1, {
      message: 'liveness success_threshold must be 1',
    }).optional(),
    termination: z.strictObject({ drain_seconds: int(1, 110).optional(), grace_period_seconds: int(1, 600).optional() }).optional(),
    autoscaling: z.record(z.string(), z.unknown()).optional(),
    log_destinations: z.array(z.record(z.string(), z.unknown())).optional(),
  })
  .refine((s) => [s.github, s.git, s.gitlab, s.image].filter(Boolean).length === 1, { message: 'exactly one source' })
  .refine((s) => !(s.autoscaling && s.instance_count !== undefined), { message: 'instance_count and autoscaling exclude each other' });

const appSpec = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9-]{0,30}[a-z0-9]$/),
  region: z.enum(['atl', 'nyc', 'sfo', 'tor', 'ams', 'fra', 'lon', 'blr', 'sgp', 'syd']),
  disable_edge_cache: z.boolean().optional(),
  services: z.array(service).min(1),
  workers: z.array(z.unknown()).optional(),
  jobs: z.array(z.unknown()).optional(),
  domains: z.array(z.unknown()).optional(),
  egress: z.unknown().optional(),
  vpc: z.unknown().optional(),
  ingress: z.strictObject({
    rules: z.array(
      z.strictObject({
        match: z.strictObject({ path: z.strictObject({ prefix: z.string().startsWith('/') }) }),
        component: z.strictObject({ name: z.string() }),
      }),
    ).min(1),
  }),
  alerts: z.array(z.strictObject({ rule: z.enum(['DEPLOYMENT_FAILED', 'DEPLOYMENT_LIVE', 'DOMAIN_FAILED', 'DOMAIN_LIVE']) })).optional(),
});

const ROOT = join(import.meta.dirname, '..', '..');
const raw = parseYamlSubset(readFileSync(join(ROOT, '.do', 'app.yaml'), 'utf8'));
const SECRETS = ['GENESYS_API_KEY', 'GENESYS_CLIENT_SECRET', 'OPENAI_API_KEY', 'SUMMARY_WEBHOOK_URL', 'SUMMARY_WEBHOOK_SECRET', 'METRICS_TOKEN'];

/** Seconds kept free between the end of our shutdown and SIGKILL (event-loop stalls, slow disks, clock skew). */
const SHUTDOWN_MARGIN_SECONDS = 30;

/**
 * Worst case, in seconds, of what runs after DRAIN_TIMEOUT: the polite end of every call (summary,
 * disconnect, close handshake), the forced socket close, then the last webhook delivery with all its
 * retries (the bridge's drain awaits it; the spool only stops its timers).
 */
function shutdownSequenceSeconds(env: ReturnType<typeof parseEnv>): number {
  // The spec declares SUMMARY_WEBHOOK_URL, so a delivery is always part of it.
  let webhookMs = 0;
  for (let attempt = 1; attempt <= env.SUMMARY_WEBHOOK_RETRIES + 1; attempt++) {
    webhookMs += env.SUMMARY_WEBHOOK_TIMEOUT_MS + (attempt <= env.SUMMARY_WEBHOOK_RETRIES ? retryDelayMs(attempt) : 0);
  }
  return (SHUTDOWN_DEFAULTS.politeEndWaitMs + SHUTDOWN_DEFAULTS.socketCloseWaitMs + webhookMs) / 1000;
}

/** The connector's environment as the server would parse it (secrets stand in as placeholders). */
function connectorEnv(spec: { services: { envs?: { key: string; value?: string | undefined }[] | undefined }[] }) {
  const values = Object.fromEntries((spec.services[0]!.envs ?? []).filter((e) => e.value !== undefined).map((e) => [e.key, e.value]));
  return parseEnv({ ...values, GENESYS_API_KEY: 'set-as-a-secret', SUMMARY_WEBHOOK_URL: 'https://hooks.example/x' });
}

/** How the drain fits the platform's kill deadline: seconds to spare (negative: calls are killed). */
function drainFit(spec: z.infer<typeof appSpec>): { spare: number; drain: number; grace: number } {
  const env = connectorEnv(spec);
  // App Platform's default when termination is absent.
  const grace = spec.services[0]!.termination?.grace_period_seconds ?? 120;
  return { spare: grace - env.DRAIN_TIMEOUT - shutdownSequenceSeconds(env), drain: env.DRAIN_TIMEOUT, grace };
}

describe('.do/app.yaml', () => {
  const spec = appSpec.parse(raw);
  const connector = spec.services[0]!;

  it('is a valid App Platform spec with one Dockerfile service on 8080', () => {
    expect(spec.services).toHaveLength(1);
    expect(connector.dockerfile_path).toBe('Dockerfile');
    expect(existsSync(join(ROOT, connector.dockerfile_path!))).toBe(true);
    expect(connector.http_port).toBe(8080);
    const runtime = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8')).at(-1)!;
    expect(runtime.instructions.filter((i) => i.keyword === 'EXPOSE').map((i) => i.args)).toEqual([String(connector.http_port)]);
    expect(spec.ingress.rules.map((r) => r.component.name)).toEqual([connector.name]);
  });

  it('routes readiness to /readyz and liveness to /healthz with sane timings', () => {
    const ready = connector.health_check!;
    expect(ready.http_path).toBe('/readyz');
    expect(ready.timeout_seconds!).toBeLessThan(ready.period_seconds!);
    expect(connector.liveness_health_check!.http_path).toBe('/healthz');
    expect(connector.liveness_health_check!.timeout_seconds!).toBeLessThan(connector.liveness_health_check!.period_seconds!);
  });

  it('gives live calls time to finish on deploys', () => {
    const { drain_seconds, grace_period_seconds } = connector.termination!;
    // A readiness failure must be seen (period × threshold) before draining ends and SIGTERM comes.
    expect(drain_seconds).toBeGreaterThanOrEqual(connector.health_check!.period_seconds!);
    expect(grace_period_seconds).toBeGreaterThanOrEqual(300);
  });

  it('sets DRAIN_TIMEOUT so drain + the shutdown sequence end before SIGKILL, with a margin', () => {
    expect(connector.envs!.some((e) => e.key === 'DRAIN_TIMEOUT'), 'DRAIN_TIMEOUT set in the spec').toBe(true);
    const { spare, drain, grace } = drainFit(spec);
    expect(spare, `DRAIN_TIMEOUT ${drain} s + shutdown sequence must leave ${SHUTDOWN_MARGIN_SECONDS} s of ${grace} s`).toBeGreaterThanOrEqual(
      SHUTDOWN_MARGIN_SECONDS,
    );
    // And calls get most of the grace: a drain far shorter than the platform allows cuts calls for nothing.
    expect(spare, 'grace left unused').toBeLessThanOrEqual(3 * SHUTDOWN_MARGIN_SECONDS);
  });

  it('the drain check fails when drain and grace do not fit', () => {
    const withDrain = (drain: string, grace?: number) => {
      const copy = structuredClone(spec);
      copy.services[0]!.envs = copy.services[0]!.envs!.map((e) => (e.key === 'DRAIN_TIMEOUT' ? { ...e, value: drain } : e));
      if (grace === undefined) delete copy.services[0]!.termination;
      else copy.services[0]!.termination!.grace_period_seconds = grace;
      return drainFit(copy).spare;
    };
    expect(withDrain('580', 600)).toBeLessThan(SHUTDOWN_MARGIN_SECONDS);
    expect(withDrain('110')).toBeLessThan(SHUTDOWN_MARGIN_SECONDS); // no termination block: 120 s
    expect(withDrain('540', 300)).toBeLessThan(0);
    expect(withDrain('60', 120)).toBeGreaterThanOrEqual(SHUTDOWN_MARGIN_SECONDS);
  });

  it('declares every secret as SECRET without a plaintext value, each key once', () => {
    const envs = connector.envs!;
    expect(new Set(envs.map((e) => e.key)).size).toBe(envs.length);
    for (const key of SECRETS) {
      const entry = envs.find((e) => e.key === key);
      expect(entry, key).toBeDefined();
      expect(entry!.type, key).toBe('SECRET');
      expect(entry!.value, key).toBeUndefined();
      expect(entry!.scope, key).toBe('RUN_TIME');
    }
    for (const e of envs) if (/KEY|SECRET|TOKEN|PASSWORD/.test(e.key)) expect(e.type, e.key).toBe('SECRET');
  });

  it('its plain values are accepted by the server configuration', () => {
    const values = Object.fromEntries(connector.envs!.filter((e) => e.value !== undefined).map((e) => [e.key, e.value]));
    const parsed = parseEnv({ ...values, GENESYS_API_KEY: 'set-as-a-secret', PORT: String(connector.http_port) });
    expect(parsed.AUDIOHOOK_PATH).toBe('/audiohook');
    expect(parsed.TRUST_PROXY).toBe(true);
  });

  it('the schema rejects what App Platform rejects', () => {
    const ok = structuredClone(raw) as Record<string, unknown>;
    expect(appSpec.safeParse(ok).success).toBe(true);
    const broken = (mutate: (spec: any) => void) => {
      const copy = structuredClone(raw) as any;
      mutate(copy);
      return appSpec.safeParse(copy).success;
    };
    expect(broken((s) => (s.region = 'fra1'))).toBe(false);
    expect(broken((s) => (s.name = 'Audiohook_Realtime'))).toBe(false);
    expect(broken((s) => (s.services[0].instance_size_slug = 'basic-xxs'))).toBe(false);
    expect(broken((s) => (s.services[0].termination.drain_seconds = 111))).toBe(false);
    expect(broken((s) => (s.services[0].termination.grace_period_seconds = 601))).toBe(false);
    expect(broken((s) => (s.services[0].liveness_health_check.success_threshold = 2))).toBe(false);
    expect(broken((s) => s.services[0].envs.push({ key: 'X', type: 'SECRET', value: 'plaintext' }))).toBe(false);
    expect(broken((s) => s.services[0].envs.push({ key: '1BAD', value: 'x' }))).toBe(false);
    expect(broken((s) => (s.services[0].routes = [{ path: '/' }]))).toBe(false);
    expect(broken((s) => (s.services[0].image = { registry_type: 'DOCR' }))).toBe(false);
    expect(broken((s) => s.services[0].envs.push({ key: 'X', type: 'SECRET', value: 'EV[1:abc:def]' }))).toBe(true);
  });
});

describe('parseYamlSubset', () => {
  it('reads nested mappings, sequences of mappings and typed scalars', () => {
    const text = ['a: 1', 'b:', '  - x: "q # not a comment"', "    y: 'it''s'", '  - plain # comment', 'c:', '  d: true', '  e: ~', 'f: 2.5'].join('\n');
    expect(parseYamlSubset(text)).toEqual({ a: 1, b: [{ x: 'q # not a comment', y: "it's" }, 'plain'], c: { d: true, e: null }, f: 2.5 });
  });

  it('rejects YAML outside the subset, naming the line', () => {
    for (const [text, line] of [
      ['a: { b: 1 }', 1],
      ['a: 1\na: 2', 2],
      ['a:\n\tb: 1', 2],
      ['a: &anchor 1', 1],
      ['a: |\n  text', 1],
      ['a: 1\n   b: 2', 2],
      ['a: b: c', 1],
    ] as const) {
      expect(() => parseYamlSubset(text), text).toThrow(YamlSubsetError);
      expect(() => parseYamlSubset(text), text).toThrow(`line ${line}:`);
    }
  });
});
