// Entry of dist/charts.js: plotly's partial bundle (about 1 MB), loaded by webview/chartsLoader.ts only when a
// chart is first drawn (Layers, Compare), so opening the panel does not parse it.
import Plotly from 'plotly.js-basic-dist-min';

(globalThis as { HeadlightCharts?: unknown }).HeadlightCharts = Plotly;
