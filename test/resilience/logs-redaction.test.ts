/** The logger's redaction net: credentials and caller data under known field names never reach the output. */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.js';

function capture(level: string): { lines: string[]; log: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''));
      done();
    },
  });
  return { lines, log: createLogger(level, stream) };
}

const VALUE = 'SENSITIVE-VALUE-4242';

describe('logger redaction', () => {
  const fields = [
    'apiKey',
    'clientSecret',
    'secret',
    'token',
    'authorization',
    'password',
    'ani',
    'dnis',
    'aniName',
    'dnisName',
    'participant',
    'inputVariables',
    'outputVariables',
    'customConfig',
    'instructions',
    'prompt',
    'transcript',
    'summary',
  ];

  it.each(fields)('censors %s at the top level and one level down', (field) => {
    const { lines, log } = capture('info');
    log.info({ [field]: VALUE }, 'top');
    log.info({ nested: { [field]: VALUE } }, 'nested');
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      expect(line).not.toContain(VALUE);
      expect(line).toContain('[redacted]');
    }
  });

  it('censors credential headers, also in a child logger and at debug', () => {
    const { lines, log } = capture('debug');
    const child = log.child({ sessionId: 's-1' });
    child.debug({ headers: { 'x-api-key': VALUE, authorization: `Bearer ${VALUE}`, signature: `sig1=:${VALUE}:`, cookie: VALUE } }, 'upgrade');
    child.debug({ req: { headers: { 'x-api-key': VALUE } } }, 'request');
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(line).not.toContain(VALUE);
    expect(JSON.parse(lines[0]!)).toMatchObject({ sessionId: 's-1', headers: { 'x-api-key': '[redacted]' } });
  });

  it('leaves ids and counts alone', () => {
    const { lines, log } = capture('info');
    log.info({ sessionId: 'abc', correlationId: 'def', bytes: 1600, summarySource: 'model' }, 'kept');
    expect(JSON.parse(lines[0]!)).toMatchObject({ sessionId: 'abc', correlationId: 'def', bytes: 1600, summarySource: 'model' });
  });
});
