/** Which upgrade paths are AudioHook endpoints, and the Connector ID Genesys appends to the base path. */

/**
 * The Connector ID for a request target under `basePath` ('' for the base path itself), or undefined
 * when the path is not ours. The Connector ID is the rest of the path without the leading slash,
 * percent-decoded, query excluded; it may contain further slashes. Invalid percent-encoding is not ours.
 */
export function connectorIdFor(requestTarget: string, basePath: string): string | undefined {
  const path = pathOf(requestTarget);
  let rest: string;
  if (basePath === '/') {
    if (!path.startsWith('/')) return undefined;
    rest = path.slice(1);
  } else if (path === basePath) {
    rest = '';
  } else if (path.startsWith(`${basePath}/`)) {
    rest = path.slice(basePath.length + 1);
  } else {
    return undefined;
  }
  try {
    return decodeURIComponent(rest);
  } catch {
    return undefined;
  }
}

/** The path without the query string. */
export function pathOf(requestTarget: string): string {
  const queryAt = requestTarget.indexOf('?');
  return queryAt >= 0 ? requestTarget.slice(0, queryAt) : requestTarget;
}

/** Longest Connector ID accepted (it is repeated on every log line of the call and in the webhook record). */
export const MAX_CONNECTOR_ID_CHARS = 128;
/**
 * Path segments of unreserved URI characters (RFC 3986 §2.3), `/`-separated, no empty, `.` or `..`
 * segment. [U] Genesys does not document the Connector ID's alphabet; these are the characters that
 * survive every URL and log unescaped, so a configured ID made of anything else is refused loudly (400)
 * rather than passed on.
 */
const CONNECTOR_ID = /^[A-Za-z0-9_~-][A-Za-z0-9._~-]*(?:\/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)*$/;

/** Whether a Connector ID (as connectorIdFor returns it) may be used: '' (the base path) or valid segments. */
export function isValidConnectorId(id: string): boolean {
  if (id === '') return true;
  if (id.length > MAX_CONNECTOR_ID_CHARS || !CONNECTOR_ID.test(id)) return false;
  return !id.split('/').some((segment) => segment === '.' || segment === '..');
}
