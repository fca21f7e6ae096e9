/**
 * The one ordered writer for server JSON messages (AudioHook spec: message envelope): it assigns `seq` (1, 2, …) and
 * `clientseq` (the seq of the last client message seen) at send time, and always includes `parameters`.
 * The client fails the session on any seq gap, so nothing else may build envelopes.
 */
import { PROTOCOL_VERSION, type ServerMessage, type ServerMessageType, type ServerParameters } from './schemas.js';

export class ServerMessageWriter {
  private lastSent = 0;
  private lastClientSeen = 0;

  constructor(
    private readonly sessionId: string,
    private readonly sink: (text: string) => void,
  ) {}

  /** Seq of the last message we sent (0 before any): a client's `serverseq` must not exceed it. */
  get lastServerSeq(): number {
    return this.lastSent;
  }

  /** Seq of the last client message seen, echoed as `clientseq`. */
  get lastClientSeq(): number {
    return this.lastClientSeen;
  }

  acknowledge(clientSeq: number): void {
    this.lastClientSeen = clientSeq;
  }

  /** Builds and sends one message; returns it (for logging and tests). */
  send<T extends ServerMessageType>(type: T, parameters: ServerParameters<T>): ServerMessage<T> {
    const message: ServerMessage<T> = {
      version: PROTOCOL_VERSION,
      id: this.sessionId,
      type,
      seq: this.lastSent + 1,
      clientseq: this.lastClientSeen,
      parameters,
    };
    const text = JSON.stringify(message);
    this.sink(text);
    // Counted only once handed to the transport: a failed send must not leave a seq gap behind.
    this.lastSent = message.seq;
    return message;
  }
}
