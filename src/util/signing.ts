/** HMAC-SHA256 body signatures shared by every outgoing signed POST (summary webhook, HTTP tools). */
import { createHmac } from 'node:crypto';

/** `sha256=<hex HMAC-SHA256 of the exact body>`, the value of the `X-Signature` header. */
export function signBody(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}
