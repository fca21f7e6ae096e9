/**
 * One emulated Realtime session: the GA protocol state machine behind one WebSocket. No socket here: it
 * receives message text and a clock, and sends server events through `transport`, so it is tested directly.
 */
import type { Logger } from '../log/logger.js';
import type { TimerHandle } from '../util/clock.js';
import type { ClientEvent, ConversationItemInput, ResponseCreateParams } from './client-events.js';
import { betaShapeDisabled, invalidRequest, type RealtimeErrorBody } from './errors.js';
import { decodeInput, encodeOutput, bytesPerMs, sampleRate } from './audio-format.js';
import { ArmedFaults, rateLimitMessage, type FaultTarget, type SessionFault } from './faults.js';
import { newId } from './ids.js';
import type { Speed } from './pacing.js';
import { parseClientEvent } from './parse-client-event.js';
import { TIDY, type Realism } from './realism.js';
import { itemProblem, itemShape, transcriptionEvents, transcriptionFailedEvent, userAudioItem, type ConversationEntry } from './conversation.js';
import { deleteItem, retrieveItem, truncateItem, type ItemEditResult } from './item-edits.js';
import { ResponseRun, type RunOutput, type RunStatus } from './response-run.js';
import type { CallScript, ReplyAudioResolver, ScriptReply } from './script.js';
import { ScriptCursor, type PlannedOutput } from './script-cursor.js';
import type { ServerEventBody } from './server-events.js';
import { defaultSession, mergeSession, sdkSession, type EffectiveSession, type TurnDetectionConfig } from './session-config.js';
import { textAnswer, wantsSummary, type TranscriptLine } from './summary.js';
import { computeUsage } from './usage.js';
import { EnergyVad, vadSettings } from './vad.js';
import type { EmulatorResponseRecord, EmulatorSessionRecord, InputAudioArrival, SessionOptions } from './session-types.js';

export type { ConversationEntry };
export type { EmulatorObserver, EmulatorResponseRecord, EmulatorSessionRecord, InputAudioArrival, SessionOptions, SessionTransport } from './session-types.js';

export class EmulatorSession implements EmulatorSessionRecord, FaultTarget {
  readonly id: string;
  readonly model: string;
  path = '/v1/realtime';
  readonly connectedAt: number;
  config: EffectiveSession;
  readonly clientEvents: { type: string; at: number }[] = [];
  readonly serverEvents: { type: string; at: number }[] = [];
  readonly errors: RealtimeErrorBody[] = [];
  readonly inputAudio: InputAudioArrival[] = [];
  readonly conversation: ConversationEntry[] = [];
  readonly toolCalls: { name: string; callId: string; arguments: string }[] = [];
  readonly responses: EmulatorResponseRecord[] = [];
  closed: { code: number; reason: string } | null = null;

  private readonly log: Logger;
  private readonly cursor: ScriptCursor;
  private readonly vad: EnergyVad;
  private readonly audioChunks: Buffer[] = [];
  /** Bytes appended since the last commit/clear. */
  private bufferBytes = 0;
  private speechItemId: string | null = null;
  private activeResponse: ResponseRun | null = null;
  private readonly outOfBand = new Set<ResponseRun>();
  private readonly armed = new ArmedFaults();
  private closeAfter: { type: string; code: number; reason: string } | null = null;
  /** The client created an assistant `output_text` item (see Realism.assistantTextTriggersTextReplies). */
  private assistantTextInConversation = false;
  private readonly realism: Realism;
  /** Tokens left in the emulated per-minute budget, reported by rate_limits.updated. */
  private tokensRemaining = 40_000;
  private audioProduced = false;
  private idleDeadlineMs: number | null = null;
  private seenInputTokens = 0;
  private readonly timers = new Set<TimerHandle>();

  constructor(private readonly options: SessionOptions) {
    this.id = options.id ?? newId('sess');
    this.model = options.model;
    this.connectedAt = options.wallNow();
    this.log = options.logger.child({ emulatorSession: this.id });
    this.cursor = new ScriptCursor(options.script);
    this.realism = options.realism ?? TIDY;
    this.config = defaultSession(this.id, options.model, Math.floor(options.wallNow() / 1000));
    this.vad = new EnergyVad(vadSettings(this.config.audio.input.turn_detection));
  }

  start(): void {
    this.log.info({ model: this.model, script: this.options.script.name }, 'emulated realtime session created');
    this.emit({ type: 'session.created', session: sdkSession(this.config) });
    this.emit({ type: 'conversation.created', conversation: { id: newId('conv'), object: 'realtime.conversation' } });
  }

