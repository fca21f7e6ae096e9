/**
 * The only way this app creates DOM: elements with attributes set by name and text set as text nodes.
 * Nothing is ever parsed as HTML (no innerHTML, no insertAdjacentHTML), so caller-influenced strings
 * (transcripts, summaries, tool names, ids) can only ever appear as text.
 */

export type Child = Node | string | null | undefined | false;

export interface Props {
  class?: string;
  title?: string;
  data?: Record<string, string>;
  attrs?: Record<string, string>;
}

function apply(node: Element, props: Props): void {
  if (props.class) node.setAttribute('class', props.class);
  if (props.title !== undefined) node.setAttribute('title', props.title);
  for (const [k, v] of Object.entries(props.data ?? {})) node.setAttribute(`data-${k}`, v);
  for (const [k, v] of Object.entries(props.attrs ?? {})) node.setAttribute(k, v);
}

function append(node: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
  }
}

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  apply(node, props);
  append(node, children);
  return node;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

export function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number> = {},
  ...children: Child[]
): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  append(node, children);
  return node;
}

/** An SVG <text> with its content as text. */
export function svgText(x: number, y: number, content: string, attrs: Record<string, string | number> = {}): SVGTextElement {
  return svg('text', { x, y, ...attrs }, content);
}

export function clear(node: Node): void {
  while (node.firstChild) node.removeChild(node.firstChild);
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (!node) throw new Error(`missing #${id}`);
  return node as T;
}
