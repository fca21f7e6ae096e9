/**
 * One streamed response: the GA event sequence the real API emits, paced by an injected Clock.
 *
 * Audio item: output_item.added → (conversation.item.added) → content_part.added → N × (output_audio.delta
 * with output_audio_transcript.delta running ahead of it) → output_audio.done → output_audio_transcript.done
 * → content_part.done → output_item.done → (conversation.item.done). Text item: the same with
 * output_text.*. Function call: output_item.added → function_call_arguments.delta/done → output_item.done.
 * Then response.done. Cancelling (or an incomplete ending) closes the open item with what was sent so far.
 */
import type { RealtimeConversationItemAssistantMessage, RealtimeConversationItemFunctionCall } from 'openai/resources/realtime/realtime';
import type { Clock, TimerHandle } from '../util/clock.js';
import { newId } from './ids.js';
import { deltaIntervalMs, type Speed } from './pacing.js';
import type { ServerEventBody, ServerEventOf } from './server-events.js';
import type { RealtimeUsage } from './usage.js';

export type RunOutput =
  | { kind: 'audio'; audio: Uint8Array; bytesPerMs: number; transcript: string }
  | { kind: 'text'; text: string }
  | { kind: 'function_call'; name: string; arguments: string; callId: string };

export interface RunItem {
  id: string;
  kind: RunOutput['kind'];
  /** Audio delivered to the client so far, in ms (what truncate may cut back to). */
  deliveredAudioMs: number;
  transcript: string;
  /** The transcript delivered so far (it runs ahead of the audio, as the real model's does). */
  deliveredTranscript: string;
  status: 'in_progress' | 'completed' | 'incomplete';
}

export type RunStatus = 'completed' | 'cancelled' | 'failed' | 'incomplete';
export type IncompleteReason = 'content_filter' | 'max_output_tokens';

export interface RunHooks {
  emit(event: ServerEventBody): void;
  /** The item becomes part of the conversation (not called for conversation:"none"); returns the id of the item before it. */
  itemStarted(item: RunItem): string | null;
  usage(outputs: { textChars: number; audioMs: number }): RealtimeUsage;
  /** `rate_limits.updated`, sent at the start of each response. */
  rateLimits(): ServerEventOf<'rate_limits.updated'>['rate_limits'];
  finished(run: ResponseRun, status: RunStatus, reason: string | null): void;
}

export interface RunOptions {
  id?: string;
  conversation: 'auto' | 'none';
  outputModalities: ['audio'] | ['text'];
  metadata: Record<string, string> | null;
  outputFormat: unknown;
  voice: unknown;
  maxOutputTokens: number | 'inf';
  chunkMs: number;
  speed: Speed;
  clock: Clock;
  /** Transcript deltas are sent this many audio chunks ahead of the audio they belong to (default 0). */
  transcriptLeadChunks?: number;
  /** The response.create parameters behind it (recorded for tests). */
  request?: Record<string, unknown>;
  /** End the response `incomplete` for this reason once this share (0–1) of its first output is sent. */
  incomplete?: { reason: IncompleteReason; afterFraction: number };
}

type Step = { delayMs: number; run: () => void };
type AssistantItem = RealtimeConversationItemAssistantMessage | RealtimeConversationItemFunctionCall;
type ResponseBody = ServerEventOf<'response.done'>['response'];

const AUDIO_CHUNK_FLOOR_BYTES = 1;

export class ResponseRun {
  readonly id: string;
  readonly items: RunItem[] = [];
  private readonly steps: Step[] = [];
  private timer: TimerHandle | undefined;
  private state: 'pending' | 'streaming' | 'done' = 'pending';
  private openItem: { item: RunItem; output: RunOutput; outputIndex: number } | null = null;
  private readonly doneOutput: AssistantItem[] = [];
  private previousItemIds = new Map<string, string | null>();

  constructor(
    private readonly options: RunOptions,
    private readonly hooks: RunHooks,
  ) {
    this.id = options.id ?? newId('resp');
  }

  get active(): boolean {
    return this.state !== 'done';
  }

  get conversation(): 'auto' | 'none' {
    return this.options.conversation;
  }

  get metadata(): Record<string, string> | null {
    return this.options.metadata;
  }

  get request(): Record<string, unknown> {
    return this.options.request ?? {};
  }

  private base(status: RunStatus | 'in_progress', extra: Partial<ResponseBody> = {}): ResponseBody {
    return {
      object: 'realtime.response',
      id: this.id,
      status,
      output: [],
      // The real API sends null where the SDK types say "absent": keep that mess (a bridge must cope).
      ...({ status_details: null, usage: null, conversation_id: this.options.conversation === 'none' ? null : 'conv_emulator' } as object),
      output_modalities: this.options.outputModalities,
      max_output_tokens: this.options.maxOutputTokens,
      audio: { output: { format: this.options.outputFormat, voice: this.options.voice } } as ResponseBody['audio'],
      metadata: this.options.metadata,
      ...extra,
    };
  }