  inputAudioBytes(): Buffer {
    return Buffer.concat(this.audioChunks);
  }

  /** Ends timers and streaming; called when the socket is gone. */
  dispose(code: number, reason: string): void {
    if (!this.closed) this.closed = { code, reason };
    for (const t of this.timers) this.options.clock.clearTimeout(t);
    this.timers.clear();
    this.activeResponse?.halt();
    for (const run of this.outOfBand) run.halt();
    this.activeResponse = null;
    this.outOfBand.clear();
    this.log.info({ code }, 'emulated realtime session closed');
  }

  /** `receivedAt`: clock time the message arrived (default now). */
  handleMessage(text: string, receivedAt: number = this.options.clock.now()): void {
    if (this.closed) return;
    const parsed = parseClientEvent(text);
    this.clientEvents.push({ type: parsed.ok ? parsed.event.type : (parsed.type ?? '(unparsed)'), at: this.options.wallNow() });
    if (!parsed.ok) {
      this.sendError(parsed.error);
      return;
    }
    this.options.observer?.onClientEvent?.(this.id, parsed.event, receivedAt);
    this.dispatch(parsed.event);
  }

  applyFault(fault: SessionFault): void {
    if (this.closed) return;
    this.log.info({ fault: fault.type }, 'fault injected');
    if (this.armed.arm(fault)) return;
    switch (fault.type) {
      case 'close':
        if (fault.afterServerEvent !== undefined) this.closeAfter = { type: fault.afterServerEvent, code: fault.code, reason: fault.reason ?? '' };
        else this.later(fault.afterMs ?? 0, () => this.closeWith(fault.code, fault.reason ?? ''));
        return;
      case 'session_expired':
        this.later(fault.afterMs ?? 0, () => {
          this.sendError(invalidRequest('session_expired', 'Your session hit the maximum duration of 60 minutes.'));
          this.closeWith(1001, 'Your session hit the maximum duration of 60 minutes.');
        });
        return;
      case 'error':
        this.sendError({ type: 'invalid_request_error', code: null, param: null, event_id: null, ...fault.error });
        return;
    }
  }

  // ---- dispatch -------------------------------------------------------------------------------------

  private dispatch(event: ClientEvent): void {
    const clientEventId = event.event_id ?? null;
    switch (event.type) {
      case 'session.update':
        return this.sessionUpdate(event.session, clientEventId);
      case 'input_audio_buffer.append':
        return this.append(event.audio);
      case 'input_audio_buffer.commit':
        return this.manualCommit(clientEventId);
      case 'input_audio_buffer.clear':
        this.bufferBytes = 0;
        this.vad.resetSpeech();
        this.vad.markBufferStart();
        this.speechItemId = null;
        this.emit({ type: 'input_audio_buffer.cleared' });
        return;
      case 'conversation.item.create':
        return this.itemCreate(event.item, event.previous_item_id ?? null, clientEventId);
      case 'conversation.item.retrieve':
        return this.reply(retrieveItem(this.conversation, event.item_id, clientEventId));
      case 'conversation.item.truncate':
        return this.reply(truncateItem(this.conversation, { itemId: event.item_id, contentIndex: event.content_index, audioEndMs: event.audio_end_ms }, clientEventId));
      case 'conversation.item.delete':
        return this.reply(deleteItem(this.conversation, event.item_id, clientEventId));
      case 'response.create':
        return this.responseCreate(event.response ?? {}, clientEventId);
      case 'response.cancel':
        return this.responseCancel(event.response_id, clientEventId);
    }
  }

