// The host's answers to the notebook renderer (src/notebook/messages.ts), without vscode: the analysed outputs it
// keeps (by the sha-1 of their JSON), their head and flow answers, and the analysis itself (analyseOutput.ts).
// rendererHost.ts is the vscode glue around it; the webview tests drive the real renderer against it.
import type { AnalysisClient } from '../session/analysisClient';
import { answerPanelRequest, headMatrix } from '../session/wire';
import { AttentionDump } from '../dump/attentionDump';
import type { DumpPointer } from './format';
import { analyseOutput, outputKey, type AnalysedOutput } from './analyseOutput';
import { encodeFlow, encodeMatrix, encodeSession, type HostToRenderer, type RendererToHost } from './messages';

/** Analysed outputs kept for their head/flow requests (a 12 × 12-head, 256-token output holds 38 MB of float32). */
const KEEP = 4;

/** Where the request came from: its notebook's name, how to find a dump beside it, how to show an output in the panel. */
export interface NotebookContext {
  name: string;
  resolveDump(d: DumpPointer): string;
  openInPanel(a: AnalysedOutput): Promise<void>;
}

export class OutputService {
  /** By output key, oldest first; a failed analysis is dropped so the next request tries again. */
  private readonly kept = new Map<string, Promise<AnalysedOutput>>();

  constructor(
    private readonly analysis: AnalysisClient,
    private readonly log: (line: string) => void = () => undefined,
  ) {}

  /** The reply to one message (errors become `error` replies: the caller only posts what this returns). */
  async answer(msg: RendererToHost, nb: NotebookContext): Promise<HostToRenderer> {
    try {
      switch (msg.type) {
        case 'analyse': {
          const a = await this.analysed(msg.payload, nb);
          return { type: 'analysed', id: msg.id, key: a.key, session: encodeSession(a.session) };
        }
        case 'matrix':
        case 'flow': {
          const a = await this.kept.get(msg.key)?.catch(() => undefined);
          if (!a) return { type: 'error', id: msg.id, message: 'This output is no longer held by the extension; it is analysed again.', expired: true };
          this.touch(msg.key);
          return msg.type === 'matrix'
            ? encodeMatrix(msg.id, headMatrix(a.attention, msg.layer, msg.head))
            : encodeFlow(msg.id, answerPanelRequest(a.attention, 'flow/rollout', { sessionId: 0, token: msg.token }));
        }
        case 'open-panel':
          await nb.openInPanel(await this.analysed(msg.payload, nb));
          return { type: 'opened', id: msg.id };
      }
    } catch (e) {
      return { type: 'error', id: msg.id, message: e instanceof Error ? e.message : String(e) };
    }
  }

  /** The analysis of an output's JSON text, shared by every request for the same text while it is kept. */
  analysed(text: string, nb: NotebookContext): Promise<AnalysedOutput> {
    const key = outputKey(text);
    const have = this.kept.get(key);
    if (have) {
      this.touch(key);
      return have;
    }
    const t0 = performance.now();
    const p = analyseOutput(text, { id: 0, title: `${nb.name}: attention`, analysis: this.analysis, resolveDump: (d) => nb.resolveDump(d) });
    p.then(
      (a) =>
        this.log(
          `Notebook output ${a.key.slice(0, 8)} of ${nb.name}: ${a.output.layers}×${a.output.headsPerLayer} heads, ${a.output.seq} tokens${a.dumpPath ? ' (dump file)' : ''}, analysed in ${(performance.now() - t0).toFixed(0)} ms`,
        ),
      (e: unknown) => {
        this.kept.delete(key);
        this.log(`Notebook output of ${nb.name} refused: ${e instanceof Error ? e.message : String(e)}`);
      },
    );
    this.kept.set(key, p);
    while (this.kept.size > KEEP) {
      const [oldest, q] = this.kept.entries().next().value as [string, Promise<AnalysedOutput>];
      this.kept.delete(oldest);
      void q.then(release, () => undefined);
    }
    return p;
  }

  private touch(key: string): void {
    const p = this.kept.get(key);
    if (p) {
      this.kept.delete(key);
      this.kept.set(key, p);
    }
  }

  dispose(): void {
    for (const p of this.kept.values()) void p.then(release, () => undefined);
    this.kept.clear();
  }
}

/** An evicted output's dump file is closed (inline attention is garbage once nothing holds it). */
function release(a: AnalysedOutput): void {
  if (a.attention instanceof AttentionDump) a.attention.close();
}

export { outputKey };
