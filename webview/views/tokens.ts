import type { SessionData } from '../../src/protocol';
import { h, clear } from '../dom';
import { t as tr } from '../strings';

/** Where each token sits inside the strip, measured in one batch (no interleaved writes). */
export interface TokenLayout {
  /** Token centre x, top y, width and height, relative to the strip. */
  x: Float32Array;
  y: Float32Array;
  w: Float32Array;
  hgt: Float32Array;
  width: number;
  height: number;
  lineHeight: number;
}

export interface TokenStripOptions {
  label: string;
  /** Hover, keyboard focus or lock changed the token the user is looking at (null: none). */
  onFocus: (i: number | null) => void;
  /** Layout re-measured (first render, resize, view shown). */
  onLayout?: (l: TokenLayout) => void;
}

let stripCount = 0;

/**
 * The selection's tokens laid out like the source: line breaks and indentation kept, special tokens
 * dimmed. Token text reaches the page only as text nodes. Hover previews a token, a click locks it
 * (click again or Escape unlocks), arrows/Home/End move a keyboard cursor that acts like hover.
 */
export class TokenStrip {
  readonly el = h('div', { class: 'hl-tokens', role: 'listbox', tabindex: 0 });
  private els: HTMLElement[] = [];
  private readonly prefix = `hl-t${++stripCount}-`;
  private current: number | null = null;
  private locked: number | null = null;
  private shown: number | null = null;
  private layoutCache: TokenLayout | undefined;
  private readonly resize: ResizeObserver;
  private lastW = -1;

  constructor(private readonly opts: TokenStripOptions) {
    this.el.setAttribute('aria-label', opts.label);
    this.el.addEventListener('mouseover', (e) => {
      const i = this.indexOf(e.target);
      if (i !== null && this.locked === null) this.move(i);
    });
    this.el.addEventListener('mouseleave', () => {
      if (this.locked === null) this.move(null);
    });
    this.el.addEventListener('click', (e) => {
      const i = this.indexOf(e.target);
      if (i === null) return;
      this.locked = this.locked === i ? null : i;
      this.el.classList.toggle('hl-locked', this.locked !== null);
      this.move(i, true);
    });
    this.el.addEventListener('keydown', (e) => this.key(e));
    // Re-measure when the strip's width changes (panel resize, tab shown): positions depend on wrapping.
    this.resize = new ResizeObserver(() => {
      const w = this.el.clientWidth;
      if (w === this.lastW || w === 0) return;
      this.lastW = w;
      this.layoutCache = undefined;
      const l = this.layout();
      if (l) this.opts.onLayout?.(l);
    });
    this.resize.observe(this.el);
  }

  get count(): number {
    return this.els.length;
  }
  get focused(): number | null {
    return this.current;
  }
  get isLocked(): boolean {
    return this.locked !== null;
  }
  element(i: number): HTMLElement | undefined {
    return this.els[i];
  }

  private indexOf(target: EventTarget | null): number | null {
    const el = (target as HTMLElement | null)?.closest?.('[data-i]');
    return el ? Number(el.getAttribute('data-i')) : null;
  }

  private key(e: KeyboardEvent): void {
    const n = this.els.length;
    if (!n) return;
    const at = this.current ?? -1;
    let next: number | null | undefined;
    switch (e.key) {
      case 'ArrowRight':
      case 'ArrowDown':
        next = Math.min(n - 1, at + 1);
        break;
      case 'ArrowLeft':
      case 'ArrowUp':
        next = at < 0 ? 0 : Math.max(0, at - 1);
        break;
      case 'Home':
        next = 0;
        break;
      case 'End':
        next = n - 1;
        break;
      case 'Enter':
      case ' ':
        if (this.current !== null) {
          this.locked = this.locked === this.current ? null : this.current;
          this.el.classList.toggle('hl-locked', this.locked !== null);
          this.move(this.current, true);
        }
        e.preventDefault();
        return;
      case 'Escape':
        this.locked = null;
        this.el.classList.remove('hl-locked');
        this.move(null);
        e.preventDefault();
        return;
      default:
        return;
    }
    e.preventDefault();
    if (this.locked !== null) this.locked = next;
    this.move(next);
  }

  private move(i: number | null, force = false): void {
    if (i === this.current && !force) return;
    this.current = i;
    this.mark(i);
    if (i !== null) this.el.setAttribute('aria-activedescendant', this.prefix + i);
    else this.el.removeAttribute('aria-activedescendant');
    this.opts.onFocus(i);
  }

  /** Show token i as the active one without treating it as the user's own hover (e.g. the editor cursor). */
  mark(i: number | null, scroll = false): void {
    if (this.shown !== null) {
      const old = this.els[this.shown];
      old?.classList.remove('hl-tok-active');
      old?.setAttribute('aria-selected', 'false');
    }
    this.shown = i;
    if (i === null) return;
    const el = this.els[i];
    if (!el) return;
    el.classList.add('hl-tok-active');
    el.setAttribute('aria-selected', 'true');
    if (scroll) el.scrollIntoView({ block: 'nearest' });
  }

  render(s: SessionData): void {
    clear(this.el);
    this.els = [];
    this.current = this.locked = this.shown = null;
    this.el.classList.remove('hl-locked');
    this.layoutCache = undefined;
    const frag = document.createDocumentFragment();
    let cursor = 0;
    s.tokens.forEach((t, i) => {
      // The source text between tokens (whitespace a tokenizer dropped) is kept so the layout wraps like the file.
      if (!t.special && t.start > cursor) frag.append(document.createTextNode(s.text.slice(cursor, t.start)));
      const label = t.special ? t.text : s.text.slice(t.start, t.end);
      const el = h(
        'span',
        {
          class: t.special ? 'hl-tok hl-tok-special' : 'hl-tok',
          'data-i': i,
          role: 'option',
          id: this.prefix + i,
          'aria-selected': 'false',
          'aria-label': tr('tokens.aria', i + 1, s.tokens.length, t.special ? tr('tokens.special', t.text) : JSON.stringify(label)),
        },
        label,
      );
      frag.append(el);
      this.els.push(el);
      if (!t.special) cursor = Math.max(cursor, t.end);
    });
    if (cursor < s.text.length) frag.append(document.createTextNode(s.text.slice(cursor)));
    this.el.append(frag);
  }

  /** Token boxes relative to the strip; measured once per layout (first use after render or resize). */
  layout(): TokenLayout | undefined {
    if (this.layoutCache) return this.layoutCache;
    const n = this.els.length;
    const box = this.el.getBoundingClientRect();
    if (box.width === 0) return undefined; // hidden tab: measured when shown (ResizeObserver)
    const x = new Float32Array(n),
      y = new Float32Array(n),
      w = new Float32Array(n),
      hgt = new Float32Array(n);
    let lh = 0;
    for (let i = 0; i < n; i++) {
      // A token that wraps has several client rects: anchor arcs on its first one.
      const r = this.els[i].getClientRects()[0] ?? this.els[i].getBoundingClientRect();
      x[i] = r.left - box.left + r.width / 2;
      y[i] = r.top - box.top;
      w[i] = r.width;
      hgt[i] = r.height;
      if (r.height > lh) lh = r.height;
    }
    const style = getComputedStyle(this.el);
    const lineHeight = parseFloat(style.lineHeight) || lh * 1.4 || 20;
    this.layoutCache = { x, y, w, hgt, width: this.el.clientWidth, height: this.el.scrollHeight, lineHeight };
    return this.layoutCache;
  }
}