  private sessionUpdate(update: Parameters<typeof mergeSession>[1], clientEventId: string | null): void {
    if (update.model !== undefined && update.model !== this.config.model) {
      this.sendError(invalidRequest('invalid_value', 'Cannot update a session\'s model.', 'session.model', clientEventId));
      return;
    }
    const voice = update.audio?.output?.voice;
    if (voice !== undefined && this.audioProduced && JSON.stringify(voice) !== JSON.stringify(this.config.audio.output.voice)) {
      this.sendError(
        invalidRequest('cannot_update_voice', 'Cannot update a conversation\'s voice if assistant audio is present.', 'session.audio.output.voice', clientEventId),
      );
      return;
    }
    const transcriptionModel = update.audio?.input?.transcription?.model;
    const deployments = this.options.azureDeployments;
    if (deployments && transcriptionModel !== undefined && !deployments.includes(transcriptionModel)) {
      // On Azure the transcription model is a deployment of the resource (OPENAI_REALTIME.md §2.5);
      // the wording of Azure's error is not documented: unverified.
      this.sendError(
        invalidRequest(
          'invalid_value',
          `Invalid value: '${transcriptionModel}'. The transcription model must name a deployment of this resource.`,
          'session.audio.input.transcription.model',
          clientEventId,
        ),
      );
      return;
    }
    this.config = mergeSession(this.config, update);
    this.vad.configure(vadSettings(this.config.audio.input.turn_detection));
    this.log.debug({ inputFormat: this.config.audio.input.format.type, outputFormat: this.config.audio.output.format.type }, 'session updated');
    this.emit({ type: 'session.updated', session: sdkSession(this.config) });
  }

  // ---- input audio and VAD --------------------------------------------------------------------------

  private append(audioBase64: string): void {
    const bytes = Buffer.from(audioBase64, 'base64');
    if (this.options.retainInputAudio !== false) {
      this.inputAudio.push({ at: this.options.wallNow(), bytes: bytes.length });
      this.audioChunks.push(bytes);
    }
    this.bufferBytes += bytes.length;
    const turnDetection = this.config.audio.input.turn_detection;
    if (!turnDetection) return;
    const format = this.config.audio.input.format;
    const events = this.vad.push(decodeInput(bytes, format), sampleRate(format));
    for (const event of events) {
      if (event.type === 'speech_started') this.speechStarted(event.audioStartMs, turnDetection);
      else this.speechStopped(event.audioEndMs, turnDetection);
    }
    this.checkIdle(turnDetection);
  }

  private speechStarted(audioStartMs: number, td: TurnDetectionConfig): void {
    this.idleDeadlineMs = null;
    this.speechItemId = newId('item');
    this.emit({ type: 'input_audio_buffer.speech_started', audio_start_ms: audioStartMs, item_id: this.speechItemId });
    if (td.interrupt_response && this.activeResponse?.active) this.activeResponse.cancel('turn_detected');
  }

  private speechStopped(audioEndMs: number, td: TurnDetectionConfig): void {
    const itemId = this.speechItemId ?? newId('item');
    this.speechItemId = null;
    this.emit({ type: 'input_audio_buffer.speech_stopped', audio_end_ms: audioEndMs, item_id: itemId });
    this.commitCallerTurn(itemId);
    this.vad.markBufferStart(audioEndMs);
    if (td.create_response && !this.armed.silent) this.startConversationResponse(() => this.cursor.planResponse(), {});
  }

  private checkIdle(td: TurnDetectionConfig): void {
    if (td.type !== 'server_vad' || td.idle_timeout_ms === null || this.idleDeadlineMs === null) return;
    if (this.vad.inSpeech || this.activeResponse?.active || this.vad.audioMs < this.idleDeadlineMs) return;
    const start = this.idleDeadlineMs - td.idle_timeout_ms;
    this.idleDeadlineMs = null;
    const itemId = newId('item');
    this.emit({ type: 'input_audio_buffer.timeout_triggered', audio_start_ms: Math.max(0, start), audio_end_ms: this.vad.audioMs, item_id: itemId });
    this.addUserAudioItem(itemId, null);
    this.bufferBytes = 0;
    this.vad.markBufferStart();
    if (td.create_response && !this.armed.silent) this.startConversationResponse(() => [{ kind: 'audio', reply: this.cursor.idleReply() }], {});
  }

  private manualCommit(clientEventId: string | null): void {
    const ms = this.bufferBytes / bytesPerMs(this.config.audio.input.format);
    if (ms < 100) {
      this.sendError(
        invalidRequest(
          'input_audio_buffer_commit_empty',
          `Error committing input audio buffer: buffer too small. Expected at least 100ms of audio, but buffer only has ${ms.toFixed(2)}ms of audio.`,
          null,
          clientEventId,
        ),
      );
      return;
    }
    const itemId = this.speechItemId ?? newId('item');
    this.speechItemId = null;
    this.vad.resetSpeech();
    this.commitCallerTurn(itemId);
    this.vad.markBufferStart();
  }

  /** committed → conversation.item.added/done (user audio) → transcription, consuming one scripted turn. */
  private commitCallerTurn(itemId: string): void {
    this.bufferBytes = 0;
    const transcript = this.cursor.callerTurnCommitted();
    this.addUserAudioItem(itemId, transcript);
  }

