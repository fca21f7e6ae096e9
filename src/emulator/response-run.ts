/**
 * One streamed response: the exact GA event sequence the real API emits, paced by an injected Clock.
 *
 * Audio item: output_item.added → (conversation.item.added) → content_part.added → N × (output_audio.delta +
 * output_audio_transcript.delta) → output_audio_transcript.done → output_audio.done → content_part.done →
 * output_item.done → (conversation.item.done). Text item: the same with output_text.*. Function call:
 * output_item.added → function_call_arguments.delta/done → output_item.done. Then response.done.
 * Cancelling closes the open item with what was sent so far and ends with status "cancelled".
 */
import type { Clock, TimerHandle } from '../util/clock.js';
import { newId } from './ids.js';
import { deltaIntervalMs, type Speed } from './pacing.js';
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
  /** The transcript delivered so far (proportional to audio for audio items). */
  deliveredTranscript: string;
  status: 'in_progress' | 'completed' | 'incomplete';
}

export interface RunHooks {
  emit(event: Record<string, unknown>): void;
  /** The item becomes part of the conversation (not called for conversation:"none"). */
  itemStarted(item: RunItem): void;
  usage(outputs: { textChars: number; audioMs: number }): RealtimeUsage;
  finished(run: ResponseRun, status: 'completed' | 'cancelled' | 'failed'): void;
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
}

type Step = { delayMs: number; run: () => void };

const AUDIO_CHUNK_FLOOR_BYTES = 1;

export class ResponseRun {
  readonly id: string;
  readonly items: RunItem[] = [];
  private readonly steps: Step[] = [];
  private timer: TimerHandle | undefined;
  private state: 'pending' | 'streaming' | 'done' = 'pending';
  private openItem: { item: RunItem; output: RunOutput; outputIndex: number } | null = null;
  private readonly doneOutput: Record<string, unknown>[] = [];

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

