/**
 * `open.parameters.language` / `update.parameters.language` as a language tag (AUDIOHOOK.md §5.1: RI's
 * regex is `^[a-z]{2,3}-[A-Za-z]{2,3}$`; real traffic sends e.g. "es-es"). We accept a little more (a bare
 * primary subtag, script and variant subtags: BCP 47's shape) and lowercase it, as RI does. The value is
 * caller-influenced data that reaches logs, the model's instructions and the webhook, so anything else
 * is not used at all. [U] A malformed tag from a real Genesys is not expected; ignoring it (the call goes
 * on in the configured language) is safer than ending the call.
 */
const LANGUAGE_TAG = /^[a-z]{2,3}(?:-[a-z0-9]{2,8}){0,3}$/;
/** BCP 47 recommends supporting tags of at least 35 characters. */
const MAX_LANGUAGE_TAG_CHARS = 35;

/** The lowercased tag, or undefined when `value` is absent or not a language tag. */
export function languageTag(value: string | undefined): string | undefined {
  if (value === undefined || value.length > MAX_LANGUAGE_TAG_CHARS) return undefined;
  const lower = value.toLowerCase();
  return LANGUAGE_TAG.test(lower) ? lower : undefined;
}

/** A client's `language` parameter: its tag, or how long the rejected value was (the value itself is not logged). */
export function clientLanguage(value: string | undefined): { tag: string | undefined; ignoredChars?: number } {
  const tag = languageTag(value);
  return value !== undefined && tag === undefined ? { tag, ignoredChars: value.length } : { tag };
}
