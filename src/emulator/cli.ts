/** `npm run emulator`: serve the Realtime emulator until interrupted. */
import { parseArgs } from 'node:util';
import { createLogger } from '../log/logger.js';
import { parseSpeed } from './pacing.js';
import { startEmulator, type Emulator } from './server.js';

export const EMULATOR_USAGE =
  'Usage: emulator [--port N] [--host H] [--script fixtures/scripts/order-status.json] [--speed realtime|instant|4] [--realistic]\n' +
  '                [--api-key KEY]... [--azure-deployment NAME]... (Azure resource mode: /openai/v1/realtime, api-key header)';

/** Starts the emulator from CLI flags and prints how to point a client at it. Resolves with the running emulator. */
export async function runEmulatorCli(argv: string[], out: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Promise<Emulator> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: '8443' },
      host: { type: 'string', default: '127.0.0.1' },
      script: { type: 'string' },
      speed: { type: 'string' },
      realistic: { type: 'boolean', default: false },
      'azure-deployment': { type: 'string', multiple: true },
      'api-key': { type: 'string', multiple: true },
      'log-level': { type: 'string', default: 'info' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    out(EMULATOR_USAGE);
    throw new Error('help requested');
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0..65535, got ${values.port}`);
  const deployments = values['azure-deployment'];
  const apiKeys = values['api-key'];
  const emulator = await startEmulator({
    port,
    host: values.host,
    ...(values.speed !== undefined ? { speed: parseSpeed(values.speed) } : {}),
    realistic: values.realistic,
    ...(values.script !== undefined ? { script: values.script } : {}),
    ...(deployments !== undefined
      ? { azure: { deployments, ...(apiKeys !== undefined ? { apiKeys } : {}) } }
      : apiKeys !== undefined
        ? { apiKeys }
        : {}),
    logger: createLogger(values['log-level']),
  });
  // The key itself is never printed (CLI output ends up in terminals and CI logs).
  const key = apiKeys !== undefined ? '<a key given with --api-key>' : '<any non-empty key>';
  out(`Realtime emulator (offline stand-in, not OpenAI) listening on ${emulator.url}${values.realistic ? ' (realistic timing)' : ''}`);
  out(`  CA certificate (test-only): ${emulator.caPath}`);
  out(`  Point the bridge at it:`);
  if (deployments !== undefined) {
    out(`    AZURE_OPENAI_ENDPOINT=${emulator.azureEndpoint}`);
    out(`    AZURE_OPENAI_DEPLOYMENT=${deployments[0]}`);
    out(`    AZURE_OPENAI_API_KEY=${key}`);
  } else {
    out(`    OPENAI_BASE_URL=${emulator.baseURL}`);
    out(`    OPENAI_API_KEY=${key}`);
  }
  out(`    REALTIME_CA_FILE=${emulator.caPath}   (or NODE_EXTRA_CA_CERTS for any Node client)`);
  return emulator;
}
