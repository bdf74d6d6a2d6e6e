// webview/chartsLoader.ts for the notebook renderer (scripts/build.mjs swaps it in): the renderer is an ES module,
// which has no document.currentScript to carry the charts bundle's address, so plotly (dist/charts.js, beside this
// bundle) is found from import.meta.url and loaded the first time a chart is drawn.
import type * as Panel from '../chartsLoader';
import type { Plotly } from '../chartsLoader';

type WithCharts = { HeadlightCharts?: Plotly };
let loading: Promise<Plotly> | undefined;

export function loadedPlotly(): Plotly | undefined {
  return (globalThis as WithCharts).HeadlightCharts;
}

export function plotly(): Promise<Plotly> {
  const ready = loadedPlotly();
  if (ready) return Promise.resolve(ready);
  loading ??= new Promise<Plotly>((resolve, reject) => {
    const s = document.createElement('script');
    s.src = new URL('./charts.js', import.meta.url).href;
    s.onload = () => { const p = loadedPlotly(); if (p) resolve(p); else reject(new Error('the charts bundle did not load')); };
    s.onerror = () => { loading = undefined; reject(new Error('the charts bundle could not be loaded')); };
    document.head.append(s);
  });
  return loading;
}

// The swap must offer what the panel's module does (a missing export would only fail at run time).
const _sameApi: Omit<typeof Panel, 'Plotly'> = { loadedPlotly, plotly };
void _sameApi;
export type { Plotly };
