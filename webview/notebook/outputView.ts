// One Headlight output in a notebook: the panel's shell and views (webview/app.ts, views/*) over the output's
// attention, with the roles, catalog and charts from the extension host's analysis (the same as the panel's), an
// "Open in panel" button, and clear messages for outputs that cannot be shown.
import { defaultPanelState, type PanelState, type SessionData } from '../../src/protocol';
import { oversizeMessage, parseOutput, type InlineAttention, type NotebookOutput } from '../../src/notebook/format';
import { decodeFlow, decodeMatrix, decodeSession } from '../../src/notebook/messages';
import { App } from '../app';
import { h } from '../dom';
import { answerFor } from './channelShim';
import { HostError, type HostLink } from './hostLink';
import { checkHeads, headBytes, inlineBytes } from './decode';

let nextSessionId = 1;
/** View state per output id, so an output drawn again (scrolled back into view, re-run) keeps its tab and head. */
const states = new Map<string, PanelState>();

/** How long the analysis may take before the output says the extension has not answered (144 heads at 1,024 tokens take ~1 s). */
const SLOW_HOST_MS = 20_000;

const NO_HOST =
  "The roles, the head catalog and the Layers charts come from Headlight's analysis, which runs in the Headlight extension; it is not reachable from this view. Arcs is drawn from the attention saved in this output.";

export class OutputView {
  readonly root = h('div', { class: 'hl-nb' });
  private readonly status = h('span', { class: 'hl-nb-status', role: 'status', 'aria-live': 'polite' });
  private readonly openButton = h(
    'button',
    { class: 'hl-button hl-nb-open', type: 'button', title: 'Show this output in the Headlight panel beside the notebook' },
    'Open in panel',
  );
  private readonly appRoot = h('div', { class: 'hl-nb-app' });
  private readonly sessionId = nextSessionId++;
  private app: App | undefined;
  private key: Promise<string> | undefined;
  private unlink: (() => void) | undefined;

  constructor(
    private readonly outputId: string,
    private readonly link: HostLink | undefined,
  ) {
    this.openButton.hidden = !link;
    this.openButton.addEventListener('click', () => void this.openInPanel());
    this.root.append(h('div', { class: 'hl-nb-bar' }, this.openButton, this.status), this.appRoot);
  }

  private text = '';

  async render(bytes: Uint8Array, signal: AbortSignal): Promise<void> {
    const big = oversizeMessage(bytes.length);
    if (big) return this.fail(big);
    let o: NotebookOutput;
    try {
      this.text = new TextDecoder().decode(bytes);
      o = parseOutput(JSON.parse(this.text));
    } catch (e) {
      return this.fail(e instanceof SyntaxError ? `This Headlight output is not valid JSON (${e.message.slice(0, 120)}).` : message(e));
    }
    let local: { a: InlineAttention; raw: Uint8Array } | undefined;
    if (o.attention) {
      this.say('Reading the attention…');
      try {
        const raw = await inlineBytes(o, o.attention, signal);
        o = { ...o, causal: await checkHeads(o, o.attention, raw, signal) };
        local = { a: o.attention!, raw };
      } catch (e) {
        if (signal.aborted) return;
        return this.fail(message(e));
      }
    }
    this.answer(o, local);
    const state = states.get(this.outputId) ?? defaultPanelState(`notebook-output:${this.outputId}`, [0, 0, 0, 0], o.model);
    this.app = new App(this.appRoot, state, (s) => states.set(this.outputId, s), { report: true });
    const preview = previewSession(this.sessionId, o);
    if (!this.link) {
      const notice = o.dump
        ? `This output's attention is in the dump file ${o.dump.path}, which only the Headlight extension reads: the tokens are shown; the arcs and the roles need the extension.`
        : NO_HOST;
      this.app.showSession({ ...preview, notice }, state);
      this.say(o.dump ? 'Tokens only: the attention is in a dump file.' : 'Arcs from the saved attention; roles need the Headlight extension.');
      return;
    }
    this.app.showSession({ ...preview, analysing: true }, state);
    this.say('Analysing every head in the Headlight extension…');
    // An extension host that never answers (it failed to start, or is busy) should not look like work in progress forever.
    const slow = setTimeout(
      () => this.say('No answer from the Headlight extension yet (see its output channel, "Headlight"); Arcs is drawn from the saved attention meanwhile.'),
      SLOW_HOST_MS,
    );
    try {
      const session = await this.analyse();
      if (signal.aborted) return;
      // The output's own title (its model), not the notebook's name the host puts on the panel's.
      this.app.showSession({ ...session, id: this.sessionId, title: preview.title }, states.get(this.outputId) ?? state);
      this.say(`${session.heads.length} heads analysed, ${session.heads.filter((hd) => hd.roles.length).length} with a role.`);
    } catch (e) {
      if (signal.aborted) return;
      this.app.showError(`The Headlight extension could not analyse this output: ${message(e)}`);
      this.say('Analysis failed; see the message below.');
    } finally {
      clearTimeout(slow);
    }
  }

