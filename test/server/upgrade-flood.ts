/**
 * Load generator for the authentication-abuse test, run as a separate process so the server's event loop
 * is measured alone: `tsx upgrade-flood.ts <port> <total> <concurrency>`. Sends WebSocket upgrade requests
 * signed with a wrong secret (a well-formed forgery) over raw TCP and prints {"statuses":{…}} as JSON.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { signRequest } from '../../src/audiohook/signature.js';

const [portArg, totalArg, concurrencyArg] = process.argv.slice(2);
const port = Number(portArg);
const total = Number(totalArg);
const concurrency = Number(concurrencyArg);
const wrongSecret = randomBytes(32).toString('base64');

function request(): string {
  const ids = { organizationId: randomUUID(), sessionId: randomUUID(), correlationId: randomUUID() };
  const apiKey = 'server-test-key-1';
  const signed = signRequest({ path: '/audiohook', authority: `127.0.0.1:${port}`, ...ids, apiKey, clientSecretBase64: wrongSecret });
  return [
    'GET /audiohook HTTP/1.1',
    `Host: 127.0.0.1:${port}`,
    'Connection: Upgrade',
    'Upgrade: websocket',
    'Sec-WebSocket-Version: 13',
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
    `Audiohook-Organization-Id: ${ids.organizationId}`,
    `Audiohook-Session-Id: ${ids.sessionId}`,
    `Audiohook-Correlation-Id: ${ids.correlationId}`,
    `X-API-KEY: ${apiKey}`,
    `Signature: ${signed.signature}`,
    `Signature-Input: ${signed.signatureInput}`,
    '',
    '',
  ].join('\r\n');
}

function attempt(): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let head = '';
    socket.setEncoding('latin1');
    socket.on('connect', () => socket.write(request()));
    socket.on('data', (chunk: string) => (head += chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 'no-response'));
  });
}

const statuses: Record<string, number> = {};
let next = 0;
async function worker(): Promise<void> {
  while (next < total) {
    next++;
    const status = await attempt();
    statuses[status] = (statuses[status] ?? 0) + 1;
  }
}
await Promise.all(Array.from({ length: concurrency }, () => worker()));
process.stdout.write(`${JSON.stringify({ statuses })}\n`);
