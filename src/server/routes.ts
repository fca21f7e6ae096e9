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
