/** Edge parsing of one client WebSocket message into a validated GA client event or OpenAI's error body. */
import { CLIENT_EVENT_TYPES, clientEventSchemas, isClientEventType, type ClientEvent } from './client-events.js';
import { errorFromZod, invalidRequest, type RealtimeErrorBody } from './errors.js';

export type ParsedClientEvent = { ok: true; event: ClientEvent } | { ok: false; error: RealtimeErrorBody; type: string | null };

export function parseClientEvent(text: string): ParsedClientEvent {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return {
      ok: false,
      type: null,
      error: invalidRequest('invalid_json', "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly.)"),
    };
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    return { ok: false, type: null, error: invalidRequest('invalid_type', 'Invalid type for event: expected an object.', null) };
  }
  const record = json as Record<string, unknown>;
  const clientEventId = typeof record.event_id === 'string' ? record.event_id : null;
  const type = record.type;
  if (typeof type !== 'string') {
    return { ok: false, type: null, error: invalidRequest('missing_required_parameter', "Missing required parameter: 'type'.", 'type', clientEventId) };
  }
  if (!isClientEventType(type)) {
    return {
      ok: false,
      type,
      error: invalidRequest(
        'invalid_value',
        `Invalid value: '${type}'. Supported values are: ${CLIENT_EVENT_TYPES.map((t) => `'${t}'`).join(', ')}.`,
        'type',
        clientEventId,
      ),
    };
  }
  const result = clientEventSchemas[type].safeParse(json);
  if (!result.success) return { ok: false, type, error: errorFromZod(result.error, json, clientEventId) };
  return { ok: true, event: result.data as ClientEvent };
}