  private addUserAudioItem(itemId: string, transcript: string | null): void {
    const previous = this.lastItemId();
    this.emit({ type: 'input_audio_buffer.committed', previous_item_id: previous, item_id: itemId });
    const item = userAudioItem(itemId);
    this.conversation.push({ id: itemId, type: 'message', role: 'user', text: transcript ?? '', audioMs: null, truncatedAtMs: null });
    this.emit({ type: 'conversation.item.added', previous_item_id: previous, item });
    this.emit({ type: 'conversation.item.done', previous_item_id: previous, item });
    if (this.config.audio.input.transcription && transcript !== null) {
      // Transcription runs asynchronously next to the model: with a delay it lands after the reply has started.
      this.later(this.realism.transcriptionDelayMs, () => this.transcribe(itemId, transcript));
    }
  }

  private transcribe(itemId: string, transcript: string): void {
    const failure = this.armed.takeTranscriptionFailure();
    if (failure) {
      this.emit(transcriptionFailedEvent(itemId, failure.message));
      return;
    }
    for (const event of transcriptionEvents(itemId, transcript)) this.emit(event);
  }

  // ---- conversation items ---------------------------------------------------------------------------

  private lastItemId(): string | null {
    return this.conversation.at(-1)?.id ?? null;
  }

  private findItem(itemId: string): ConversationEntry | undefined {
    return this.conversation.find((e) => e.id === itemId);
  }

  private itemCreate(item: ConversationItemInput, previousItemId: string | null, clientEventId: string | null): void {
    if (previousItemId !== null && previousItemId !== 'root' && !this.findItem(previousItemId)) {
      this.sendError(invalidRequest('item_not_found', `Item with id '${previousItemId}' not found.`, 'previous_item_id', clientEventId));
      return;
    }
    const id = item.id ?? newId('item');
    if (this.findItem(id)) {
      this.sendError(invalidRequest('item_id_already_exists', `Item with id '${id}' already exists.`, 'item.id', clientEventId));
      return;
    }
    const problem = itemProblem(item, clientEventId);
    if (problem) {
      this.sendError(problem);
      return;
    }
    if (item.type === 'message' && item.role === 'assistant' && item.content.some((c) => c.type === 'output_text')) {
      this.assistantTextInConversation = true;
    }
    let entry: ConversationEntry;
    if (item.type === 'function_call_output') {
      entry = { id, type: item.type, role: null, text: item.output, audioMs: null, truncatedAtMs: null, callId: item.call_id };
      this.cursor.toolOutput(item.call_id, item.output);
    } else if (item.type === 'function_call') {
      entry = { id, type: item.type, role: null, text: item.arguments, audioMs: null, truncatedAtMs: null, name: item.name, callId: item.call_id ?? newId('call') };
    } else {
      const text = item.content.map((c) => ('text' in c ? c.text : 'transcript' in c ? (c.transcript ?? '') : '')).join(' ');
      entry = { id, type: 'message', role: item.role, text, audioMs: null, truncatedAtMs: null };
      if (item.role === 'user') this.cursor.userText(text);
    }
    const previous = previousItemId ?? this.lastItemId();
    this.conversation.push(entry);
    const shape = itemShape(item, id);
    this.emit({ type: 'conversation.item.added', previous_item_id: previous, item: shape });
    this.emit({ type: 'conversation.item.done', previous_item_id: previous, item: shape });
  }

  /** Sends an item edit's answer or its error. */
  private reply(result: ItemEditResult): void {
    if (result.ok) this.emit(result.event);
    else this.sendError(result.error);
  }

  // ---- responses ------------------------------------------------------------------------------------

  private responseCreate(params: ResponseCreateParams, clientEventId: string | null): void {
    const outOfBand = params.conversation === 'none';
    if (!outOfBand && this.activeResponse?.active) {
      this.sendError(
        invalidRequest(
          'conversation_already_has_active_response',
          `Conversation already has an active response in progress: ${this.activeResponse.id}. Wait until the response is finished before creating a new one.`,
          null,
          clientEventId,
        ),
      );
      return;
    }
    const modalities = params.output_modalities ?? this.config.output_modalities;
    if (modalities[0] === 'text') {
      const answer = () => {
        const text = textAnswer(params.instructions, this.transcriptLines(), this.toolCalls.map((t) => t.name));
        this.runResponse(() => [{ kind: 'text', text }], params, outOfBand);
      };
      const delayMs = outOfBand && wantsSummary(params.instructions) ? (this.options.summaryDelayMs ?? 0) : 0;
      this.later(delayMs, answer); // cleared by dispose(): a closed session answers nothing
      return;
    }
    if (outOfBand) {
      this.runResponse(() => this.toRunOutputs(this.cursor.planResponse()), params, true);
      return;
    }
    this.startConversationResponse(() => this.cursor.planResponse(params.instructions), params);
  }

