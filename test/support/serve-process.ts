/**
 * `serve` as a real child process (the repo's Node + tsx), configured only by environment, against the
 * Realtime emulator: the base every multi-process test (cluster, fleet, drain, console relay) starts from.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSX_LOADER = pathToFileURL(join(REPO_ROOT, 'node_modules/tsx/dist/loader.mjs')).href;
const MAIN = join(REPO_ROOT, 'src/cli/main.ts');

export interface ServeProcessOptions {
  cwd: string;
  apiKey: string;
  clientSecret: string;
  model: { baseURL: string; caPath: string };
  /** Added to (and overriding) the base environment. */
  env?: Record<string, string>;
}

export function spawnServe(options: ServeProcessOptions): ChildProcess {
  return spawn(process.execPath, ['--import', TSX_LOADER, MAIN, 'serve'], {
    cwd: options.cwd,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
      GENESYS_API_KEY: options.apiKey,
      GENESYS_CLIENT_SECRET: options.clientSecret,
      OPENAI_API_KEY: 'sk-emulator',
      OPENAI_BASE_URL: options.model.baseURL,
      REALTIME_CA_FILE: options.model.caPath,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}
