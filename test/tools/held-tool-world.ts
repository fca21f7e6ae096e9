/**
 * The world of the model-reconnect tool tests: the Realtime emulator with a script, a backend whose HTTP
 * tool holds every request until the test answers it, and `serve` with a BOTS_FILE whose bot `sales` has
 * that one tool. Everything on 127.0.0.1; close() tears it down.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve, type Service } from '../../src/cli/serve.js';
import { parseEnv } from '../../src/cli/env.js';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import type { CallScript } from '../../src/emulator/script.js';
import { createLogger } from '../../src/log/logger.js';
import { createSimulatedCall, type GenesysClient } from '../../src/simulator/genesys-client.js';

export interface HeldToolWorld {
  emulator: Emulator;
  service: Service;
  /** Requests to the tool, held open until the test answers them. */
  held: ServerResponse[];
  /** Requests the tool received (each is one run of the tool). */
  readonly runs: number;
  /** A simulated Genesys call to the `sales` bot. */
  call(): Promise<GenesysClient>;
  close(): Promise<void>;
}

export async function startHeldToolWorld(options: {
  apiKey: string;
  script: CallScript;
  tool: { name: string; description: string; redact?: string[] };
  fillerAfterMs: number;
}): Promise<HeldToolWorld> {
  const logger = createLogger('silent');
  const emulator = await startEmulator({ script: options.script, speed: 'instant', logger });
  const held: ServerResponse[] = [];
  const clients: GenesysClient[] = [];
  let runs = 0;
  const backend: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      runs += 1;
      held.push(res);
    });
  });
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  const { name, description, redact } = options.tool;
  const botsFile = join(mkdtempSync(join(tmpdir(), 'bots-')), 'bots.yaml');
  writeFileSync(
    botsFile,
    `bots:
  sales:
    tools: [${name}]
tools:
  ${name}:
    type: http
    url: "http://127.0.0.1:${(backend.address() as AddressInfo).port}/${name}"
    description: "${description}"
    parameters: { type: object, properties: { order_id: { type: string } }, required: [order_id] }
${redact ? `    redact: [${redact.join(', ')}]\n` : ''}`,
  );
  const service = await serve(
    parseEnv({
      GENESYS_API_KEY: options.apiKey,
      OPENAI_API_KEY: 'sk-emulator',
      OPENAI_BASE_URL: emulator.baseURL,
      REALTIME_CA_FILE: emulator.caPath,
      PORT: '0',
      HOST: '127.0.0.1',
      BOTS_FILE: botsFile,
      TOOL_FILLER_AFTER_MS: String(options.fillerAfterMs),
    }),
    { logger, handleSignals: false },
  );
  return {
    emulator,
    service,
    held,
    get runs() {
      return runs;
    },
    async call() {
      const client = await createSimulatedCall({ url: `ws://127.0.0.1:${service.server.port}/audiohook/sales`, apiKey: options.apiKey });
      clients.push(client);
      return client;
    },
    async close() {
      for (const c of clients) c.terminate();
      for (const r of held) r.destroy();
      await service.server.stop(0);
      await emulator.close();
      backend.closeAllConnections();
      await new Promise<void>((r) => backend.close(() => r()));
    },
  };
}
