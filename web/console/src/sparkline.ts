/** A small SVG line chart of one health series over the last hour (gaps where there was no sample). */
import { svg } from './dom.js';

const W = 160;
const H = 36;

export function sparkline(values: ReadonlyArray<number | null>, slots: number): SVGSVGElement {
  const root = svg('svg', { class: 'spark', viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img' });
  const present = values.filter((v): v is number => v !== null);
  const max = Math.max(1, ...present);
  const n = Math.max(slots, values.length, 2);
  const offset = n - values.length;
  let d = '';
  let pen = false;
  values.forEach((v, i) => {
    if (v === null) {
      pen = false;
      return;
    }
    const px = ((offset + i) / (n - 1)) * (W - 2) + 1;
    const py = H - 2 - (v / max) * (H - 4);
    d += `${pen ? 'L' : 'M'}${px.toFixed(1)} ${py.toFixed(1)} `;
    pen = true;
  });
  root.append(svg('line', { x1: 0, x2: W, y1: H - 1, y2: H - 1, class: 'tl-grid' }));
  if (d) root.append(svg('path', { d: d.trim() }));
  return root;
}
