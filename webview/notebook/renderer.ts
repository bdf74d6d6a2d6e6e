// Entry of dist/notebook-renderer.js (package.json contributes.notebookRenderer): VS Code imports it as an ES
// module in the notebook's webview and calls `activate`. Each Headlight output (src/notebook/format.ts) becomes an
// OutputView. Text from the output only ever reaches the page as text nodes and canvas drawing (webview/dom.ts).
import '@vscode-elements/elements/dist/vscode-tabs/index.js';
import '@vscode-elements/elements/dist/vscode-tab-header/index.js';
import '@vscode-elements/elements/dist/vscode-tab-panel/index.js';
import '@vscode-elements/elements/dist/vscode-progress-ring/index.js';
import panelCss from '../styles.css';
import notebookCss from './notebook.css';
import { setChartsSource } from '../chartsLoader';
import { OutputView } from './outputView';
import { HostLink } from './hostLink';
import type { RendererApi, RendererContext } from './rendererApi';

/**
 * The panel's stylesheet, nested under .hl-nb so it styles Headlight's outputs and nothing else in the notebook
 * (its `body` rule becomes `.hl-nb body`, which matches nothing). A constructed sheet: no <style> element, so no
 * inline style the page's CSP would have to allow.
 */
function adoptStyles(): void {
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(`.hl-nb {\n${panelCss}\n}\n${notebookCss}`);
  document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
}

export function activate(ctx: RendererContext): RendererApi {
  adoptStyles();
  // plotly (dist/charts.js) sits beside this bundle; an ES module has no script element to say where.
  setChartsSource(new URL('./charts.js', import.meta.url).href);
  const link = HostLink.of(ctx);
  const views = new Map<string, { view: OutputView; abort: AbortController }>();
  const drop = (id: string) => {
    const v = views.get(id);
    if (!v) return;
    v.abort.abort();
    v.view.dispose();
    views.delete(id);
  };
  return {
    async renderOutputItem(item, element, signal) {
      drop(item.id);
      const abort = new AbortController();
      signal.addEventListener('abort', () => abort.abort(), { once: true });
      const view = new OutputView(item.id, link);
      views.set(item.id, { view, abort });
      element.replaceChildren(view.root);
      await view.render(item.data(), abort.signal);
    },
    disposeOutputItem(id) {
      if (id === undefined) for (const k of [...views.keys()]) drop(k);
      else drop(id);
    },
  };
}
