/**
 * Building the DOM from data without markup. Every string goes in as a text node, so dataset text (prompts,
 * outputs, file names, model ids) stays text: no HTML parsing, no URLs, no event handler attributes.
 * Shared by the report panel and the side panel's dataset list.
 */

export type Child = Node | string | number | null | undefined | false;

export interface ElementOptions {
  id?: string;
  className?: string;
  /** Plain attributes (data-*, aria-*, title, type…). Never URLs or handlers: those are refused below. */
  attrs?: Record<string, string | number | boolean | undefined>;
  title?: string;
}

/** Attributes that would turn data into navigation, markup or code. Nothing here needs them. */
const FORBIDDEN_ATTRIBUTE = /^(on|href$|src$|srcdoc$|srcset$|action$|formaction$|xlink:href$|style$)/i;

/** Creates an element; children that are strings or numbers become text nodes. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  options: ElementOptions = {},
  children: readonly Child[] = [],
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (options.id) element.id = options.id;
  if (options.className) element.className = options.className;
  if (options.title !== undefined) element.title = options.title;
  for (const [name, value] of Object.entries(options.attrs ?? {})) {
    if (value === undefined || value === false) continue;
    if (FORBIDDEN_ATTRIBUTE.test(name)) throw new Error(`refusing to set attribute ${name} from data`);
    element.setAttribute(name, value === true ? '' : String(value));
  }
  append(element, children);
  return element;
}

export function append(parent: Node, children: readonly Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
}

/** Replaces all children of `parent`. */
export function replaceChildren(parent: Element, children: readonly Child[]): void {
  while (parent.firstChild) parent.removeChild(parent.firstChild);
  append(parent, children);
}

export interface Column {
  text: string;
  /** Explains the column on hover. */
  title?: string;
  /** Right-aligned numbers. */
  numeric?: boolean;
}

export interface CellOptions {
  numeric?: boolean;
  title?: string;
  className?: string;
}

export function cell(content: Child | readonly Child[], options: CellOptions = {}): HTMLTableCellElement {
  const className = [options.numeric ? 'num' : '', options.className ?? ''].filter(Boolean).join(' ');
  const children = Array.isArray(content) ? content : [content as Child];
  return h('td', { className, ...(options.title !== undefined ? { title: options.title } : {}) }, children);
}

/** A table with a header row; `rows` are rows of cells already built (see `cell`). */
export function table(id: string, columns: readonly Column[], rows: readonly HTMLTableRowElement[], caption?: string): HTMLTableElement {
  const head = h('thead', {}, [h('tr', {}, columns.map((column) =>
    h('th', { className: column.numeric ? 'num' : '', attrs: { scope: 'col' }, ...(column.title ? { title: column.title } : {}) }, [column.text])))]);
  return h('table', { id, className: 'data-table' }, [caption ? h('caption', {}, [caption]) : null, head, h('tbody', {}, rows)]);
}

export function row(cells: readonly HTMLTableCellElement[], options: ElementOptions = {}): HTMLTableRowElement {
  return h('tr', options, cells);
}

export function section(id: string, heading: string, children: readonly Child[]): HTMLElement {
  return h('section', { id, className: 'report-section', attrs: { 'aria-labelledby': `${id}-heading` } }, [
    h('h2', { id: `${id}-heading` }, [heading]),
    ...children,
  ]);
}
