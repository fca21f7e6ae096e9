/**
 * The command line as a function: argv and a CliIo in, an exit code out (or SERVING for the commands that
 * keep running until a signal). `main.ts` is the thin wrapper that calls it and exits the process.
 */
import { ConfigError } from '../config/env.js';
import { ModelConnectionError } from '../realtime/connect-settings.js';
import type { CliIo } from './io.js';

export const USAGE = `Usage: audiohook-realtime <command> [options]

Commands:
  serve       Run the AudioHook server (configuration from the environment / .env)
  demo        Offline demo: bridge + Realtime emulator + a replayed sample call (no keys needed)
  replay      Act as Genesys: replay a recorded call against a deployment (replay --help)
  emulator    Serve the offline Realtime API emulator alone (emulator --help)
`;

/** Returned by `serve` and `emulator`: the process keeps running (until a signal). */
export const SERVING = -1;

/** Exit code of an unexpected failure (its message is one line on stderr). */
export const EXIT_FAILURE = 1;
/** Exit code of an unknown command. */
export const EXIT_USAGE = 2;

export async function runCommand(argv: string[], io: CliIo): Promise<number> {
  try {
    return await dispatch(argv, io);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof ModelConnectionError) io.stderr.write(`${err.message}\n`);
    else io.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT_FAILURE;
  }
}

async function dispatch(argv: string[], io: CliIo): Promise<number> {
  const [command = 'serve', ...rest] = argv;
  switch (command) {
    case 'serve': {
      // WORKERS processes behind one port, or the single process (serve-instance.ts).
      const { serveInstance } = await import('./serve-instance.js');
      const { loadEnvOrExit } = await import('./env.js');
      const { env, warnings } = loadEnvOrExit();
      await serveInstance(env, { configWarnings: warnings });
      return SERVING;
    }
    case 'emulator': {
      const { runEmulatorCli, EMULATOR_USAGE } = await import('../emulator/index.js');
      // runEmulatorCli answers --help by throwing; print the usage and exit 0 instead.
      if (rest.includes('--help') || rest.includes('-h')) {
        io.stdout.write(`${EMULATOR_USAGE}\n`);
        return 0;
      }
      await runEmulatorCli(rest, (line) => io.stdout.write(`${line}\n`));
      return SERVING;
    }
    case 'demo': {
      const { runDemo } = await import('./demo.js');
      return runDemo(rest, io);
    }
    case 'replay': {
      const { runReplayCli } = await import('./replay.js');
      return runReplayCli(rest, io);
    }
    case 'help':
    case '--help':
    case '-h':
      io.stdout.write(USAGE);
      return 0;
    default:
      io.stderr.write(`unknown command "${command}"\n\n${USAGE}`);
      return EXIT_USAGE;
  }
}