  /** Starts streaming `outputs`. */
  start(outputs: readonly RunOutput[]): void {
    this.state = 'streaming';
    this.hooks.emit({ type: 'response.created', response: this.base('in_progress') });
    this.hooks.emit({ type: 'rate_limits.updated', rate_limits: this.hooks.rateLimits() });
    outputs.forEach((output, index) => this.planOutput(output, index, index === 0 ? this.options.incomplete : undefined));
    this.steps.push({ delayMs: 0, run: () => this.finish('completed', null) });
    this.pump();
  }

  /** Ends the response at once with status failed (e.g. a rate limit), after response.created. */
  fail(error: { type: string; code: string; message: string }): void {
    this.state = 'streaming';
    this.hooks.emit({ type: 'response.created', response: this.base('in_progress') });
    this.finish('failed', { type: 'failed', error });
  }

  cancel(reason: 'turn_detected' | 'client_cancelled'): void {
    if (this.state !== 'streaming') return;
    this.stopAndCloseOpenItem();
    this.finish('cancelled', { type: 'cancelled', reason });
  }

  /** Stops streaming without emitting anything (the connection is gone). */
  halt(): void {
    this.options.clock.clearTimeout(this.timer);
    this.steps.length = 0;
    this.state = 'done';
  }

  private stopAndCloseOpenItem(): void {
    this.options.clock.clearTimeout(this.timer);
    this.steps.length = 0;
    const open = this.openItem;
    if (open) this.closeItem(open.item, open.output, open.outputIndex, 'incomplete');
  }

  private endIncomplete(reason: IncompleteReason): void {
    if (this.state !== 'streaming') return;
    this.stopAndCloseOpenItem();
    this.finish('incomplete', { type: 'incomplete', reason });
  }

  private pump(): void {
    while (this.state === 'streaming') {
      const step = this.steps[0];
      if (!step) return;
      if (step.delayMs > 0) {
        const delay = step.delayMs;
        step.delayMs = 0;
        this.timer = this.options.clock.setTimeout(() => this.pump(), delay);
        return;
      }
      this.steps.shift();
      step.run();
    }
  }

  private planOutput(output: RunOutput, outputIndex: number, incomplete: RunOptions['incomplete']): void {
    const item: RunItem = {
      id: newId('item'),
      kind: output.kind,
      deliveredAudioMs: 0,
      transcript: output.kind === 'audio' ? output.transcript : output.kind === 'text' ? output.text : '',
      deliveredTranscript: '',
      status: 'in_progress',
    };
    const ids = { response_id: this.id, item_id: item.id, output_index: outputIndex };
    this.steps.push({
      delayMs: 0,
      run: () => {
        this.items.push(item);
        this.openItem = { item, output, outputIndex };
        this.hooks.emit({ type: 'response.output_item.added', response_id: this.id, output_index: outputIndex, item: this.itemShape(item, output, 'in_progress') });
        if (this.options.conversation === 'auto') {
          const previous = this.hooks.itemStarted(item);
          this.previousItemIds.set(item.id, previous);
          this.hooks.emit({ type: 'conversation.item.added', previous_item_id: previous, item: this.itemShape(item, output, 'in_progress') });
        }
      },
    });
    if (output.kind === 'function_call') {
      this.steps.push({
        delayMs: 0,
        run: () => {
          this.hooks.emit({ type: 'response.function_call_arguments.delta', ...ids, call_id: output.callId, delta: output.arguments });
          this.hooks.emit({ type: 'response.function_call_arguments.done', ...ids, call_id: output.callId, name: output.name, arguments: output.arguments });
          this.closeItem(item, output, outputIndex, 'completed');
        },
      });
      return;
    }
    this.steps.push({
      delayMs: 0,
      run: () =>
        this.hooks.emit({
          type: 'response.content_part.added',
          ...ids,
          content_index: 0,
          part: output.kind === 'audio' ? { type: 'audio', transcript: '' } : { type: 'text', text: '' },
        }),
    });
    if (output.kind === 'text') {
      const pieces = splitText(output.text, 8);
      const stopAt = incomplete ? Math.floor(pieces.length * incomplete.afterFraction) : -1;
      pieces.forEach((piece, i) => {
        if (i === stopAt && incomplete) this.steps.push({ delayMs: 0, run: () => this.endIncomplete(incomplete.reason) });
        this.steps.push({
          delayMs: 0,
          run: () => {
            item.deliveredTranscript += piece;
            this.hooks.emit({ type: 'response.output_text.delta', ...ids, content_index: 0, delta: piece });
          },
        });
      });
      this.steps.push({ delayMs: 0, run: () => this.closeItem(item, output, outputIndex, 'completed') });
      return;
    }
    const chunkBytes = Math.max(AUDIO_CHUNK_FLOOR_BYTES, Math.round(this.options.chunkMs * output.bytesPerMs));
    const chunkCount = Math.max(1, Math.ceil(output.audio.length / chunkBytes));
    const words = output.transcript.split(/(?<=\s)/);
    // Transcript words are spread over the audio so a cut-off reply has a proportional transcript.
    const textFor = (i: number) => words.slice(Math.floor((i * words.length) / chunkCount), Math.floor(((i + 1) * words.length) / chunkCount)).join('');
    const lead = Math.max(0, Math.floor(this.options.transcriptLeadChunks ?? 0));
    const interval = deltaIntervalMs(this.options.speed, this.options.chunkMs);
    const stopAt = incomplete ? Math.max(1, Math.floor(chunkCount * incomplete.afterFraction)) : -1;
    for (let i = 0; i < chunkCount; i++) {
      if (i === stopAt && incomplete) {
        this.steps.push({ delayMs: interval, run: () => this.endIncomplete(incomplete.reason) });
        break;
      }
      const chunk = output.audio.subarray(i * chunkBytes, Math.min(output.audio.length, (i + 1) * chunkBytes));
      // The text of chunks [i, i + lead] goes out with chunk i (chunk 0 carries the lead's head start).
      const textIndexes = i === 0 ? range(0, Math.min(chunkCount, lead + 1)) : i + lead < chunkCount ? [i + lead] : [];
      this.steps.push({
        delayMs: i === 0 ? 0 : interval,
        run: () => {
          for (const t of textIndexes) {
            const text = textFor(t);
            if (!text) continue;
            item.deliveredTranscript += text;
            this.hooks.emit({ type: 'response.output_audio_transcript.delta', ...ids, content_index: 0, delta: text });
          }
          item.deliveredAudioMs += chunk.length / output.bytesPerMs;
          this.hooks.emit({ type: 'response.output_audio.delta', ...ids, content_index: 0, delta: Buffer.from(chunk).toString('base64') });
        },
      });
    }
    // The last delta's audio has to "play out" before done at paced speeds, like a model streaming in time.
    this.steps.push({ delayMs: interval, run: () => this.closeItem(item, output, outputIndex, 'completed') });
  }

