/**
 * Child process for bridge-kill.test.ts: the production `serve` (bridge, spool, webhook sender) against
 * the parent's Realtime emulator. Environment: what `serve` reads (the parent sets the model, webhook and
 * spool variables). Prints `listening <port>`; exits when its stdin closes (the parent is gone).
 */
import { serve } from '../../src/cli/serve.js';
import { parseEnv } from '../../src/cli/env.js';
import { createLogger } from '../../src/log/logger.js';

process.stdin.on('end', () => process.exit(0));
process.stdin.resume();

const env = parseEnv(process.env);
// HANDLE_SIGNALS=1: SIGTERM drains as in production (the shutdown ending); otherwise the parent only kills.
const handleSignals = process.env.HANDLE_SIGNALS === '1';
const service = await serve(env, { logger: createLogger(env.LOG_LEVEL, process.stderr), handleSignals });
process.stdout.write(`listening ${service.server.port}\n`);