  private responseCancel(responseId: string | undefined, clientEventId: string | null): void {
    const candidates = [this.activeResponse, ...this.outOfBand].filter((r): r is ResponseRun => r !== null && r.active);
    const target = responseId === undefined ? candidates[0] : candidates.find((r) => r.id === responseId);
    if (!target) {
      this.sendError(
        invalidRequest('response_cancel_not_active', 'Cancellation failed: no active response found.', null, clientEventId),
      );
      return;
    }
    target.cancel('client_cancelled');
  }

  /**
   * `plan` is only evaluated when the response really plays: a response that is not started, or fails,
   * consumes nothing of the script (the greeting or the caller's cue is still owed to the retry).
   */
  private startConversationResponse(plan: () => PlannedOutput[], params: ResponseCreateParams): void {
    if (this.activeResponse?.active) return; // a VAD turn while a response streams without interrupt: no second response
    this.runResponse(() => this.toRunOutputs(plan()), params, false);
  }

  private toRunOutputs(plan: PlannedOutput[]): RunOutput[] {
    const format = this.config.audio.output.format;
    return plan.map((p): RunOutput => {
      if (p.kind === 'audio') return this.audioOutput(p.reply);
      const callId = newId('call');
      this.cursor.registerCall(callId, p.followUp);
      return { kind: 'function_call', name: p.toolCall.name, arguments: JSON.stringify(p.toolCall.arguments), callId };
    }).map((o) => (o.kind === 'audio' ? { ...o, audio: encodeOutput(o.audio, format), bytesPerMs: bytesPerMs(format) } : o));
  }

  private audioOutput(reply: ScriptReply): RunOutput {
    return { kind: 'audio', audio: this.options.resolveAudio(reply), bytesPerMs: 8, transcript: reply.transcript };
  }

  private runResponse(planOutputs: () => RunOutput[], params: ResponseCreateParams, outOfBand: boolean): void {
    if (this.closed) return; // e.g. a close fault fired by the commit that asked for this response
    this.idleDeadlineMs = null;
    let outputs: RunOutput[] = [];
    const modalities = params.output_modalities ?? this.config.output_modalities;
    const incomplete = outOfBand ? null : this.armed.takeIncomplete();
    // A text-only reply in an audio conversation: the fault, or the model reacting to client-created assistant text.
    const textOnly =
      !outOfBand && modalities[0] === 'audio' && (this.armed.takeTextOnly() || (this.realism.assistantTextTriggersTextReplies && this.assistantTextInConversation));
    const run = new ResponseRun(
      {
        conversation: outOfBand ? 'none' : 'auto',
        outputModalities: modalities,
        metadata: params.metadata ?? null,
        outputFormat: params.audio?.output?.format ?? this.config.audio.output.format,
        voice: params.audio?.output?.voice ?? this.config.audio.output.voice,
        maxOutputTokens: params.max_output_tokens ?? this.config.max_output_tokens,
        chunkMs: this.options.chunkMs,
        speed: this.options.speed,
        clock: this.options.clock,
        transcriptLeadChunks: this.realism.transcriptLeadChunks,
        request: params,
        ...(incomplete ? { incomplete } : {}),
      },
      {
        emit: (event) => this.emit(event),
        itemStarted: (item) => {
          const previous = this.lastItemId();
          const output = outputs[run.items.length - 1];
          const entry: ConversationEntry = {
            id: item.id,
            type: item.kind === 'function_call' ? 'function_call' : 'message',
            role: item.kind === 'function_call' ? null : 'assistant',
            text: item.transcript,
            audioMs: item.kind === 'audio' ? 0 : null,
            truncatedAtMs: null,
          };
          if (output?.kind === 'function_call') {
            entry.name = output.name;
            entry.callId = output.callId;
            entry.text = output.arguments;
            this.toolCalls.push({ name: output.name, callId: output.callId, arguments: output.arguments });
          }
          this.conversation.push(entry);
          // Delivered audio grows as deltas go out; truncate reads it through the entry.
          Object.defineProperty(entry, 'audioMs', { get: () => (item.kind === 'audio' ? item.deliveredAudioMs : null), enumerable: true });
          if (item.kind === 'audio') this.audioProduced = true;
          return previous;
        },
        rateLimits: () => {
          this.tokensRemaining = Math.max(0, this.tokensRemaining - 600);
          return [
            { name: 'requests', limit: 5000, remaining: 4999, reset_seconds: 0.012 },
            { name: 'tokens', limit: 40_000, remaining: this.tokensRemaining, reset_seconds: Number(((40_000 - this.tokensRemaining) / 666).toFixed(3)) },
          ];
        },
        usage: (out) => {
          const usage = computeUsage({
            inputTextChars: this.conversation.reduce((n, e) => n + (e.audioMs === null ? e.text.length : 0), 0),
            inputAudioMs: this.audioChunks.reduce((n, c) => n + c.length, 0) / bytesPerMs(this.config.audio.input.format),
            outputTextChars: out.textChars,
            outputAudioMs: out.audioMs,
            previouslySeenInputTokens: this.seenInputTokens,
          });
          this.seenInputTokens = usage.input_tokens;
          return usage;
        },
        finished: (finishedRun, status, reason) => this.responseFinished(finishedRun, status, reason),
      },
    );
    if (outOfBand) this.outOfBand.add(run);
    else this.activeResponse = run;
    const failure = this.armed.takeFailure();
    if (failure) {
      const { retryAfterMs } = failure;
      run.fail({ type: 'tokens', code: 'rate_limit_exceeded', message: rateLimitMessage(this.model, retryAfterMs) });
      return;
    }
    outputs = planOutputs();
    if (textOnly) outputs = outputs.map((o): RunOutput => (o.kind === 'audio' ? { kind: 'text', text: o.transcript } : o));
    run.start(outputs);
  }

