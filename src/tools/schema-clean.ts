/**
 * JSON Schemas from MCP servers and Data Action contracts cleaned into Realtime function `parameters`.
 *
 * Kept: an allow-list of keywords that plain (non-strict) function calling understands. `$ref` into
 * `$defs`/`definitions` is inlined (cycles and depth beyond MAX_DEPTH become `{}`); `oneOf` becomes
 * `anyOf`; type unions drop "null" (properties that are only null are removed); `default` moves into the
 * description. Arrays without `items` and objects without `properties` get empty ones: OpenAI rejects
 * "array schema missing items" / "object schema missing properties" (TOOLS.md §1.4). Everything else
 * ($schema, $id, title, format, pattern, examples, vendor keywords …) is dropped — the tool validates its
 * own input, and an unknown keyword must never make `session.update` fail for the whole call.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonSchema = { [key: string]: Json };

const MAX_DEPTH = 12;
const KEEP_AS_IS = new Set(['type', 'description', 'enum', 'minimum', 'maximum', 'minItems', 'maxItems', 'minLength', 'maxLength']);
const MAX_DESCRIPTION = 1024;

function isObject(value: unknown): value is JsonSchema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The top-level `parameters` of a function: always an object schema with `properties`. */
export function cleanParametersSchema(input: unknown): JsonSchema {
  const root = isObject(input) ? input : {};
  const defs = { ...(isObject(root.definitions) ? root.definitions : {}), ...(isObject(root.$defs) ? root.$defs : {}) };
  const cleaned = cleanNode(root, defs, 0, new Set()) ?? {};
  return {
    ...cleaned,
    type: 'object',
    properties: isObject(cleaned.properties) ? cleaned.properties : {},
  };
}

function resolveRef(ref: string, defs: JsonSchema): JsonSchema | undefined {
  const match = /^#\/(?:\$defs|definitions)\/(.+)$/.exec(ref);
  if (!match) return undefined;
  const target = defs[decodeURIComponent(match[1]!.replace(/~1/g, '/').replace(/~0/g, '~'))];
  return isObject(target) ? target : undefined;
}

/** One schema node; undefined when it describes only `null` (the caller then drops it). */
function cleanNode(node: JsonSchema, defs: JsonSchema, depth: number, refs: Set<string>): JsonSchema | undefined {
  if (depth > MAX_DEPTH) return {};
  if (typeof node.$ref === 'string') {
    const ref = node.$ref;
    const target = refs.has(ref) ? undefined : resolveRef(ref, defs);
    if (!target) return {};
    const { $ref: _ignored, ...rest } = node;
    return cleanNode({ ...target, ...rest }, defs, depth + 1, new Set([...refs, ref]));
  }
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(node)) {
    if (KEEP_AS_IS.has(key)) out[key] = value;
  }
  if (Array.isArray(out.type)) {
    const types = out.type.filter((t) => t !== 'null');
    if (types.length === 0) return undefined;
    out.type = types.length === 1 ? types[0]! : types;
  } else if (out.type === 'null') {
    return undefined;
  }
  if (typeof out.description === 'string' && out.description.length > MAX_DESCRIPTION) {
    out.description = `${out.description.slice(0, MAX_DESCRIPTION - 1)}…`;
  }
  if (node.default !== undefined) {
    const note = `Default: ${JSON.stringify(node.default).slice(0, 100)}.`;
    out.description = typeof out.description === 'string' ? `${out.description} ${note}` : note;
  }
  const variants = Array.isArray(node.anyOf) ? node.anyOf : Array.isArray(node.oneOf) ? node.oneOf : undefined;
  if (variants) {
    const cleaned = variants.filter(isObject).map((v) => cleanNode(v, defs, depth + 1, refs)).filter((v) => v !== undefined);
    if (cleaned.length === 1) Object.assign(out, cleaned[0]);
    else if (cleaned.length > 1) out.anyOf = cleaned;
  }
  if (Array.isArray(node.allOf)) {
    // Merge object parts (the common use: composition of property sets).
    for (const part of node.allOf.filter(isObject)) {
      const cleaned = cleanNode(part, defs, depth + 1, refs);
      if (!cleaned) continue;
      if (isObject(cleaned.properties)) out.properties = { ...(isObject(out.properties) ? out.properties : {}), ...cleaned.properties };
      if (Array.isArray(cleaned.required)) out.required = [...new Set([...(Array.isArray(out.required) ? out.required : []), ...cleaned.required])];
      if (out.type === undefined && cleaned.type !== undefined) out.type = cleaned.type;
    }
  }
  const isObjectType = out.type === 'object' || (out.type === undefined && isObject(node.properties));
  if (isObjectType) {
    out.type = 'object';
    const properties: JsonSchema = isObject(out.properties) ? { ...out.properties } : {};
    if (isObject(node.properties)) {
      for (const [name, sub] of Object.entries(node.properties)) {
        if (!isObject(sub)) continue;
        const cleaned = cleanNode(sub, defs, depth + 1, refs);
        if (cleaned) properties[name] = cleaned;
      }
    }
    out.properties = properties;
    const required = [...(Array.isArray(out.required) ? out.required : []), ...(Array.isArray(node.required) ? node.required : [])];
    const present = [...new Set(required.filter((r): r is string => typeof r === 'string' && r in properties))];
    if (present.length > 0) out.required = present;
    else delete out.required;
    if (typeof node.additionalProperties === 'boolean') out.additionalProperties = node.additionalProperties;
  }
  if (out.type === 'array') {
    const items = isObject(node.items) ? cleanNode(node.items, defs, depth + 1, refs) : undefined;
    out.items = items ?? {};
  }
  return out;
}
