/**
 * What a CLI command may touch of its process, passed in so the commands run in-process (tests) exactly as
 * they do from the binary: output streams, the environment, the working directory and Ctrl-C.
 */

/** A place to write text: process.stdout/stderr, or a buffer in tests. */
export interface TextOut {
  write(text: string): unknown;
  /** True on a terminal (live progress is drawn only there). */
  readonly isTTY?: boolean;
}

export interface CliIo {
  stdout: TextOut;
  stderr: TextOut;
  env: NodeJS.ProcessEnv;
  /** Relative paths on the command line resolve against this directory. */
  cwd: string;
  /** Registers a Ctrl-C handler for one press (the next press gets the default: kill); returns its removal. */
  onInterrupt(handler: () => void): () => void;
}

/** The real process: stdout, stderr, process.env, the current directory and SIGINT. */
export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    onInterrupt: (handler) => {
      process.once('SIGINT', handler);
      return () => process.off('SIGINT', handler);
    },
  };
}
