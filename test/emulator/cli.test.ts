import { describe, expect, it } from 'vitest';
import { runEmulatorCli } from '../../src/emulator/cli.js';
import { parseSpeed } from '../../src/emulator/pacing.js';

describe('emulator CLI', () => {
  it('starts on the given port and prints how to point the bridge at it', async () => {
    const lines: string[] = [];
    const emulator = await runEmulatorCli(['--port', '0', '--speed', 'instant', '--script', 'fixtures/scripts/escalation.json', '--log-level', 'silent'], (l) => lines.push(l));
    try {
      const text = lines.join('\n');
      expect(text).toContain('not OpenAI');
      expect(text).toContain(`OPENAI_BASE_URL=https://127.0.0.1:${emulator.port}/v1`);
      expect(text).toContain('fixtures/tls/ca.pem');
    } finally {
      await emulator.close();
    }
  });

  it('never prints the API keys it accepts', async () => {
    const lines: string[] = [];
    const emulator = await runEmulatorCli(['--port', '0', '--speed', 'instant', '--api-key', 'emulator-key-SECRET-4715', '--log-level', 'silent'], (l) => lines.push(l));
    try {
      expect(lines.join('\n')).toContain('OPENAI_API_KEY=<a key given with --api-key>');
      expect(lines.join('\n')).not.toContain('SECRET-4715');
    } finally {
      await emulator.close();
    }
  });

  it('serves as an Azure resource with --azure-deployment, realistic with --realistic', async () => {
    const lines: string[] = [];
    const emulator = await runEmulatorCli(['--port', '0', '--realistic', '--azure-deployment', 'rt-prod', '--api-key', 'k-123', '--log-level', 'silent'], (l) => lines.push(l));
    try {
      const text = lines.join('\n');
      expect(text).toContain('realistic timing');
      expect(text).toContain(`AZURE_OPENAI_ENDPOINT=https://127.0.0.1:${emulator.port}`);
      expect(text).toContain('AZURE_OPENAI_DEPLOYMENT=rt-prod');
      expect(text).not.toContain('OPENAI_BASE_URL');
      expect(text).toContain('AZURE_OPENAI_API_KEY=<a key given with --api-key>');
      expect(text).not.toContain('k-123');
    } finally {
      await emulator.close();
    }
  });

  it('rejects bad flags', async () => {
    await expect(runEmulatorCli(['--port', 'abc'], () => undefined)).rejects.toThrow(/--port/);
    await expect(runEmulatorCli(['--bogus'], () => undefined)).rejects.toThrow();
    await expect(runEmulatorCli(['--speed', 'fast', '--port', '0'], () => undefined)).rejects.toThrow();
  });

  it('parses speeds', () => {
    expect(parseSpeed('realtime')).toBe('realtime');
    expect(parseSpeed('instant')).toBe('instant');
    expect(parseSpeed('4x')).toBe(4);
    expect(() => parseSpeed('-1')).toThrow();
  });
});
