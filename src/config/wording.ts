/**
 * Our wording for every configuration problem zod finds. Field builders (env-fields.ts) carry their own
 * messages; this covers what a shape leaves to zod (a bare `z.enum`, `.url()`, `.min(1)` …), so an
 * operator never reads "Invalid option: expected one of …" or "received undefined".
 */
import type { z } from 'zod';

type Issue = z.core.$ZodRawIssue;

const list = (values: readonly unknown[]) => {
  const words = values.map(String);
  return words.length <= 1 ? words.join('') : `${words.slice(0, -1).join(', ')} or ${words.at(-1)}`;
};

const FORMATS: Record<string, string> = {
  url: 'must be a URL',
  email: 'must be an email address',
  uuid: 'must be a UUID',
  regex: 'has an invalid format',
};

/** A message for one issue, phrased to follow the variable's name ("PORT must be …"). */
export function describeIssue(issue: Issue): string {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'is required';
      return issue.expected === 'int' || issue.expected === 'number' ? 'must be a number' : `must be a ${String(issue.expected)}`;
    case 'invalid_value':
      return `must be one of ${list(issue.values)}`;
    case 'too_small':
      if (issue.origin === 'string') return Number(issue.minimum) <= 1 ? 'must not be empty' : `must be at least ${String(issue.minimum)} characters`;
      return `must be at least ${String(issue.minimum)}`;
    case 'too_big':
      if (issue.origin === 'string') return `must be at most ${String(issue.maximum)} characters`;
      return `must be at most ${String(issue.maximum)}`;
    case 'invalid_format':
      return FORMATS[issue.format] ?? `must be a valid ${issue.format}`;
    default:
      return 'is not a valid value';
  }
}

/** Passed to `safeParse(…, { error })`: our wording wherever a schema gives no message of its own. */
export const ourWording = (issue: Issue): string => describeIssue(issue);
