/**
 * A call's timeline in SVG: a time axis, the caller's and the bot's speech as bands, tool calls as spans
 * (name, outcome, duration), barge-ins, DTMF (masked), model reconnects and the ending as markers. Drawn
 * from the call's TimelineEvents; open intervals (speaking now, tool running) extend to `endAt`, so
 * redrawing with a later `endAt` grows it live. Plain SVG: a handful of rects and lines needs no library.
 */
import type { TimelineEvent, ToolOutcome } from '../../../src/console/wire.js';
import { svg, svgText } from './dom.js';
import { ENDING_LABELS, maskedDigits, seconds } from './format.js';

export interface Interval {
  from: number;
  to: number;
  open: boolean;
}

export interface ToolSpan extends Interval {
  name: string;
  outcome?: ToolOutcome;
  durationMs?: number;
}

export interface TimelineModel {
  caller: Interval[];
  bot: Interval[];
  tools: ToolSpan[];
  bargeIns: number[];
  dtmf: Array<{ at: number; count: number }>;
  reconnects: Array<{ at: number; purpose: string }>;
  ended?: { at: number; reason: string };
}

export function timelineModel(events: readonly TimelineEvent[], endAt: number): TimelineModel {
  const model: TimelineModel = { caller: [], bot: [], tools: [], bargeIns: [], dtmf: [], reconnects: [] };
  let callerFrom: number | undefined;
  let botFrom: number | undefined;
  const running = new Map<string, ToolSpan>();
  for (const e of events) {
    switch (e.kind) {
      case 'caller.speech_started':
        callerFrom ??= e.at;
        break;
      case 'caller.speech_stopped':
        if (callerFrom !== undefined) model.caller.push({ from: callerFrom, to: e.at, open: false });
        callerFrom = undefined;
        break;
      case 'bot.speech_started':
        botFrom ??= e.at;
        break;
      case 'bot.speech_stopped':
        if (botFrom !== undefined) model.bot.push({ from: botFrom, to: e.at, open: false });
        botFrom = undefined;
        break;
      case 'barge_in':
        model.bargeIns.push(e.at);
        break;
      case 'dtmf':
        model.dtmf.push({ at: e.at, count: e.count });
        break;
      case 'model.reconnected':
        model.reconnects.push({ at: e.at, purpose: e.purpose });
        break;
      case 'tool.started': {
        const span: ToolSpan = { from: e.at, to: endAt, open: true, name: e.name };
        running.set(e.toolCallId, span);
        model.tools.push(span);
        break;
      }
      case 'tool.finished': {
        const span = running.get(e.toolCallId);
        running.delete(e.toolCallId);
        const target = span ?? { from: e.at - e.durationMs, to: e.at, open: false, name: e.name };
        if (!span) model.tools.push(target);
        Object.assign(target, { to: e.at, open: false, outcome: e.outcome, durationMs: e.durationMs });
        break;
      }
      case 'ended':
        model.ended = { at: e.at, reason: e.endReason };
        break;
      default:
        break;
    }
  }
  const stop = model.ended?.at ?? endAt;
  if (callerFrom !== undefined) model.caller.push({ from: callerFrom, to: stop, open: model.ended === undefined });
  if (botFrom !== undefined) model.bot.push({ from: botFrom, to: stop, open: model.ended === undefined });
  for (const span of running.values()) span.to = stop;
  return model;
}

const WIDTH = 960;
const GUTTER = 64;
const RIGHT = 16;
const ROW = { axis: 18, caller: 30, bot: 58, tools: 86, events: 122 } as const;
const BAND_H = 20;
const HEIGHT = 168;
/** Event labels go on the first of these lines (y offsets below the events row) where they do not overlap. */
const EVENT_LINES = [4, 16, 28];
const STEPS_S = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];

const mmss = (ms: number) => {
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
};

const labelWidth = (content: string) => 6 * content.length + 8;

/** A marker's label: right of the marker, or left of it near the right edge (so it is never cut off). */
function markerLabel(mx: number, y: number, content: string): SVGTextElement {
  const nearEnd = mx > WIDTH - RIGHT - labelWidth(content);
  return svgText(nearEnd ? mx - 4 : mx + 4, y, content, nearEnd ? { 'text-anchor': 'end' } : {});
}

/** Places event labels on the first line where they overlap no earlier label (the last line takes the rest). */
class EventLabels {
  private readonly taken: Array<Array<[number, number]>> = EVENT_LINES.map(() => []);
  label(mx: number, content: string): SVGTextElement {
    const w = labelWidth(content);
    const nearEnd = mx > WIDTH - RIGHT - w;
    const span: [number, number] = nearEnd ? [mx - w, mx] : [mx, mx + w];
    let line = this.taken.findIndex((spans) => spans.every(([a, b]) => span[1] <= a || span[0] >= b));
    if (line < 0) line = EVENT_LINES.length - 1;
    this.taken[line]!.push(span);
    return markerLabel(mx, ROW.events + EVENT_LINES[line]! + 8, content);
  }
}

