/**
 * OpenAI-looking ids (`sess_…`, `item_…`, `resp_…`, `event_…`, `call_…`). Random suffixes so ids from
 * concurrent sessions never collide, the same way the real API's ids are opaque.
 */
import { randomBytes } from 'node:crypto';

export type IdPrefix = 'sess' | 'item' | 'resp' | 'event' | 'call' | 'conv';

export function newId(prefix: IdPrefix): string {
  return `${prefix}_${randomBytes(12).toString('base64url').replace(/[-_]/g, 'x').slice(0, 16)}`;
}
