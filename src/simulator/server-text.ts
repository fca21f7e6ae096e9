/**
 * The stateless half of checking one server text message as Genesys does: size, JSON, envelope, version and
 * the strict schema. What depends on the session (id, seq, clientseq, state) stays in ClientSession.
 */
import { describeZodError, MAX_TEXT_MESSAGE_CHARS, parseServerMessage, PROTOCOL_VERSION, type ServerMessage } from '../audiohook/schemas.js';
import type { ViolationCode } from './violations.js';

export type ServerTextCheck =
  | { ok: true; message: ServerMessage; label: string; logged: unknown }
  | { ok: false; code: ViolationCode; reason: string; logged: unknown };

/** Validates a server text message; `logged` is what the session's message log keeps of it (bounded). */
export function checkServerText(text: string): ServerTextCheck {
  if (text.length > MAX_TEXT_MESSAGE_CHARS) {
    return { ok: false, code: 'text-too-large', reason: `text message of ${text.length} characters exceeds ${MAX_TEXT_MESSAGE_CHARS}`, logged: `${text.slice(0, 200)}…` };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, code: 'malformed-json', reason: 'server text message is not JSON', logged: text };
  }
  const fail = (code: ViolationCode, reason: string): ServerTextCheck => ({ ok: false, code, reason, logged: json });
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return fail('invalid-message', 'server message is not a JSON object');
  const raw = json as Record<string, unknown>;
  const label = `${String(raw.type)} (seq ${String(raw.seq)})`;
  if (!Object.hasOwn(raw, 'parameters')) return fail('missing-parameters', `${label} has no parameters`);
  if (raw.version !== PROTOCOL_VERSION) return fail('wrong-version', `${label} has version ${JSON.stringify(raw.version)}, expected "2"`);
  const rawParams = raw.parameters as Record<string, unknown> | null;
  if (raw.type === 'opened' && Array.isArray(rawParams?.media) && rawParams.media.length > 1) {
    return fail('opened-media-invalid', `opened.media must hold one offered entry or none, got ${rawParams.media.length}`);
  }
  const parsed = parseServerMessage(json);
  if (!parsed.success) return fail('invalid-message', `${label}: ${describeZodError(parsed.error)}`);
  return { ok: true, message: parsed.data, label, logged: json };
}
