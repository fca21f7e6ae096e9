/**
 * Small, deliberately scriptable AudioHook servers for proving the simulator can fail. Each connection
 * gets a FakeConnection that numbers its messages like a server would, unless a test overrides that.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

export interface ClientMsg {
  type: string;
  seq: number;
  serverseq: number;
  position: string;
  id: string;
  parameters: Record<string, any>;
}

export class FakeConnection {
  serverSeq = 0;
  lastClientSeq = 0;
  readonly received: ClientMsg[] = [];
  readonly receivedBinary: Buffer[] = [];
  readonly sessionId: string;
  private handlers: Array<(msg: ClientMsg) => void> = [];

  constructor(
    readonly ws: WebSocket,
    readonly headers: IncomingHttpHeaders,
  ) {
    this.sessionId = String(headers['audiohook-session-id']);
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        this.receivedBinary.push(data as Buffer);
        return;
      }
      const msg = JSON.parse(String(data)) as ClientMsg;
      this.lastClientSeq = msg.seq;
      this.received.push(msg);
      for (const h of this.handlers) h(msg);
    });
  }

  on(handler: (msg: ClientMsg) => void): void {
    this.handlers.push(handler);
  }

  send(type: string, parameters: unknown = {}, overrides: Record<string, unknown> = {}): void {
    const message = { version: '2', id: this.sessionId, type, seq: ++this.serverSeq, clientseq: this.lastClientSeq, parameters, ...overrides };
    this.ws.send(JSON.stringify(message));
  }

  sendBinary(bytes: number): void {
    this.ws.send(new Uint8Array(bytes).fill(0xff));
  }

  /** Correct answers: opened (first offer), pong, closed. Overridable per type. */
  behaveCorrectly(except: Partial<Record<string, (msg: ClientMsg) => void>> = {}): void {
    this.on((msg) => {
      const custom = except[msg.type];
      if (custom) return custom(msg);
      if (msg.type === 'open') this.send('opened', { startPaused: false, media: msg.parameters.media.slice(0, 1) });
      else if (msg.type === 'ping') this.send('pong');
      else if (msg.type === 'close') this.send('closed');
    });
  }
}

export interface FakeServer {
  url: string;
  connections: FakeConnection[];
  close(): Promise<void>;
}

export async function startFakeServer(onConnection: (conn: FakeConnection) => void): Promise<FakeServer> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const connections: FakeConnection[] = [];
  wss.on('connection', (ws, req) => {
    const conn = new FakeConnection(ws, req.headers);
    connections.push(conn);
    onConnection(conn);
  });
  const { port } = wss.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/audiohook/bot-1`,
    connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => resolve());
      }),
  };
}
