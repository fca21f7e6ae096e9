// The bridge process for trees where dist/cli/main.js does not exist yet: the same chain as the CLI's
// `serve` (environment → model connection settings → call bridge → HTTP server), from the built dist/.
import { parseEnv } from '../dist/cli/env.js';
import { connectSettingsFromEnv } from '../dist/realtime/connection.js';
import { createBridgeFactory } from '../dist/bridge/call.js';
import { startServer } from '../dist/server/main.js';

const env = parseEnv(process.env);
const bridge = createBridgeFactory({ env, connect: connectSettingsFromEnv(env) });
await startServer(env, { createCall: bridge });