  /** Ask the host to analyse this output; `key` then names it in the host's later answers. */
  private async analyse(): Promise<SessionData> {
    const ask = this.link!.ask({ type: 'analyse', payload: this.text }, 'analysed');
    this.key = ask.then((m) => m.key);
    this.key.catch(() => undefined);
    return decodeSession((await ask).session);
  }

  /** A request the host answers from the analysed output; analysed again once if the host let it go. */
  private async withKey<T>(run: (key: string) => Promise<T>): Promise<T> {
    if (!this.link || !this.key) throw new Error('Flow and dump files need the Headlight extension, which is not reachable from this view.');
    try {
      return await run(await this.key);
    } catch (e) {
      if (!(e instanceof HostError && e.expired)) throw e;
      await this.analyse();
      return run(await this.key);
    }
  }

  /** The views' head and flow requests for this output's session: heads from the output itself when it holds them. */
  private answer(o: NotebookOutput, local: { a: InlineAttention; raw: Uint8Array } | undefined): void {
    this.unlink?.();
    this.unlink = answerFor(this.sessionId, {
      matrix: (layer, head) =>
        local
          ? Promise.resolve({ layer, head, seq: o.seq, data: headBytes(o, local.a, local.raw, layer, head) })
          : this.withKey((key) => this.link!.ask({ type: 'matrix', key, layer, head }, 'matrix')).then(decodeMatrix),
      flow: (token) => this.withKey((key) => this.link!.ask({ type: 'flow', key, token }, 'flow')).then(decodeFlow),
    });
  }

  private async openInPanel(): Promise<void> {
    if (!this.link || !this.text) return;
    this.openButton.disabled = true;
    this.say('Opening in the Headlight panel…');
    try {
      await this.link.ask({ type: 'open-panel', payload: this.text }, 'opened');
      this.say('Opened in the Headlight panel.');
    } catch (e) {
      this.say(`Could not open it in the panel: ${message(e)}`);
    } finally {
      this.openButton.disabled = false;
    }
  }

  private say(text: string): void {
    this.status.textContent = text;
  }

  private fail(text: string): void {
    this.openButton.hidden = true;
    this.say('');
    this.appRoot.replaceChildren(h('div', { class: 'hl-nb-error', role: 'alert' }, h('strong', {}, 'Headlight cannot show this output. '), text));
  }

  dispose(): void {
    this.unlink?.();
    this.root.remove();
  }
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** What the views can draw before (or without) the analysis: the tokens, the shape, no heads yet. */
function previewSession(id: number, o: NotebookOutput): SessionData {
  return {
    id,
    title: o.model ? `${o.model}: attention` : 'Attention',
    text: o.text,
    model: { name: o.model ?? 'notebook output', kind: o.causal === false ? 'bidirectional' : 'causal', layers: o.layers, headsPerLayer: o.headsPerLayer },
    tokens: o.tokens.map((t) => ({ text: t.text, start: t.start, end: t.end, special: t.special })),
    heads: [],
    metrics: [],
    thumbSize: 48,
    thumbnails: [],
  };
}
