#!/usr/bin/env node
/**
 * audiohook-realtime command line: `serve` (production), `emulator` (offline Realtime stand-in),
 * `demo` (bridge + emulator + a replayed call, no keys needed) and `replay` (act as Genesys).
 */
import { ConfigError } from '../config/env.js';
import { ModelConnectionError } from '../realtime/connection.js';
import { loadEnvOrExit } from './env.js';

const USAGE = `Usage: audiohook-realtime <command> [options]

Commands:
  serve       Run the AudioHook server (configuration from the environment / .env)
  demo        Offline demo: bridge + Realtime emulator + a replayed sample call (no keys needed)
  replay      Act as Genesys: replay a recorded call against a deployment (replay --help)
  emulator    Serve the offline Realtime API emulator alone (emulator --help)
`;

async function main(argv: string[]): Promise<number> {
  const [command = 'serve', ...rest] = argv;
  switch (command) {
    case 'serve': {
      const { serve } = await import('./serve.js');
      const { env, warnings } = loadEnvOrExit();
      await serve(env, { configWarnings: warnings });
      return -1; // keeps running until a signal
    }
    case 'emulator': {
      const { runEmulatorCli, EMULATOR_USAGE } = await import('../emulator/index.js');
      // runEmulatorCli answers --help by throwing; print the usage and exit 0 instead.
      if (rest.includes('--help') || rest.includes('-h')) {
        process.stdout.write(`${EMULATOR_USAGE}\n`);
        return 0;
      }
      await runEmulatorCli(rest);
      return -1;
    }
    case 'demo': {
      const { runDemo } = await import('./demo.js');
      return runDemo(rest);
    }
    case 'replay': {
      const { runReplayCli } = await import('./replay.js');
      return runReplayCli(rest);
    }
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return 0;
    default:
      process.stderr.write(`unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    if (err instanceof ConfigError || err instanceof ModelConnectionError) {
      process.stderr.write(`${err.message}\n`);
    } else {
      process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    }
    process.exit(1);
  },
);
