/** Writing a plain HTTP response onto a raw socket (an upgrade request we refuse). */
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

export interface PlainResponse {
  status: number;
  /** Short text, e.g. "signature expired"; the status line text is prepended. */
  reason?: string;
  headers?: Record<string, string>;
}

/** The body text: "401 Unauthorized: signature expired". */
export function responseBody(response: PlainResponse): string {
  const status = `${response.status} ${STATUS_CODES[response.status] ?? ''}`.trim();
  return response.reason ? `${status}: ${response.reason}\n` : `${status}\n`;
}

/** Writes the response and closes the socket once it is flushed. Safe on an already-destroyed socket. */
export function writeResponseAndClose(socket: Duplex, response: PlainResponse): void {
  if (socket.destroyed) return;
  const body = responseBody(response);
  const headers = {
    Connection: 'close',
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(body)),
    ...response.headers,
  };
  const head = [`HTTP/1.1 ${response.status} ${STATUS_CODES[response.status] ?? ''}`];
  for (const [name, value] of Object.entries(headers)) head.push(`${name}: ${value}`);
  socket.once('finish', () => socket.destroy());
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
}
