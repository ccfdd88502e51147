// The one way the dashboard makes elements: text goes in as text nodes, never as HTML, so a key
// named `<img src=x onerror=alert(1)>` shows as those characters.

export { int, ms, pct, usd, when } from './format.js';

type Child = Node | string | number | null | undefined | false;
type Attr = string | number | boolean | undefined | ((event: Event) => void);

/** An element with attributes (`on…` are listeners; `false`/`undefined` are left out) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, Attr> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') el.addEventListener(name.slice(2), value);
    else if (name === 'value' && 'value' in el) (el as HTMLInputElement).value = String(value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, ...children);
  return el;
}

export function append(el: Node, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

/**
 * Runs `work` with the form's (or the button's) buttons disabled until it settles: a double click
 * sends once. While one run is pending, another is ignored.
 */
export function busy(el: HTMLFormElement | HTMLButtonElement, work: () => Promise<unknown>): void {
  if (el.dataset['busy']) return;
  const buttons = el instanceof HTMLFormElement ? Array.from(el.querySelectorAll('button')) : [el];
  el.dataset['busy'] = '1';
  for (const b of buttons) b.disabled = true;
  void work().finally(() => {
    delete el.dataset['busy'];
    for (const b of buttons) b.disabled = false;
  });
}

/** Replaces what an element holds. */
export function replace(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, ...children);
}

/** A bar of `value` out of `max` (spend against budget), its width set from script (allowed by the page's CSP). */
export function bar(value: number, max: number, label: string, budget = true): HTMLElement {
  const ratio = max > 0 ? Math.min(1, value / max) : value > 0 ? 1 : 0;
  // A budget's bar turns amber past 80% and red when spent; a plain bar (tokens) keeps one colour.
  const fill = h('span', { class: `fill${!budget ? ' plain' : ratio >= 1 ? ' over' : ratio >= 0.8 ? ' near' : ''}` });
  fill.style.width = `${(ratio * 100).toFixed(1)}%`;
  return h(
    'span',
    { class: 'bar', title: label, role: 'meter', 'aria-valuenow': value, 'aria-valuemax': max, 'aria-label': label },
    fill,
    h('span', { class: 'bar-label' }, label),
  );
}

/** A table in a box that scrolls sideways on a narrow screen (the page itself never does). */
export function table(head: string[], rows: Child[][], attrs: Record<string, Attr> = {}): HTMLElement {
  const box = h(
    'div',
    Object.assign({ class: 'table-box' }, attrs),
    h(
      'table',
      {},
      h('thead', {}, h('tr', {}, ...head.map((c) => h('th', { scope: 'col' }, c)))),
      h(
        'tbody',
        {},
        ...(rows.length
          ? rows.map((r) => h('tr', {}, ...r.map((c) => h('td', {}, c))))
          : // Not bare headers: an empty table says it is empty.
            [h('tr', {}, h('td', { colspan: head.length, class: 'empty' }, 'None yet.'))]),
      ),
    ),
  );
  // A table wider than its box scrolls inside it, and says so above it (`.scrolls`), at any window size.
  new ResizeObserver(() => box.classList.toggle('scrolls', box.scrollWidth > box.clientWidth + 1)).observe(box);
  return box;
}
