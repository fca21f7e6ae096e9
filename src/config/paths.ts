/**
 * Settings that name a file or directory are checked at start-up, so a wrong path stops the process with
 * the variable's name instead of a bare ENOENT at the first call (or never, for a spool that is only
 * written when a webhook fails).
 */
import { accessSync, constants, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** A file the process reads, or a directory it creates (if missing) and writes. */
export type PathKind = 'readable-file' | 'writable-directory';

/** The kind a setting's name implies when its shape does not say: `…_FILE` is read, `…_DIR` written. */
export function pathKindByName(name: string): PathKind | undefined {
  if (name.endsWith('_FILE')) return 'readable-file';
  if (name.endsWith('_DIR')) return 'writable-directory';
  return undefined;
}

function reason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'does not exist';
  if (code === 'EACCES' || code === 'EPERM') return 'is not accessible to this process';
  if (code === 'ENOTDIR') return 'has a file where a directory is expected';
  return `cannot be used (${code ?? (err as Error).message})`;
}

/** A problem ("REALTIME_CA_FILE: /x.pem does not exist"), or undefined when the path is usable. */
export function pathProblem(name: string, path: string, kind: PathKind): string | undefined {
  const absolute = resolve(path);
  if (kind === 'readable-file') {
    try {
      if (!statSync(absolute).isFile()) return `${name}: ${path} is not a file`;
      accessSync(absolute, constants.R_OK);
      return undefined;
    } catch (err) {
      return `${name}: ${path} ${reason(err)} (it must be a readable file)`;
    }
  }
  // A directory: created on first use (mkdir -p), so the nearest existing ancestor must be writable.
  let dir = absolute;
  for (;;) {
    try {
      if (!statSync(dir).isDirectory()) return `${name}: ${dir} is not a directory`;
      accessSync(dir, constants.W_OK | constants.X_OK);
      return undefined;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && dirname(dir) !== dir) {
        dir = dirname(dir);
        continue;
      }
      return `${name}: ${dir === absolute ? path : dir} ${reason(err)} (it must be a writable directory)`;
    }
  }
}
