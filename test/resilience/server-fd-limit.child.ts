/**
 * Child process for server-connections.test.ts: the app server (no call logic) under whatever descriptor
 * limit the parent gave it (`ulimit -n`). Prints `listening <port> max <server.maxConnections>`; exits when stdin closes.
 */
import { parseEnv } from '../../src/cli/env.js';
import { createLogger } from '../../src/log/logger.js';
import { createAppServer } from '../../src/server/http.js';

process.stdin.on('end', () => process.exit(0));
process.stdin.resume();

const env = parseEnv({
  GENESYS_API_KEY: 'fd-limit-test-key',
  PORT: '0',
  HOST: '127.0.0.1',
  MAX_SESSIONS: process.env.MAX_SESSIONS ?? '20',
  LOG_LEVEL: 'warn',
});
const app = createAppServer({ env, logger: createLogger('warn', process.stderr) });
const { port } = await app.listen();
process.stdout.write(`listening ${port} max ${app.server.maxConnections}\n`);