  private base(status: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      object: 'realtime.response',
      id: this.id,
      status,
      status_details: null,
      output: [] as unknown[],
      conversation_id: this.options.conversation === 'none' ? null : 'conv_emulator',
      output_modalities: this.options.outputModalities,
      max_output_tokens: this.options.maxOutputTokens,
      audio: { output: { format: this.options.outputFormat, voice: this.options.voice } },
      usage: null,
      metadata: this.options.metadata,
      ...extra,
    };
  }

  /** Starts streaming `outputs`. */
  start(outputs: readonly RunOutput[]): void {
    this.state = 'streaming';
    this.hooks.emit({ type: 'response.created', response: this.base('in_progress') });
    outputs.forEach((output, index) => this.planOutput(output, index));
    this.steps.push({ delayMs: 0, run: () => this.complete() });
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
    this.options.clock.clearTimeout(this.timer);
    this.steps.length = 0;
    const open = this.openItem;
    if (open) this.closeItem(open.item, open.output, open.outputIndex, 'incomplete');
    this.finish('cancelled', { type: 'cancelled', reason });
  }

  /** Stops streaming without emitting anything (the connection is gone). */
  halt(): void {
    this.options.clock.clearTimeout(this.timer);
    this.steps.length = 0;
    this.state = 'done';
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

  private planOutput(output: RunOutput, outputIndex: number): void {
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
          this.hooks.itemStarted(item);
          this.hooks.emit({ type: 'conversation.item.added', previous_item_id: null, item: this.itemShape(item, output, 'in_progress') });
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
    const partType = output.kind === 'audio' ? 'audio' : 'text';
    this.steps.push({
      delayMs: 0,
      run: () => this.hooks.emit({ type: 'response.content_part.added', ...ids, content_index: 0, part: partType === 'audio' ? { type: 'audio', transcript: '' } : { type: 'text', text: '' } }),
    });
    if (output.kind === 'text') {
      const pieces = splitText(output.text, 8);
      for (const piece of pieces) {
        this.steps.push({ delayMs: 0, run: () => this.textDelta(item, piece, ids) });
      }
      this.steps.push({ delayMs: 0, run: () => this.closeItem(item, output, outputIndex, 'completed') });
      return;
    }
    const chunkBytes = Math.max(AUDIO_CHUNK_FLOOR_BYTES, Math.round(this.options.chunkMs * output.bytesPerMs));
    const chunkCount = Math.max(1, Math.ceil(output.audio.length / chunkBytes));
    const words = output.transcript.split(/(?<=\s)/);
    const interval = deltaIntervalMs(this.options.speed, this.options.chunkMs);
    for (let i = 0; i < chunkCount; i++) {
      const chunk = output.audio.subarray(i * chunkBytes, Math.min(output.audio.length, (i + 1) * chunkBytes));
      // Transcript words are spread over the audio so a cut-off reply has a proportional transcript.
      const fromWord = Math.floor((i * words.length) / chunkCount);
      const toWord = Math.floor(((i + 1) * words.length) / chunkCount);
      const text = words.slice(fromWord, toWord).join('');
      this.steps.push({
        delayMs: i === 0 ? 0 : interval,
        run: () => {
          item.deliveredAudioMs += chunk.length / output.bytesPerMs;
          this.hooks.emit({ type: 'response.output_audio.delta', ...ids, content_index: 0, delta: Buffer.from(chunk).toString('base64') });
          if (text) {
            item.deliveredTranscript += text;
            this.hooks.emit({ type: 'response.output_audio_transcript.delta', ...ids, content_index: 0, delta: text });
          }
        },
      });
    }
    // The last delta's audio has to "play out" before done at paced speeds, like a model streaming in time.
    this.steps.push({ delayMs: interval, run: () => this.closeItem(item, output, outputIndex, 'completed') });
  }

  private textDelta(item: RunItem, piece: string, ids: Record<string, unknown>): void {
    item.deliveredTranscript += piece;
    this.hooks.emit({ type: 'response.output_text.delta', ...ids, content_index: 0, delta: piece });
  }

  private itemShape(item: RunItem, output: RunOutput, status: RunItem['status']): Record<string, unknown> {
    if (output.kind === 'function_call') {
      return { id: item.id, object: 'realtime.item', type: 'function_call', status, name: output.name, call_id: output.callId, arguments: status === 'in_progress' ? '' : output.arguments };
    }
    const content =
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
      this.hooks.emit({ type: 'response.output_audio_transcript.done', ...ids, content_index: 0, transcript: item.deliveredTranscript });
      this.hooks.emit({ type: 'response.output_audio.done', ...ids, content_index: 0 });
      this.hooks.emit({ type: 'response.content_part.done', ...ids, content_index: 0, part: { type: 'audio', transcript: item.deliveredTranscript } });
    } else if (output.kind === 'text') {
      this.hooks.emit({ type: 'response.output_text.done', ...ids, content_index: 0, text: item.deliveredTranscript });
      this.hooks.emit({ type: 'response.content_part.done', ...ids, content_index: 0, part: { type: 'text', text: item.deliveredTranscript } });
    }
    item.status = status;
    const shape = this.itemShape(item, output, status);
    this.hooks.emit({ type: 'response.output_item.done', response_id: this.id, output_index: outputIndex, item: shape });
    if (this.options.conversation === 'auto') this.hooks.emit({ type: 'conversation.item.done', previous_item_id: null, item: shape });
    this.doneOutput.push(shape);
    this.openItem = null;
  }

  private complete(): void {
    this.finish('completed', null);
  }

  private finish(status: 'completed' | 'cancelled' | 'failed', details: Record<string, unknown> | null): void {
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
      response: this.base(status, { status_details: details, output: this.doneOutput, usage }),
    });
    this.hooks.finished(this, status);
  }
}

function splitText(text: string, pieces: number): string[] {
  if (text.length === 0) return [''];
  const size = Math.ceil(text.length / pieces);
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}
