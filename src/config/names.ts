/**
 * Variables that look like ours but are not: a misspelt name is otherwise silently ignored and its
 * default applies (OPENAI_VOCIE=cedar leaves the voice at marin). Pure: names in, warnings out.
 */

/** Optimal-string-alignment distance (insertions, deletions, substitutions, adjacent swaps). */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array<number>(rows * cols).fill(0);
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[(i - 1) * cols + j]! + 1, d[i * cols + j - 1]! + 1, d[(i - 1) * cols + j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[(i - 2) * cols + j - 2]! + 1);
      d[i * cols + j] = best;
    }
  }
  return d[rows * cols - 1]!;
}

/** The known name closest to `name`, if it is close enough to be a typo (about one edit per four letters). */
export function nearestName(name: string, known: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const distance = editDistance(name, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 4)) ? best : undefined;
}

export interface UnknownNameOptions {
  /** Every variable the process reads (from the composed schema). */
  known: Iterable<string>;
  /** Prefixes that mark a variable as ours. */
  prefixes: readonly string[];
  /** Names with one of our prefixes that another component reads (an SDK's own variables). */
  othersNames?: readonly string[];
}

/** One warning per set variable that carries our prefix but that nothing reads, with the nearest known name. */
export function unknownNameWarnings(names: Iterable<string>, options: UnknownNameOptions): string[] {
  const known = new Set(options.known);
  const others = new Set(options.othersNames ?? []);
  const warnings: string[] = [];
  for (const name of [...names].sort()) {
    if (known.has(name) || others.has(name)) continue;
    if (!options.prefixes.some((p) => name.startsWith(p))) continue;
    const near = nearestName(name, known);
    warnings.push(
      near === undefined
        ? `${name} is not a setting of audiohook-realtime and is ignored`
        : `${name} is not a setting of audiohook-realtime and is ignored: did you mean ${near}?`,
    );
  }
  return warnings;
}