export function drawTimeline(events: readonly TimelineEvent[], startedAt: number, endAt: number): SVGSVGElement {
  const model = timelineModel(events, endAt);
  const stop = model.ended?.at ?? endAt;
  const span = Math.max(stop - startedAt, 10_000);
  const x = (t: number) => GUTTER + (Math.min(Math.max(t, startedAt), startedAt + span) - startedAt) / span * (WIDTH - GUTTER - RIGHT);
  const labels = new EventLabels();
  const root = svg('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: 'img', 'aria-label': 'Call timeline', class: 'timeline' });

  // Axis with about eight ticks.
  const step = (STEPS_S.find((s) => (span / 1000) / s <= 8) ?? 3600) * 1000;
  const axis = svg('g', { class: 'tl-axis' });
  for (let t = 0; t <= span; t += step) {
    axis.append(
      svg('line', { x1: x(startedAt + t), x2: x(startedAt + t), y1: ROW.axis + 4, y2: HEIGHT - 6, class: 'tl-grid' }),
      svgText(x(startedAt + t), ROW.axis, mmss(t), { 'text-anchor': 'middle' }),
    );
  }
  root.append(axis);
  for (const [label, y] of [['caller', ROW.caller], ['bot', ROW.bot], ['tools', ROW.tools], ['events', ROW.events]] as const) {
    root.append(svgText(4, y + 14, label, { class: 'tl-label' }));
  }

  const band = (row: 'caller' | 'bot', i: Interval) =>
    svg(
      'rect',
      { class: `band band-${row}${i.open ? ' open' : ''}`, x: x(i.from), y: ROW[row], width: Math.max(2, x(i.to) - x(i.from)), height: BAND_H, 'data-kind': `${row}-speech` },
      svg('title', {}, `${row} speaking ${seconds(i.to - i.from)}${i.open ? ' (now)' : ''}`),
    );
  for (const i of model.caller) root.append(band('caller', i));
  for (const i of model.bot) root.append(band('bot', i));

  for (const t of model.tools) {
    const label = t.open ? `${t.name} · running…` : `${t.name} · ${t.outcome ?? ''} · ${t.durationMs ?? 0} ms`;
    const g = svg('g', { class: `tool-span outcome-${t.outcome ?? 'running'}`, 'data-kind': 'tool' });
    g.append(
      svg('rect', { x: x(t.from), y: ROW.tools, width: Math.max(3, x(t.to) - x(t.from)), height: BAND_H }),
      markerLabel(x(t.from), ROW.tools + 14, label),
      svg('title', {}, label),
    );
    root.append(g);
  }

  for (const at of model.bargeIns) {
    const g = svg('g', { class: 'barge-in', 'data-kind': 'barge-in' });
    g.append(
      svg('line', { x1: x(at), x2: x(at), y1: ROW.caller - 4, y2: ROW.bot + BAND_H + 2 }),
      labels.label(x(at), 'barge-in'),
      svg('title', {}, `barge-in at ${mmss(at - startedAt)}`),
    );
    root.append(g);
  }
  for (const d of model.dtmf) {
    const g = svg('g', { class: 'dtmf', 'data-kind': 'dtmf' });
    g.append(
      svg('circle', { cx: x(d.at), cy: ROW.events + 8, r: 4 }),
      labels.label(x(d.at) + 2, `DTMF ${maskedDigits(d.count)}`),
    );
    root.append(g);
  }
  for (const r of model.reconnects) {
    const g = svg('g', { class: 'reconnect', 'data-kind': 'reconnect' });
    g.append(
      svg('line', { x1: x(r.at), x2: x(r.at), y1: ROW.caller - 4, y2: ROW.events + BAND_H }),
      labels.label(x(r.at), r.purpose === 'renewal' ? 'model renewed' : 'model reconnected'),
    );
    root.append(g);
  }
  if (model.ended) {
    const g = svg('g', { class: 'ending', 'data-kind': 'ending' });
    const ex = x(model.ended.at);
    g.append(
      svg('line', { x1: ex, x2: ex, y1: ROW.axis + 4, y2: HEIGHT - 6 }),
      labels.label(ex, `ended: ${ENDING_LABELS[model.ended.reason] ?? model.ended.reason}`),
    );
    root.append(g);
  } else {
    const g = svg('g', { class: 'now' });
    g.append(svg('line', { x1: x(endAt), x2: x(endAt), y1: ROW.axis + 4, y2: HEIGHT - 6 }));
    root.append(g);
  }
  return root;
}
