/**
 * Real-socket helpers for server-level tests: the app server on 127.0.0.1:0 with captured logs, signed
 * upgrade headers, and a raw AudioHook client that numbers its messages and records what it receives.
 */
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import WebSocket from 'ws';
import { signRequest } from '../../src/audiohook/signature.js';
import { parseEnv } from '../../src/cli/env.js';
import { createLogger } from '../../src/log/logger.js';
import { createAppServer, type AppServer, type AppServerOptions } from '../../src/server/http.js';

export const API_KEY = 'server-test-key-1';
export const SECRET = Buffer.from('server test secret, 32 bytes....').toString('base64');
export const WAIT_MS = 10_000;

export function captureLogs(level = 'info') {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      callback();
    },
  });
  return { logger: createLogger(level as 'info', destination), lines };
}

export interface StartedApp {
  app: AppServer;
  port: number;
  base: string;
  logs: string[];
}

export async function startApp(envOverrides: Record<string, string> = {}, options: Partial<AppServerOptions> = {}): Promise<StartedApp> {
  const env = parseEnv({
    GENESYS_API_KEY: API_KEY,
    GENESYS_CLIENT_SECRET: SECRET,
    PORT: '0',
    HOST: '127.0.0.1',
    ...envOverrides,
  });
  const logs = captureLogs();
  const app = createAppServer({ env, logger: logs.logger, ...options });
  const { port } = await app.listen();
  return { app, port, base: `http://127.0.0.1:${port}`, logs: logs.lines };
}

export interface Ids {
  organizationId: string;
  sessionId: string;
  correlationId: string;
}
export const newIds = (): Ids => ({ organizationId: randomUUID(), sessionId: randomUUID(), correlationId: randomUUID() });

export interface HeaderOptions {
  path?: string;
  nonce?: string;
  /** Unix seconds. */
  created?: number;
  expires?: number;
  secret?: string;
}

export function signedHeaders(port: number, ids: Ids, options: HeaderOptions = {}): Record<string, string> {
  const signed = signRequest({
    path: options.path ?? '/audiohook',
    authority: `127.0.0.1:${port}`,
    ...ids,
    apiKey: API_KEY,
    clientSecretBase64: options.secret ?? SECRET,
    ...(options.nonce !== undefined ? { nonce: options.nonce } : {}),
    ...(options.created !== undefined ? { created: options.created } : {}),
    ...(options.expires !== undefined ? { expires: options.expires } : {}),
  });
  return {
    'Audiohook-Organization-Id': ids.organizationId,
    'Audiohook-Session-Id': ids.sessionId,
    'Audiohook-Correlation-Id': ids.correlationId,
    'X-API-KEY': API_KEY,
    Signature: signed.signature,
    'Signature-Input': signed.signatureInput,
  };
}

export type UpgradeResult = { kind: 'open'; ws: WebSocket } | { kind: 'rejected'; status: number; body: string };

export function upgrade(port: number, path: string, headers: Record<string, string>): Promise<UpgradeResult> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers, handshakeTimeout: WAIT_MS });
    ws.once('open', () => resolve({ kind: 'open', ws }));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ kind: 'rejected', status: res.statusCode ?? 0, body }));
    });
    ws.once('error', reject);
  });
}

export interface ServerMessageLike {
  type: string;
  seq: number;
  parameters: Record<string, unknown>;
}

/** A minimal Genesys-side client over a real socket: correct seq/serverseq, everything received recorded. */
export class RawClient {
  seq = 0;
  readonly received: ServerMessageLike[] = [];
  binaryBytes = 0;
  closeCode: number | null = null;
  private readonly waiters = new Set<() => void>();

  private constructor(
    readonly ws: WebSocket,
    readonly ids: Ids,
  ) {
    ws.on('message', (data, isBinary) => {
      if (isBinary) this.binaryBytes += (data as Buffer).length;
      else this.received.push(JSON.parse(data.toString()) as ServerMessageLike);
      this.notify();
    });
    ws.on('close', (code) => {
      this.closeCode = code;
      this.notify();
    });
  }

  static async connect(port: number, path = '/audiohook', ids = newIds()): Promise<RawClient> {
    const result = await upgrade(port, path, signedHeaders(port, ids, { path }));
    if (result.kind !== 'open') throw new Error(`upgrade refused: ${result.status} ${result.body}`);
    return new RawClient(result.ws, ids);
  }

  private notify(): void {
    for (const waiter of this.waiters) waiter();
  }

  get types(): string[] {
    return this.received.map((m) => m.type);
  }

  envelope(type: string, parameters: Record<string, unknown> = {}): string {
    this.seq++;
    const serverseq = this.received.length === 0 ? 0 : this.received[this.received.length - 1]!.seq;
    return JSON.stringify({ version: '2', id: this.ids.sessionId, type, seq: this.seq, serverseq, position: 'PT0S', parameters });
  }

  send(type: string, parameters: Record<string, unknown> = {}): void {
    this.ws.send(this.envelope(type, parameters));
  }

  async open(): Promise<void> {
    this.send('open', {
      organizationId: this.ids.organizationId,
      conversationId: randomUUID(),
      participant: { id: randomUUID(), ani: '+15550100', aniName: 'Caller', dnis: '+15550199' },
      media: [{ type: 'audio', format: 'PCMU', channels: ['external'], rate: 8000 }],
    });
    await this.waitFor(() => this.types.includes('opened'), 'opened');
  }

  /** Resolves when the condition holds; rejects after WAIT_MS. */
  waitFor(condition: () => boolean, what: string, timeoutMs = WAIT_MS): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!condition()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out waiting for ${what}; received ${this.types.join(',')}, close ${this.closeCode}`));
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  waitForClose(): Promise<number> {
    return this.waitFor(() => this.closeCode !== null, 'socket close').then(() => this.closeCode!);
  }
}

/** Lets socket I/O in flight be processed (a few event-loop turns; not a timing assertion). */
export const settle = (ms = 100) => new Promise((resolve) => setTimeout(resolve, ms));