  private itemShape(item: RunItem, output: RunOutput, status: RunItem['status']): AssistantItem {
    if (output.kind === 'function_call') {
      return { id: item.id, object: 'realtime.item', type: 'function_call', status, name: output.name, call_id: output.callId, arguments: status === 'in_progress' ? '' : output.arguments };
    }
    const content: RealtimeConversationItemAssistantMessage.Content[] =
      status === 'in_progress'
        ? []
        : output.kind === 'audio'
          ? [{ type: 'output_audio', transcript: item.deliveredTranscript }]
          : [{ type: 'output_text', text: item.deliveredTranscript }];
    return { id: item.id, object: 'realtime.item', type: 'message', role: 'assistant', status, content };
  }

  private closeItem(item: RunItem, output: RunOutput, outputIndex: number, status: 'completed' | 'incomplete'): void {
    const ids = { response_id: this.id, item_id: item.id, output_index: outputIndex };
    if (status === 'completed' && output.kind !== 'function_call') item.deliveredTranscript = item.transcript;
    if (output.kind === 'audio') {
      // The real order: the audio is done before its transcript is.
      this.hooks.emit({ type: 'response.output_audio.done', ...ids, content_index: 0 });
      this.hooks.emit({ type: 'response.output_audio_transcript.done', ...ids, content_index: 0, transcript: item.deliveredTranscript });
      this.hooks.emit({ type: 'response.content_part.done', ...ids, content_index: 0, part: { type: 'audio', transcript: item.deliveredTranscript } });
    } else if (output.kind === 'text') {
      this.hooks.emit({ type: 'response.output_text.done', ...ids, content_index: 0, text: item.deliveredTranscript });
      this.hooks.emit({ type: 'response.content_part.done', ...ids, content_index: 0, part: { type: 'text', text: item.deliveredTranscript } });
    }
    item.status = status;
    const shape = this.itemShape(item, output, status);
    this.hooks.emit({ type: 'response.output_item.done', response_id: this.id, output_index: outputIndex, item: shape });
    if (this.options.conversation === 'auto') {
      this.hooks.emit({ type: 'conversation.item.done', previous_item_id: this.previousItemIds.get(item.id) ?? null, item: shape });
    }
    this.doneOutput.push(shape);
    this.openItem = null;
  }

  private finish(status: RunStatus, details: ResponseBody['status_details'] | null): void {
    this.state = 'done';
    let textChars = 0;
    let audioMs = 0;
    for (const item of this.items) {
      textChars += item.deliveredTranscript.length;
      audioMs += item.deliveredAudioMs;
    }
    const usage = this.hooks.usage({ textChars, audioMs });
    this.hooks.emit({
      type: 'response.done',
      response: this.base(status, { ...(details ? { status_details: details } : {}), output: this.doneOutput, usage }),
    });
    this.hooks.finished(this, status, (details as { reason?: string } | null)?.reason ?? null);
  }
}

function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i < to; i++) out.push(i);
  return out;
}

function splitText(text: string, pieces: number): string[] {
  if (text.length === 0) return [''];
  const size = Math.ceil(text.length / pieces);
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}
