/**
 * The unsent bot audio, per response in arrival order (FIFO), with the per-item accounting the playout
 * timeline shares. Remembers recently finished responses so their late deltas are ignored, and bounds the
 * items it remembers so a long call's memory stays flat.
 */
import type { FramePart, ItemRecord } from './playout-timeline.js';

/** How many finished (ended or dropped) response ids we remember, to ignore their late deltas. */
const CLOSED_RESPONSE_MEMORY = 256;
/** How many item records we keep for progress() once they are fully played. */
const ITEM_MEMORY = 256;

interface Segment {
  item: ItemRecord;
  data: Uint8Array;
  offset: number;
}

export interface QueuedResponse {
  readonly responseId: string;
  ended: boolean;
  segments: Segment[];
  queuedBytes: number;
}

export class ResponseQueue {
  private readonly queue: QueuedResponse[] = [];
  private readonly byId = new Map<string, QueuedResponse>();
  private readonly closed = new Set<string>();
  private readonly items = new Map<string, ItemRecord>();
  /** Unsent bytes over all responses. */
  queuedBytes = 0;

  /**
   * Model audio for one item of one response; the bytes are copied. False (nothing queued) when the response
   * already ended or was dropped: a late delta.
   */
  enqueue(responseId: string, itemId: string, ulaw: Uint8Array, busyItems: () => Iterable<ItemRecord>): boolean {
    if (this.closed.has(responseId)) return false;
    let response = this.byId.get(responseId);
    if (!response) {
      response = { responseId, ended: false, segments: [], queuedBytes: 0 };
      this.queue.push(response);
      this.byId.set(responseId, response);
    }
    const item = this.itemRecord(itemId, responseId, busyItems);
    item.receivedBytes += ulaw.length;
    response.segments.push({ item, data: ulaw.slice(), offset: 0 });
    response.queuedBytes += ulaw.length;
    this.queuedBytes += ulaw.length;
    return true;
  }

  /** No more audio for this response: its last partial frame may go out. */
  end(responseId: string): void {
    this.rememberClosed(responseId);
    const response = this.byId.get(responseId);
    if (response) response.ended = true;
  }

  item(itemId: string): ItemRecord | undefined {
    return this.items.get(itemId);
  }

  /** The response whose audio goes next (FIFO); finished, empty responses are discarded on the way. */
  head(): QueuedResponse | undefined {
    for (;;) {
      const head = this.queue[0];
      if (!head) return undefined;
      if (!head.ended || head.queuedBytes > 0) return head;
      this.queue.shift();
      this.byId.delete(head.responseId);
    }
  }

  /** Whether `response` is still queued with at least `bytes` unsent (a drop inside send() may remove it). */
  holds(response: QueuedResponse, bytes: number): boolean {
    return this.byId.get(response.responseId) === response && response.queuedBytes >= bytes;
  }

  /** The next `bytes` of `response`, without consuming them. */
  peek(response: QueuedResponse, bytes: number): Uint8Array {
    const frame = new Uint8Array(bytes);
    let filled = 0;
    for (const seg of response.segments) {
      if (filled >= bytes) break;
      const take = Math.min(bytes - filled, seg.data.length - seg.offset);
      frame.set(seg.data.subarray(seg.offset, seg.offset + take), filled);
      filled += take;
    }
    return frame;
  }

  /** Consumes the next `bytes` of `response` (they were sent); returns them per item. */
  consume(response: QueuedResponse, bytes: number): FramePart[] {
    const parts: FramePart[] = [];
    let remaining = bytes;
    while (remaining > 0) {
      const seg = response.segments[0]!;
      const take = Math.min(remaining, seg.data.length - seg.offset);
      seg.offset += take;
      remaining -= take;
      seg.item.sentBytes += take;
      const last = parts[parts.length - 1];
      if (last && last.item === seg.item) last.bytes += take;
      else parts.push({ item: seg.item, bytes: take });
      if (seg.offset >= seg.data.length) response.segments.shift();
    }
    response.queuedBytes -= bytes;
    this.queuedBytes -= bytes;
    return parts;
  }

  /**
   * Discards the unsent audio of matching responses (all when no match is given) and remembers them as
   * closed. Adds their items to `interrupted`; returns the bytes dropped.
   */
  drop(matchResponse: ((responseId: string) => boolean) | undefined, interrupted: Set<ItemRecord>): number {
    let dropped = 0;
    for (let i = 0; i < this.queue.length; ) {
      const r = this.queue[i]!;
      if (matchResponse && !matchResponse(r.responseId)) {
        i++;
        continue;
      }
      this.rememberClosed(r.responseId);
      for (const seg of r.segments) interrupted.add(seg.item);
      dropped += r.queuedBytes;
      this.queue.splice(i, 1);
      this.byId.delete(r.responseId);
    }
    this.queuedBytes -= dropped;
    return dropped;
  }

  /** Drops the oldest unsent audio until at most `maxBytes` are queued; returns the bytes dropped. */
  trimTo(maxBytes: number): number {
    let excess = this.queuedBytes - maxBytes;
    let dropped = 0;
    for (const r of this.queue) {
      while (excess > 0 && r.segments.length > 0) {
        const seg = r.segments[0]!;
        const take = Math.min(excess, seg.data.length - seg.offset);
        seg.offset += take;
        r.queuedBytes -= take;
        excess -= take;
        dropped += take;
        if (seg.offset >= seg.data.length) r.segments.shift();
      }
      if (excess <= 0) break;
    }
    this.queuedBytes -= dropped;
    return dropped;
  }

  /** Forgets every unsent byte (the pacer stopped). */
  clear(): void {
    this.queue.length = 0;
    this.byId.clear();
    this.queuedBytes = 0;
  }

  rememberClosed(responseId: string): void {
    this.closed.delete(responseId);
    this.closed.add(responseId);
    if (this.closed.size > CLOSED_RESPONSE_MEMORY) {
      const oldest = this.closed.values().next().value;
      if (oldest !== undefined) this.closed.delete(oldest);
    }
  }

  private itemRecord(itemId: string, responseId: string, busyItems: () => Iterable<ItemRecord>): ItemRecord {
    let item = this.items.get(itemId);
    if (!item) {
      item = { itemId, responseId, receivedBytes: 0, sentBytes: 0, settledPlayedBytes: 0, interrupted: false };
      this.items.set(itemId, item);
      if (this.items.size > ITEM_MEMORY) this.forgetOldItems(busyItems);
    }
    return item;
  }

  /** Forgets the oldest items that have nothing queued or playing (bounded memory on long calls). */
  private forgetOldItems(busyItems: () => Iterable<ItemRecord>): void {
    const busy = new Set<ItemRecord>(busyItems());
    for (const r of this.queue) for (const s of r.segments) busy.add(s.item);
    for (const [id, item] of this.items) {
      if (this.items.size <= ITEM_MEMORY) break;
      if (!busy.has(item)) this.items.delete(id);
    }
  }
}
