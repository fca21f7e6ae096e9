import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { checkEnv, ConfigError, envSchema, KNOWN_VARIABLES, parseEnv, pathSettings } from '../../src/cli/env.js';
import { parseEnvironment } from '../../src/config/env.js';
import { editDistance, nearestName, unknownNameWarnings } from '../../src/config/names.js';

const minimal = { GENESYS_API_KEY: 'key-1' };
const serveMinimal = { ...minimal, OPENAI_API_KEY: 'sk-test' };

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('start-up lists every mistake at once', () => {
  it('every missing required setting of serve in one error, with the bad values', () => {
    const err = configError(() => checkEnv({ PORT: 'eighty' }, { serve: true }));
    expect(err.problems).toEqual([
      'PORT must be an integer from 0 to 65535',
      'GENESYS_API_KEY is required',
      'no model configured: set OPENAI_API_KEY, or the AZURE_OPENAI_* variables',
    ]);
  });

  it('a half-configured Azure and a key pair without its key, next to a schema problem', () => {
    const err = configError(() =>
      checkEnv({ ...minimal, LOG_LEVEL: 'loud', AZURE_OPENAI_ENDPOINT: 'https://x.openai.azure.com', GENESYS_CLIENT_SECRET_2: 'c2VjcmV0' }, { serve: true }),
    );
    expect(err.problems).toHaveLength(3);
    expect(err.message).toMatch(/LOG_LEVEL must be one of fatal, error, warn, info, debug, trace or silent/);
    expect(err.message).toMatch(/GENESYS_CLIENT_SECRET_2 is set but GENESYS_API_KEY_2 is not/);
    expect(err.message).toMatch(/Azure OpenAI needs AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_DEPLOYMENT and AZURE_OPENAI_API_KEY together/);
  });

  it('only serve requires a model (the demo and tests bring their own)', () => {
    expect(checkEnv(minimal).env.GENESYS_API_KEY).toBe('key-1');
    expect(checkEnv(serveMinimal, { serve: true }).warnings).toEqual([]);
  });
});

