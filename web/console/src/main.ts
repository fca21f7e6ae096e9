/**
 * The console app: one EventSource (Server-Sent Events, no polling) carrying a snapshot, then batches of
 * changes. Selecting a call reopens the stream with ?call=<id>, which adds that call's timeline events.
 * Rendering is plain DOM + SVG through dom.ts (text only, never HTML).
 */
import type { BatchItem, CallRow, EndedCall, HealthPoint, HealthView, StreamMessage, TimelineEvent } from '../../../src/console/wire.js';
import { byId, clear, el } from './dom.js';
import { ACTIVITY_LABELS, clock, duration, ENDING_LABELS, seconds } from './format.js';
import { sparkline } from './sparkline.js';
import { drawTimeline, timelineModel } from './timeline.js';

const MAX_ENDED_SHOWN = 1000;

interface State {
  transcripts: boolean;
  live: Map<string, CallRow>;
  ended: EndedCall[];
  health: HealthView;
  selected: string | undefined;
  events: TimelineEvent[];
  truncated: boolean;
}

const state: State = {
  transcripts: false,
  live: new Map(),
  ended: [],
  health: { intervalMs: 60_000, points: [] },
  selected: undefined,
  events: [],
  truncated: false,
};

let source: EventSource | undefined;

function connect(): void {
  source?.close();
  const url = state.selected === undefined ? '/console/api/stream' : `/console/api/stream?call=${encodeURIComponent(state.selected)}`;
  const es = new EventSource(url);
  source = es;
  const status = byId('connection');
  es.onopen = () => {
    status.textContent = 'live';
    status.className = 'connection live';
  };
  es.onerror = () => {
    // EventSource retries by itself; CLOSED means it gave up (e.g. the session expired: 401).
    const closed = es.readyState === EventSource.CLOSED;
    status.textContent = closed ? 'disconnected — reload to sign in again' : 'reconnecting…';
    status.className = 'connection down';
  };
  es.onmessage = (message: MessageEvent<string>) => {
    if (es !== source) return;
    apply(JSON.parse(message.data) as StreamMessage);
  };
}

function apply(message: StreamMessage): void {
  if (message.type === 'snapshot') {
    state.transcripts = message.transcripts;
    state.live = new Map(message.live.map((r) => [r.callId, r]));
    state.ended = message.ended;
    state.health = message.health;
    if (message.watched && message.watched.callId === state.selected) {
      state.events = message.watched.events;
      state.truncated = message.watched.truncated;
    }
    renderAll();
    return;
  }
  let healthChanged = false;
  let endedChanged = false;
  let liveChanged = false;
  let selectedChanged = false;
  for (const item of message.items) {
    if (applyItem(item)) endedChanged = true;
    if (item.kind === 'health') healthChanged = true;
    else if (item.kind === 'ended') endedChanged = liveChanged = true;
    else liveChanged ||= item.kind === 'row';
    const callId = item.kind === 'row' ? item.row.callId : item.kind === 'ended' ? item.call.callId : item.kind === 'event' ? item.callId : undefined;
    if (callId !== undefined && callId === state.selected) selectedChanged = true;
  }
  if (liveChanged) renderLive();
  if (endedChanged) renderEnded();
  if (healthChanged || liveChanged) renderHealth();
  if (selectedChanged) renderDetail();
}

/** Applies one change; true when it changed the ended list. */
function applyItem(item: BatchItem): boolean {
  switch (item.kind) {
    case 'row':
      state.live.set(item.row.callId, item.row);
      // A call the server had marked lost (fleet mode: its instance went silent) is live again.
      if (state.ended.some((c) => c.callId === item.row.callId)) {
        state.ended = state.ended.filter((c) => c.callId !== item.row.callId);
        return true;
      }
      break;
    case 'event':
      if (item.callId === state.selected && !state.events.some((e) => e.seq === item.event.seq)) state.events.push(item.event);
      break;
    case 'ended':
      state.live.delete(item.call.callId);
      state.ended = [item.call, ...state.ended.filter((c) => c.callId !== item.call.callId)].slice(0, MAX_ENDED_SHOWN);
      break;
    case 'health':
      state.health = item.health;
      break;
  }
  return false;
}

function select(callId: string): void {
  if (state.selected === callId) return;
  state.selected = callId;
  state.events = [];
  state.truncated = false;
  renderAll();
  connect();
}

function botCell(row: CallRow): string {
  return `${row.bot || '—'} / ${row.connectorId || '—'}`;
}

