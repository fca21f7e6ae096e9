/**
 * Field types shared by every environment shape (src/config/env.ts and the concern shapes src/cli/env.ts merges), so the same
 * kind of variable is parsed, and its error worded, the same way everywhere. Values arrive as strings.
 */
import { z } from 'zod';

/** true/false (also 1/0, yes/no). */
export const boolFromString = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** An integer from `min` to `max` in the given unit ("" for a plain count), every failure with one message. */
function integerInRange(min: number, max: number, unit: string) {
  const message = `must be an integer ${unit}from ${min} to ${max}`;
  return z.coerce.number({ message }).int({ message }).min(min, { message }).max(max, { message });
}

/** A count or other plain integer. */
export const intInRange = (min: number, max: number) => integerInRange(min, max, '');

/** A duration in milliseconds. */
export const msInRange = (min: number, max: number) => integerInRange(min, max, 'number of ms ');

/** A duration in seconds. */
export const secondsInRange = (min: number, max: number) => integerInRange(min, max, 'number of seconds ');

/** A number from 0 to 1 (thresholds). */
export const number01 = z.coerce
  .number({ message: 'must be a number from 0 to 1' })
  .min(0, { message: 'must be a number from 0 to 1' })
  .max(1, { message: 'must be a number from 0 to 1' });
