// The slice of plotly.js' API the Layers and Compare views and the PNG export use (the dist package ships no types).
declare module 'plotly.js-basic-dist-min' {
  export interface PlotDatum {
    customdata?: unknown;
    x?: unknown;
    y?: unknown;
  }
  export interface PlotMouseEvent {
    points: PlotDatum[];
  }
  export interface PlotlyHTMLElement extends HTMLElement {
    on(event: 'plotly_click', cb: (e: PlotMouseEvent) => void): void;
  }
  const Plotly: {
    newPlot(el: HTMLElement, data: object[], layout?: object, config?: object): Promise<PlotlyHTMLElement>;
    react(el: HTMLElement, data: object[], layout?: object, config?: object): Promise<PlotlyHTMLElement>;
    purge(el: HTMLElement): void;
    toImage(el: HTMLElement, opts: { format: 'png' | 'svg'; width: number; height: number }): Promise<string>;
    Plots: { resize(el: HTMLElement): void };
  };
  export default Plotly;
}
