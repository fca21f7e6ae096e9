/** Connects one `ws` WebSocket to one protocol session: the socket adapter and the event routing. */
import type { Logger } from 'pino';
import { WebSocket, type RawData } from 'ws';
import type { ProtocolSession, ProtocolSocket } from '../audiohook/call.js';

/** Presents a `ws` WebSocket as the ProtocolSocket the session writes to. */
export function protocolSocketFor(ws: WebSocket): ProtocolSocket {
  return {
    sendText: (text) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(text);
    },
    sendBinary: (data) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(data, { binary: true });
    },
    close: () => {
      // ws.close() starts the closing handshake; ws terminates the TCP connection itself if the peer
      // does not answer within its close timeout.
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close();
    },
    get bufferedAmount() {
      return ws.bufferedAmount;
    },
  };
}

function asBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/**
 * Feeds socket events to the session. A session that throws is a bug in it; it is logged and only
 * that connection is dropped, never the process or other sessions.
 */
export function routeSocketEvents(ws: WebSocket, session: ProtocolSession, logger: Logger): void {
  const guarded = (what: string, action: () => void) => {
    try {
      action();
    } catch (err) {
      logger.error({ err, event: what }, 'protocol session threw; dropping the connection');
      ws.terminate();
    }
  };
  ws.on('message', (data, isBinary) => {
    const buffer = asBuffer(data);
    if (isBinary) guarded('binary', () => session.handleBinary(buffer));
    else guarded('text', () => session.handleText(buffer.toString('utf8')));
  });
  ws.on('close', (code) => guarded('close', () => session.handleSocketClosed(code)));
  ws.on('error', (err) => {
    // ws reports protocol violations (oversized or invalid frames) here; 'close' follows.
    logger.warn({ err: { message: err.message, code: (err as { code?: string }).code } }, 'websocket error');
    ws.terminate();
  });
}
