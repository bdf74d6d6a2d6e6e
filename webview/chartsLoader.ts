// plotly, on demand: the panel's page carries the charts bundle's address on its own script element
// (data-charts), and the first chart loads it under the page's nonce. The standalone report inlines the
// bundle instead, so it is already there.
import type PlotlyApi from 'plotly.js-basic-dist-min';

export type Plotly = typeof PlotlyApi;
type WithCharts = { HeadlightCharts?: Plotly };

// Read while this bundle's own script element is the current one (top-level, synchronous).
const self = document.currentScript as HTMLScriptElement | null;
let chartsSrc = self?.dataset.charts;
const nonce = self?.nonce;
let loading: Promise<Plotly> | undefined;

/** Where the charts bundle is, for a page whose script carries no data-charts (the notebook renderer: an ES module). */
export function setChartsSource(src: string): void {
  chartsSrc ??= src;
}

/** plotly if it is loaded already (resize handlers have nothing to resize before). */
export function loadedPlotly(): Plotly | undefined {
  return (globalThis as WithCharts).HeadlightCharts;
}

/** plotly, loading dist/charts.js the first time. */
export function plotly(): Promise<Plotly> {
  const ready = loadedPlotly();
  if (ready) return Promise.resolve(ready);
  loading ??= new Promise<Plotly>((resolve, reject) => {
    if (!chartsSrc) {
      reject(new Error('the charts bundle is not available in this page'));
      return;
    }
    const s = document.createElement('script');
    if (nonce) s.nonce = nonce;
    s.src = chartsSrc;
    s.onload = () => {
      const p = loadedPlotly();
      if (p) resolve(p);
      else reject(new Error('the charts bundle did not load'));
    };
    s.onerror = () => {
      loading = undefined;
      reject(new Error('the charts bundle could not be loaded'));
    };
    document.head.append(s);
  });
  return loading;
}