function renderLive(): void {
  const body = byId('live-calls').querySelector('tbody')!;
  clear(body);
  const now = Date.now();
  for (const row of state.live.values()) {
    const tr = el(
      'tr',
      { data: { 'call-id': row.callId, state: row.activity }, class: row.callId === state.selected ? 'selected' : '' },
      el('td', {}, botCell(row)),
      el('td', {}, clock(row.startedAt)),
      el('td', { class: 'duration', data: { started: String(row.startedAt) } }, duration(now - row.startedAt)),
      el('td', {}, el('span', { class: `state state-${row.activity}` }, ACTIVITY_LABELS[row.activity] ?? row.activity)),
      el('td', { class: 'barge-ins' }, String(row.bargeIns)),
      el('td', { class: 'tool-calls' }, String(row.toolCalls)),
      el('td', { class: 'reconnects' }, String(row.reconnects)),
      el('td', {}, row.instance || '—'),
    );
    tr.addEventListener('click', () => select(row.callId));
    body.append(tr);
  }
  byId('live-count').textContent = `(${state.live.size})`;
  byId('no-live').hidden = state.live.size > 0;
}

function webhookText(call: EndedCall): string {
  const w = call.webhook;
  if (w.state === 'not_reported') return 'not reported';
  const extra = [w.status !== undefined ? `HTTP ${w.status}` : '', w.attempts !== undefined ? `${w.attempts} attempt(s)` : '', w.error ?? '']
    .filter(Boolean)
    .join(', ');
  return extra ? `${w.state} (${extra})` : w.state;
}

function escalationText(call: EndedCall): string {
  return call.escalation.required ? `yes${call.escalation.reason ? `: ${call.escalation.reason}` : ''}` : 'no';
}

function renderEnded(): void {
  const body = byId('ended-calls').querySelector('tbody')!;
  clear(body);
  for (const call of state.ended) {
    const tr = el(
      'tr',
      { data: { 'call-id': call.callId, ending: call.endReason }, class: call.callId === state.selected ? 'selected' : '' },
      el('td', {}, botCell(call)),
      el('td', {}, clock(call.endedAt)),
      el('td', {}, duration(call.durationSeconds * 1000)),
      el('td', { class: 'ending' }, ENDING_LABELS[call.endReason] ?? call.endReason),
      el('td', {}, call.sentiment),
      el('td', {}, escalationText(call)),
      el('td', { class: 'webhook' }, webhookText(call)),
      el('td', { class: 'summary' }, call.summary),
    );
    tr.addEventListener('click', () => select(call.callId));
    body.append(tr);
  }
  byId('no-ended').hidden = state.ended.length > 0;
}

const HEALTH_SERIES: Array<{ key: keyof Omit<HealthPoint, 't'>; label: string; unit: string }> = [
  { key: 'liveCalls', label: 'Live calls', unit: '' },
  { key: 'callsPerMinute', label: 'Calls per minute', unit: '/min' },
  { key: 'firstBotAudioMs', label: 'First bot audio', unit: ' ms' },
  { key: 'bargeIns', label: 'Barge-ins', unit: '/min' },
  { key: 'modelErrors', label: 'Model errors', unit: '/min' },
  { key: 'webhookFailures', label: 'Webhook failures', unit: '/min' },
];

function renderHealth(): void {
  const root = byId('health');
  clear(root);
  const points = state.health.points;
  // The server keeps an hour of minutes (60 points); fewer, longer or shorter intervals still fill 60 slots.
  const slots = 60;
  for (const series of HEALTH_SERIES) {
    const values = points.map((p) => p[series.key]);
    let now: string;
    if (series.key === 'liveCalls') now = String(state.live.size);
    else {
      const last = values.length > 0 ? values[values.length - 1] : undefined;
      now = last === undefined || last === null ? '—' : `${last}${series.unit}`;
    }
    root.append(
      el(
        'div',
        { class: 'metric', data: { series: series.key } },
        el('div', { class: 'label' }, series.label),
        el('div', { class: 'value' }, now),
        sparkline(values, slots),
      ),
    );
  }
}

function selectedCall(): { row: CallRow; ended?: EndedCall } | undefined {
  if (state.selected === undefined) return undefined;
  const live = state.live.get(state.selected);
  if (live) return { row: live };
  const ended = state.ended.find((c) => c.callId === state.selected);
  return ended ? { row: ended, ended } : undefined;
}

