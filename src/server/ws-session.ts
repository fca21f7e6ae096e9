/** Connects one `ws` WebSocket to one protocol session: the socket adapter and the event routing. */
import type { Logger } from 'pino';
import { WebSocket, type RawData } from 'ws';
import type { ProtocolSession, ProtocolSocket } from '../audiohook/handler.js';
import { readingVerdict, type OutboundBackpressure } from './backpressure.js';
import type { BackpressureEvent } from './metrics.js';

/**
 * The WebSocket read limit for one binary message (the reference server's maxPayload). Genesys audio
 * messages are at most MAX_AUDIO_MESSAGE_BYTES (64,000); the socket's payload limit is higher so that
 * oversize text reaches the session (which answers it with `disconnect error`), but binary is cut off here.
 */
export const WEBSOCKET_BINARY_READ_LIMIT_BYTES = 65_536;
/** RFC 6455 close code "message too big". */
const MESSAGE_TOO_BIG = 1009;

/** One socket's outbound back-pressure, as the adapter and the server's periodic sweep use it. */
export interface OutboundWatch {
  /** Judges the send queue now; false while audio must be refused (or the connection was just ended). */
  acceptsAudio(): boolean;
  /**
   * After any message was queued, and when a queued one was written: pauses reading from the peer over
   * the mark, resumes under it, ends the connection at the hard cap. False once the connection is ended.
   */
  checkQueue(): boolean;
}

/**
 * Applies an OutboundBackpressure to a socket: logs once when audio starts and stops being refused, and
 * terminates the connection when the peer has stalled (the session then hears a dropped socket).
 */
export function watchOutbound(
  ws: WebSocket,
  tracker: OutboundBackpressure,
  logger: Logger,
  report?: (event: BackpressureEvent) => void,
): OutboundWatch {
  let refusing = false;
  let ended = false;
  let paused = false;
  const checkQueue = (): boolean => {
    if (ended) return false;
    const bufferedAmount = ws.bufferedAmount;
    const verdict = readingVerdict(bufferedAmount, paused, tracker.limits);
    if (verdict === 'terminate') {
      ended = true;
      logger.warn({ bufferedAmount, limit: tracker.limits.hardCapBytes }, 'send queue over the hard cap; ending the connection');
      report?.('overflow');
      ws.terminate();
      return false;
    }
    if (verdict === 'pause') {
      paused = true;
      logger.warn({ bufferedAmount }, 'peer not reading; no longer reading from it until it catches up');
      report?.('reading_paused');
      ws.pause();
    } else if (verdict === 'resume') {
      paused = false;
      logger.info({ bufferedAmount }, 'peer caught up; reading from it again');
      ws.resume();
    }
    return true;
  };
  return {
    checkQueue,
    acceptsAudio: () => {
      if (!checkQueue()) return false;
      const bufferedAmount = ws.bufferedAmount;
      const verdict = tracker.observe(bufferedAmount);
      if (verdict === 'stalled') {
        ended = true;
        logger.warn({ bufferedAmount, congestedMs: tracker.congestedForMs() }, 'peer stopped reading; ending the connection');
        report?.('stalled');
        ws.terminate();
        return false;
      }
      if (verdict === 'refuse-audio' && !refusing) {
        refusing = true;
        logger.warn({ bufferedAmount, episode: tracker.episodes }, 'peer not keeping up; refusing outbound audio');
        report?.('congested');
      } else if (verdict === 'ok' && refusing) {
        refusing = false;
        logger.info({ bufferedAmount }, 'peer caught up; sending audio again');
      }
      return verdict === 'ok';
    },
  };
}

/** Presents a `ws` WebSocket as the ProtocolSocket the session writes to. */
export function protocolSocketFor(ws: WebSocket, outbound?: OutboundWatch): ProtocolSocket {
  // Re-judged when a message has been handed to the kernel, so a paused peer is read again promptly.
  const written = outbound ? () => void outbound.checkQueue() : undefined;
  return {
    sendText: (text) => {
      if (ws.readyState !== WebSocket.OPEN) return;
      ws.send(text, written);
      outbound?.checkQueue();
    },
    sendBinary: (data) => {
      if (ws.readyState !== WebSocket.OPEN) return;
      ws.send(data, { binary: true }, written);
      outbound?.checkQueue();
    },
    close: () => {
      // ws.close() starts the closing handshake; ws terminates the TCP connection itself if the peer
      // does not answer within its close timeout.
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close();
    },
    get bufferedAmount() {
      return ws.bufferedAmount;
    },
    get acceptsAudio() {
      return outbound === undefined || outbound.acceptsAudio();
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
    if (isBinary && buffer.length > WEBSOCKET_BINARY_READ_LIMIT_BYTES) {
      logger.warn({ bytes: buffer.length, limit: WEBSOCKET_BINARY_READ_LIMIT_BYTES }, 'binary message too big; closing the connection');
      ws.close(MESSAGE_TOO_BIG, 'binary message too big');
      return;
    }
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
