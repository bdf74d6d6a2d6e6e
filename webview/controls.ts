// Small builders for the vscode-elements controls the views use (typed access to value/checked).
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-radio/index.js';
import '@vscode-elements/elements/dist/vscode-radio-group/index.js';
import '@vscode-elements/elements/dist/vscode-label/index.js';
import type { VscodeSingleSelect } from '@vscode-elements/elements/dist/vscode-single-select/vscode-single-select.js';
import type { VscodeCheckbox } from '@vscode-elements/elements/dist/vscode-checkbox/vscode-checkbox.js';
import { h } from './dom';

export type Select = VscodeSingleSelect;

export function select(
  label: string,
  options: { value: string; label: string }[],
  value: string,
  onChange: (v: string) => void,
): { el: HTMLElement; control: Select } {
  const control = document.createElement('vscode-single-select');
  control.setAttribute('aria-label', label);
  setOptions(control, options, value);
  control.addEventListener('change', () => onChange(control.value));
  const el = h('label', { class: 'hl-field' }, h('span', { class: 'hl-field-label' }, label), control);
  return { el, control };
}

export function setOptions(control: Select, options: { value: string; label: string }[], value: string): void {
  control.replaceChildren(
    ...options.map((o) => {
      const opt = document.createElement('vscode-option');
      opt.setAttribute('value', o.value);
      opt.textContent = o.label;
      if (o.value === value) opt.setAttribute('selected', '');
      return opt;
    }),
  );
  control.value = value;
}

export function checkbox(label: string, checked: boolean, onChange: (v: boolean) => void, swatch?: string): VscodeCheckbox {
  const c = document.createElement('vscode-checkbox');
  c.checked = checked;
  c.setAttribute('aria-label', label);
  if (swatch) {
    const s = h('span', { class: 'hl-swatch', 'aria-hidden': 'true' });
    s.style.backgroundColor = swatch;
    c.append(s);
  }
  c.append(document.createTextNode(label));
  c.addEventListener('change', () => onChange(c.checked));
  return c;
}

export function radios(
  name: string,
  label: string,
  options: { value: string; label: string }[],
  value: string,
  onChange: (v: string) => void,
): { el: HTMLElement; set: (v: string) => void } {
  const group = document.createElement('vscode-radio-group');
  group.setAttribute('aria-label', label);
  const items = options.map((o) => {
    const r = document.createElement('vscode-radio');
    r.name = name;
    r.value = o.value;
    r.label = o.label;
    r.textContent = o.label;
    r.checked = o.value === value;
    r.addEventListener('change', () => {
      if (r.checked) onChange(o.value);
    });
    group.append(r);
    return r;
  });
  return {
    el: group,
    set: (v) => {
      for (const r of items) r.checked = r.value === v;
    },
  };
}