function renderDetail(): void {
  const section = byId('detail');
  const call = selectedCall();
  if (!call) {
    section.hidden = state.selected === undefined;
    if (state.selected !== undefined) byId('detail-title').textContent = 'This call is no longer held by the console.';
    return;
  }
  section.hidden = false;
  const { row, ended } = call;
  const callState = ended ? `ended (${ENDING_LABELS[ended.endReason] ?? ended.endReason})` : ACTIVITY_LABELS[row.activity] ?? row.activity;
  // The conversation id is what an engineer searches the logs and Genesys for.
  const conversation = row.conversationId ? ` · conversation ${row.conversationId}` : '';
  byId('detail-title').textContent = `${botCell(row)} · started ${clock(row.startedAt)} · ${callState}${conversation}`;
  const timeline = byId('timeline');
  clear(timeline);
  timeline.append(drawTimeline(state.events, row.startedAt, ended ? ended.endedAt : Date.now()));
  if (state.truncated) timeline.append(el('p', { class: 'empty' }, 'Later events were not kept (per-call limit).'));
  renderTranscript(ended);
  renderEndedFacts(ended);
}

function renderTranscript(ended: EndedCall | undefined): void {
  const aside = byId('transcript');
  clear(aside);
  if (state.transcripts) {
    aside.append(el('h3', {}, 'Transcript'));
    const turns = state.events.filter((e): e is Extract<TimelineEvent, { kind: 'transcript' }> => e.kind === 'transcript');
    const shown = turns.length > 0 || !ended?.transcript ? turns.map((t) => ({ role: t.role, text: t.text })) : ended.transcript;
    for (const t of shown) {
      aside.append(el('p', { class: `turn ${t.role}` }, el('span', { class: 'who' }, t.role === 'caller' ? 'Caller' : 'Bot'), el('span', { class: 'text' }, t.text)));
    }
    if (shown.length === 0) aside.append(el('p', { class: 'empty' }, 'No turns yet.'));
    return;
  }
  // Transcripts off: when each side spoke, never what was said.
  aside.append(el('h3', {}, 'Turns (transcripts off)'));
  const start = selectedCall()?.row.startedAt ?? 0;
  const model = timelineModel(state.events, ended?.endedAt ?? Date.now());
  const turns = [...model.caller.map((i) => ({ who: 'Caller', role: 'caller', ...i })), ...model.bot.map((i) => ({ who: 'Bot', role: 'bot', ...i }))].sort((a, b) => a.from - b.from);
  for (const t of turns) {
    aside.append(
      el('p', { class: `turn ${t.role}` }, el('span', { class: 'who' }, t.who), `${duration(t.from - start)}–${t.open ? 'now' : duration(t.to - start)} (${seconds(t.to - t.from)})`),
    );
  }
  if (turns.length === 0) aside.append(el('p', { class: 'empty' }, 'No turns yet.'));
}

function renderEndedFacts(ended: EndedCall | undefined): void {
  const root = byId('ended-detail');
  clear(root);
  if (!ended) return;
  const facts: Array<[string, string]> = [
    ['Ending', `${ENDING_LABELS[ended.endReason] ?? ended.endReason}${ended.endDetail ? ` (${ended.endDetail})` : ''}`],
    ['Summary', ended.summary],
    ['Sentiment', ended.sentiment],
    ['Resolved', ended.resolved ? 'yes' : 'no'],
    ['Follow-ups', ended.followUps.join('\n') || '—'],
    ['Escalation', escalationText(ended)],
    ['Output variables', ended.outputVariables ? Object.entries(ended.outputVariables).map(([k, v]) => `${k} = ${v}`).join('\n') : 'none sent (the call ended without disconnect)'],
    ['Tool calls', ended.tools.map((t) => `${t.name} · ${t.outcome}${t.errorCode ? ` (${t.errorCode})` : ''} · ${t.durationMs} ms`).join('\n') || 'none'],
    ['Usage', `${ended.usage.totalTokens} tokens (${ended.usage.inputTokens} in, ${ended.usage.outputTokens} out, ${ended.usage.cachedTokens} cached), ${ended.usage.responses} responses`],
    ['Model', ended.model],
    ['Webhook', webhookText(ended)],
    ['Duration', duration(ended.durationSeconds * 1000)],
  ];
  const dl = el('dl', { class: 'facts' });
  for (const [k, v] of facts) dl.append(el('dt', {}, k), el('dd', { data: { fact: k.toLowerCase().replace(/[^a-z]+/g, '-') } }, v));
  root.append(dl);
}

function renderAll(): void {
  renderLive();
  renderEnded();
  renderHealth();
  renderDetail();
}

// Durations and a live timeline grow with time: a local one-second tick (the server is not asked).
setInterval(() => {
  const now = Date.now();
  for (const cell of document.querySelectorAll<HTMLElement>('td.duration')) {
    cell.textContent = duration(now - Number(cell.dataset.started));
  }
  if (state.selected !== undefined && state.live.has(state.selected)) renderDetail();
}, 1000);

renderAll();
connect();