describe('path settings', () => {
  const dir = mkdtempSync(join(tmpdir(), 'audiohook-config-'));
  const file = join(dir, 'ca.pem');
  writeFileSync(file, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
  const notPem = join(dir, 'not-pem.txt');
  writeFileSync(notPem, 'hello');

  it('an unreadable REALTIME_CA_FILE is named, not a bare ENOENT', () => {
    const err = configError(() => parseEnv({ ...minimal, REALTIME_CA_FILE: join(dir, 'missing.pem') }));
    expect(err.problems).toEqual([`REALTIME_CA_FILE: ${join(dir, 'missing.pem')} does not exist (it must be a readable file)`]);
    expect(configError(() => parseEnv({ ...minimal, REALTIME_CA_FILE: dir })).problems).toEqual([`REALTIME_CA_FILE: ${dir} is not a file`]);
    expect(parseEnv({ ...minimal, REALTIME_CA_FILE: file }).REALTIME_CA_FILE).toBe(file);
    // Node ignores a CA that is not PEM without a word; every model call would then fail TLS.
    expect(configError(() => parseEnv({ ...minimal, REALTIME_CA_FILE: notPem })).problems).toEqual([`REALTIME_CA_FILE: ${notPem} holds no PEM certificate`]);
  });

  it('SUMMARY_SPOOL_DIR must be a directory, or creatable under one', () => {
    const base = { ...minimal, SUMMARY_WEBHOOK_URL: 'https://hooks.example/x' };
    expect(parseEnv({ ...base, SUMMARY_SPOOL_DIR: join(dir, 'not', 'yet') }).SUMMARY_SPOOL_DIR).toBe(join(dir, 'not', 'yet'));
    expect(configError(() => parseEnv({ ...base, SUMMARY_SPOOL_DIR: file })).problems).toEqual([`SUMMARY_SPOOL_DIR: ${file} is not a directory`]);
    expect(configError(() => parseEnv({ ...base, SUMMARY_SPOOL_DIR: join(file, 'sub') })).problems[0]).toMatch(
      /^SUMMARY_SPOOL_DIR: .* has a file where a directory is expected \(it must be a writable directory\)$/,
    );
  });

  it('every path and bad value is reported in one round', () => {
    const err = configError(() => parseEnv({ REALTIME_CA_FILE: '/nonexistent/ca.pem', SUMMARY_SPOOL_DIR: file, PORT: '-1' }));
    expect(err.problems).toHaveLength(4);
  });

  it('path settings derive from the schema names, so later settings (BOTS_FILE) are checked too', () => {
    expect(pathSettings(KNOWN_VARIABLES)).toEqual({ REALTIME_CA_FILE: 'readable-file', SUMMARY_SPOOL_DIR: 'writable-directory', BOTS_FILE: 'readable-file', REDIS_CA_FILE: 'readable-file' });
    const extended = envSchema.extend({ BOTS_FILE: z.string().optional() });
    const names = Object.keys(extended.shape);
    const rules = { prefixes: ['BOTS_'], paths: pathSettings(names) };
    expect(() => parseEnvironment(extended, { ...minimal, BOTS_FILE: join(dir, 'bots.yaml') }, rules)).toThrow(/BOTS_FILE: .*bots\.yaml does not exist/);
  });
});

describe('names that look like ours', () => {
  it('warns about an unknown name with our prefix, suggesting the nearest known one', () => {
    const { warnings } = checkEnv({ ...minimal, OPENAI_VOCIE: 'cedar', SUMMARY_WEBHOOK_RETIRES: '3', AUDIOHOOK_COLOUR: 'blue' });
    expect(warnings).toEqual([
      'AUDIOHOOK_COLOUR is not a setting of audiohook-realtime and is ignored',
      'OPENAI_VOCIE is not a setting of audiohook-realtime and is ignored: did you mean OPENAI_VOICE?',
      'SUMMARY_WEBHOOK_RETIRES is not a setting of audiohook-realtime and is ignored: did you mean SUMMARY_WEBHOOK_RETRIES?',
    ]);
  });

  it("leaves alone other software's variables: standard OTEL_*, the OpenAI SDK's own, the system's", () => {
    const { warnings } = checkEnv({
      ...minimal,
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318',
      OTEL_SERVICE_NAME: 'x',
      OPENAI_ORG_ID: 'org-1',
      OPENAI_PROJECT_ID: 'proj-1',
      HOME: '/root',
      PATH: '/usr/bin',
      NODE_ENV: 'production',
    });
    expect(warnings).toEqual([]);
  });

  it('a misspelt required name explains the missing one in the same error', () => {
    const err = configError(() => parseEnv({ GENESYS_APIKEY: 'k' }));
    expect(err.problems).toEqual(['GENESYS_API_KEY is required']);
    expect(err.message).toMatch(/warnings:\n {2}- GENESYS_APIKEY is not a setting of audiohook-realtime and is ignored: did you mean GENESYS_API_KEY\?/);
  });

  it('every name the composed schema reads is known (settings added to a shape need no list)', () => {
    const all = Object.fromEntries(KNOWN_VARIABLES.map((n) => [n, 'x']));
    expect(unknownNameWarnings(Object.keys(all), { known: KNOWN_VARIABLES, prefixes: [''] })).toEqual([]);
    const extended = envSchema.extend({ TOOL_TIMEOUT_MS: z.string().optional() });
    const rules = { prefixes: ['TOOL_'] };
    expect(parseEnvironment(extended, { ...minimal, TOOL_TIMEOUT_MS: '5' }, rules).warnings).toEqual([]);
    expect(parseEnvironment(extended, { ...minimal, TOOL_TIMOUT_MS: '5' }, rules).warnings).toEqual([
      'TOOL_TIMOUT_MS is not a setting of audiohook-realtime and is ignored: did you mean TOOL_TIMEOUT_MS?',
    ]);
  });

  it('edit distance counts a swap of neighbours as one edit; far names get no suggestion', () => {
    expect(editDistance('OPENAI_VOCIE', 'OPENAI_VOICE')).toBe(1);
    expect(editDistance('abc', 'abc')).toBe(0);
    expect(editDistance('', 'abc')).toBe(3);
    expect(nearestName('OPENAI_TEMPERATURE', KNOWN_VARIABLES)).toBeUndefined();
    expect(nearestName('VAD_TRESHOLD', KNOWN_VARIABLES)).toBe('VAD_THRESHOLD');
  });
});

describe('settings without effect', () => {
  it('SUMMARY_SPOOL_DIR without SUMMARY_WEBHOOK_URL is warned about', () => {
    const dir = mkdtempSync(join(tmpdir(), 'audiohook-spool-'));
    expect(checkEnv({ ...minimal, SUMMARY_SPOOL_DIR: dir }).warnings).toEqual(['SUMMARY_SPOOL_DIR has no effect without SUMMARY_WEBHOOK_URL']);
    expect(checkEnv({ ...minimal, SUMMARY_SPOOL_DIR: dir, SUMMARY_WEBHOOK_URL: 'https://hooks.example/x' }).warnings).toEqual([]);
    expect(checkEnv({ ...minimal, SUMMARY_WEBHOOK_SECRET: 'a'.repeat(16) }).warnings).toEqual([
      'SUMMARY_WEBHOOK_SECRET has no effect without SUMMARY_WEBHOOK_URL',
    ]);
    expect(checkEnv({ ...minimal, SUMMARY_WEBHOOK_RETRIES: '4' }).warnings).toEqual(['SUMMARY_WEBHOOK_RETRIES has no effect without SUMMARY_WEBHOOK_URL']);
  });

  it('a copy of .env.example (defaults written out, the key filled in) starts without a warning', () => {
    const text = readFileSync(join(import.meta.dirname, '..', '..', '.env.example'), 'utf8');
    const entries = Object.fromEntries(text.split('\n').filter((l) => /^[A-Z0-9_]+=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    expect(checkEnv({ ...entries, GENESYS_API_KEY: 'k', OPENAI_API_KEY: 'sk' }, { serve: true }).warnings).toEqual([]);
  });
});

describe('every validation message is ours', () => {
  const ZOD_WORDING = /Invalid|expected|received|Too (small|big)|Required/;
  const BAD_VALUES = ['not a value!', '-1', '99999999999999', '0.5', 'x', 'http//no'];

  it('for every setting of the composed schema and every bad value, our wording', () => {
    const shape = envSchema.shape as Record<string, z.ZodType>;
    let checked = 0;
    for (const name of Object.keys(shape)) {
      for (const value of BAD_VALUES) {
        if (shape[name]!.safeParse(value).success) continue;
        const err = configError(() => parseEnv({ ...minimal, [name]: value }));
        for (const problem of err.problems) {
          expect(problem, `${name}=${value}`).toMatch(new RegExp(`^${name} (must|is|has) `));
          expect(problem, `${name}=${value}`).not.toMatch(ZOD_WORDING);
        }
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(40);
  });

  it('LOG_LEVEL lists what is allowed', () => {
    expect(configError(() => parseEnv({ ...minimal, LOG_LEVEL: 'loud' })).problems).toEqual([
      'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace or silent',
    ]);
    expect(configError(() => parseEnv({ ...minimal, OPENAI_BASE_URL: 'not a url' })).problems).toEqual(['OPENAI_BASE_URL must be a URL']);
  });
});