  private responseFinished(run: ResponseRun, status: RunStatus, reason: string | null): void {
    this.log.debug({ responseId: run.id, status }, 'response done');
    this.responses.push({
      id: run.id,
      conversation: run.conversation,
      status,
      reason,
      audioMs: run.items.reduce((n, i) => n + i.deliveredAudioMs, 0),
      kinds: run.items.map((i) => i.kind),
      request: run.request,
    });
    this.outOfBand.delete(run);
    if (run !== this.activeResponse) return;
    this.activeResponse = null;
    const td = this.config.audio.input.turn_detection;
    if (status === 'completed' && td?.type === 'server_vad' && td.idle_timeout_ms !== null) {
      // The server counts idle time from when the reply has finished playing: done + its audio duration.
      const audioMs = run.items.reduce((n, i) => n + i.deliveredAudioMs, 0);
      this.idleDeadlineMs = this.vad.audioMs + audioMs + td.idle_timeout_ms;
    }
  }

  private transcriptLines(): TranscriptLine[] {
    const lines: TranscriptLine[] = [];
    for (const e of this.conversation) {
      if (e.type !== 'message' || (e.role !== 'user' && e.role !== 'assistant')) continue;
      lines.push({ role: e.role, text: e.text });
    }
    return lines;
  }

  // ---- output ---------------------------------------------------------------------------------------

  private emit(event: ServerEventBody): void {
    if (this.closed) return;
    const withId = { event_id: newId('event'), ...event };
    this.serverEvents.push({ type: String(event.type), at: this.options.wallNow() });
    this.options.observer?.onServerEvent?.(this.id, withId);
    this.options.transport.send(withId);
    if (this.closeAfter?.type === event.type) {
      const { code, reason } = this.closeAfter;
      this.closeAfter = null;
      this.closeWith(code, reason);
    }
  }

  private sendError(error: RealtimeErrorBody): void {
    this.errors.push(error);
    this.log.info({ code: error.code, param: error.param }, 'client event rejected');
    this.emit({ type: 'error', error });
  }

  /** The beta header path: OpenAI's error then close 4000. */
  rejectBetaShape(): void {
    this.sendError(betaShapeDisabled());
    this.closeWith(4000, 'beta_api_shape_disabled');
  }

  private closeWith(code: number, reason: string): void {
    if (this.closed) return;
    this.options.transport.close(code, reason);
    this.dispose(code, reason);
  }

  private later(ms: number, fn: () => void): void {
    if (ms <= 0) {
      fn();
      return;
    }
    const handle = this.options.clock.setTimeout(() => {
      this.timers.delete(handle);
      fn();
    }, ms);
    this.timers.add(handle);
  }
}
