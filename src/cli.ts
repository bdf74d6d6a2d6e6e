// headlight explain FILE [--model DIR] [--json out.json] [--report out.html] [--attention] [--effects] [--routes TOKEN [--routes-threshold X]] [--max-tokens N] [--truncate] [--language ID]
// headlight explain --dump PATH [--json out.json] [--report out.html]
// Runs the engine (in its worker) without VS Code. Bad input: message on stderr, exit code 2.
import './noTelemetry'; // first: ORT_DISABLE_TELEMETRY=1 in the real process environment before the runtime loads
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EngineError } from './core/errors';
import { defaultClient, shutdownEngine } from './engine/explain';
import { SessionPipeline, type BuiltSession } from './session/pipeline';
import { toWireEffects } from './session/effectsWire';
import { resolveModelRef } from './engine/models';
import { buildReport, collectReportData } from './export/report';
import { defaultPanelState, ROUTES_MIN_THRESHOLD, ROUTES_THRESHOLD, type RequestMap, type RequestMethod } from './protocol';
import { languageOfPath } from './analysis/syntax/treeSitter';
import { buildDumpSessionAsync } from './session/dump';
import { answerPanelRequest, syntaxSummary } from './session/wire';
import { addAttentionJson, explainJson, jsonHead, jsonTokens, type WireEffects } from './cliJson';

const USAGE = `usage: headlight explain FILE [--model DIR] [--json OUT.json] [--report OUT.html] [--attention] [--effects] [--routes TOKEN [--routes-threshold X]] [--max-tokens N] [--truncate] [--language ID]
       headlight explain --dump PATH [--json OUT.json] [--report OUT.html]
  DIR holds model.onnx and tokenizer.json (default: the bundled headlight-small). FILE "-" reads stdin.
  The syntax roles read FILE by its extension (.py, .js, .ts, .tsx…; anything else as English prose), or as --language ID (a VS Code languageId).
  --dump analyses an attention dump (docs/dump-format.md; tokens.json may carry "language") exactly as the panel does.
  --report writes a standalone HTML report (the interactive panel, one offline file).
  --effects zero-ablates every head (largest |DLA| first) and adds heads[].effect (Δ loss of the next token in nats, per token too).
  --routes TOKEN traces the information-flow route behind token TOKEN's prediction (an index; negative counts from the end)
    and adds routes: every attention, residual and MLP edge carrying at least X of an update (default ${ROUTES_THRESHOLD}).
  heads[].dla is each head's direct logit attribution per token; heads[].candidates every role's score, awarded or not.`;

class UsageError extends Error {}

function parse(argv: string[]): {
  file: string;
  model?: string;
  json?: string;
  report?: string;
  attention: boolean;
  effects: boolean;
  routes?: number;
  routesThreshold: number;
  maxTokens?: number;
  truncate: boolean;
  dump?: string;
  language?: string;
} {
  const [cmd, ...rest] = argv;
  if (cmd !== 'explain') throw new UsageError(cmd ? `unknown command "${cmd}"` : 'missing command');
  const out = {
    file: '',
    model: undefined as string | undefined,
    json: undefined as string | undefined,
    report: undefined as string | undefined,
    attention: false,
    effects: false,
    routes: undefined as number | undefined,
    routesThreshold: ROUTES_THRESHOLD,
    maxTokens: undefined as number | undefined,
    truncate: false,
    dump: undefined as string | undefined,
    language: undefined as string | undefined,
  };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    const value = () => {
      const v = rest[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      return v;
    };
    if (a === '--model') out.model = value();
    else if (a === '--json') out.json = value();
    else if (a === '--report') out.report = value();
    else if (a === '--attention') out.attention = true;
    else if (a === '--effects') out.effects = true;
    else if (a === '--routes') {
      const n = Number(value());
      if (!Number.isInteger(n)) throw new UsageError('--routes needs a token index (an integer; negative counts from the end)');
      out.routes = n;
    } else if (a === '--routes-threshold') {
      const x = Number(value());
      if (!(x >= ROUTES_MIN_THRESHOLD && x <= 1)) throw new UsageError(`--routes-threshold needs a share between ${ROUTES_MIN_THRESHOLD} and 1`);
      out.routesThreshold = x;
    } else if (a === '--truncate') out.truncate = true;
    else if (a === '--dump') out.dump = value();
    else if (a === '--language') out.language = value();
    else if (a === '--max-tokens') {
      const n = Number(value());
      if (!Number.isInteger(n) || n < 1) throw new UsageError('--max-tokens needs a positive integer');
      out.maxTokens = n;
    } else if (a.startsWith('--')) throw new UsageError(`unknown option ${a}`);
    else if (!out.file) out.file = a;
    else throw new UsageError(`unexpected argument ${a}`);
  }
  if (out.dump !== undefined) {
    if (out.file) throw new UsageError(`--dump reads no FILE (got ${out.file})`);
    const bad = (['model', 'attention', 'effects', 'maxTokens', 'language', 'routes'] as const).find((k) => out[k] !== undefined && out[k] !== false);
    if (bad) throw new UsageError(`--dump runs no model: --${bad === 'maxTokens' ? 'max-tokens' : bad} does not apply`);
    return out;
  }
  if (!out.file) throw new UsageError('missing FILE');
  return out;
}

type Args = ReturnType<typeof parse>;

async function main(): Promise<number> {
  let args: Args;
  try {
    args = parse(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`headlight: ${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (args.dump !== undefined) return explainDump(args.dump, args.json, args.report);
  let text: string;
  try {
    text = fs.readFileSync(args.file === '-' ? 0 : args.file, 'utf8');
  } catch (e) {
    process.stderr.write(`headlight: cannot read ${args.file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}\n`);
    return 2;
  }
  return explainText(args, text);
}

/** `explain FILE`: the engine and analysis on `text`, written as JSON (and the report); the exit code. */
async function explainText(args: Args, text: string): Promise<number> {
  let pipeline: SessionPipeline | undefined;
  // dist/cli.js sits in <root>/dist, so the bundled models are at <root>/media/models.
  const modelDir = args.model ?? path.join(__dirname, '..', 'media', 'models', 'headlight-small');
  try {
    // The same path as the panel: engine, then the model's repeat probe (causal models), then the analysis.
    pipeline = new SessionPipeline(defaultClient());
    const ref = resolveModelRef(modelDir);
    const built = await pipeline.build({
      id: 1,
      title: path.basename(args.file),
      text,
      model: ref,
      maxTokens: args.maxTokens,
      truncate: args.truncate,
      // The syntax roles: the file read by its extension (or --language), the whole file as the document.
      syntax: { language: args.language ?? (args.file === '-' ? 'plaintext' : (languageOfPath(args.file) ?? 'plaintext')), text, offset: 0 },
      keep: !args.attention, // --attention writes every weight, so it needs them all in memory anyway
    });
    const r = built.result;
    const routes = args.routes !== undefined ? await traceRoute(built, args.routes, args.routesThreshold) : undefined;
    const effects = args.effects
      ? await pipeline.measureEffects(ref, r, {
          onProgress: (d, t) => process.stderr.write(`\rheadlight: head effects ${d}/${t}${d === t ? '\n' : ''}`),
        })
      : undefined;
    const wireEffects = effects ? toWireEffects(effects, built.reports, r.tokens, text, r.attention.headsPerLayer) : undefined;
    const out = explainJson(built, effects, wireEffects, routes);
    if (args.attention) addAttentionJson(out, r);
    if (args.report) await writeReport(args.report, args.file, built, wireEffects);
    const json = JSON.stringify(out);
    if (args.json) fs.writeFileSync(args.json, json);
    else if (!args.report) process.stdout.write(json + '\n');
    if (args.json)
      process.stderr.write(
        `headlight: ${r.tokens.length} tokens, ${r.attention.layers} layers × ${r.attention.headsPerLayer} heads (${r.model.kind}) → ${args.json}\n`,
      );
    return 0;
  } catch (e) {
    if (e instanceof EngineError) {
      process.stderr.write(`headlight: ${e.message} [${e.code}]\n`);
      return e.code === 'cancelled' || e.code === 'worker-crashed' || e.code === 'inference-failed' ? 1 : 2;
    }
    process.stderr.write(`headlight: internal error: ${(e as Error).stack ?? String(e)}\n`);
    return 1;
  } finally {
    await Promise.all([shutdownEngine(), pipeline?.analysis.dispose()]);
  }
}

/** The route behind one token's prediction (negative: from the end), through the same request the panel's Routes view makes. */
async function traceRoute(built: BuiltSession, at: number, threshold: number): Promise<Record<string, unknown>> {
  const { seq } = built.result.attention;
  const token = at < 0 ? seq + at : at;
  if (token < 0 || token >= seq) throw new EngineError('bad-request', `--routes ${at}: the text has ${seq} tokens (0 … ${seq - 1}, or −1 … −${seq}).`);
  try {
    return { ...(await built.source.request('routes/trace', { sessionId: 1, token, threshold })) };
  } catch (e) {
    return { token, error: (e as Error).message };
  }
}

/** The same report the panel's Export writes: the real webview bundle beside this file in dist/. */
async function writeReport(to: string, file: string, built: BuiltSession, wireEffects: WireEffects | undefined): Promise<void> {
  const request = <M extends RequestMethod>(method: M, p: RequestMap[M]['params']): Promise<RequestMap[M]['result']> => built.source.request(method, p);
  const absolute = file === '-' ? 'stdin' : path.resolve(file);
  const state = { ...defaultPanelState(file === '-' ? 'untitled:stdin' : `file://${absolute}`, [0, 0, 0, 0], built.result.model.name), layer: 0, head: 0 };
  const session = wireEffects ? { ...built.session, effects: wireEffects } : built.session;
  const data = await collectReportData(session, state, request);
  const html = buildReport(data, {
    js: fs.readFileSync(path.join(__dirname, 'webview.js'), 'utf8'),
    css: fs.readFileSync(path.join(__dirname, 'webview.css'), 'utf8'),
  });
  fs.writeFileSync(to, html);
  process.stderr.write(`headlight: report with ${data.matrices.length} head matrices → ${to}\n`);
}

/** `explain --dump PATH`: the panel's Open Attention Dump, without VS Code — roles, evidence, per-token syntax, optionally the report. */
async function explainDump(p: string, json: string | undefined, report: string | undefined): Promise<number> {
  let built;
  try {
    built = await buildDumpSessionAsync(p, { id: 1, title: `Attention dump: ${path.basename(path.resolve(p))}`, syntax: true });
  } catch (e) {
    if (e instanceof EngineError) {
      process.stderr.write(`headlight: ${e.message} [${e.code}]\n`);
      return 2;
    }
    process.stderr.write(`headlight: internal error: ${(e as Error).stack ?? String(e)}\n`);
    return 1;
  }
  try {
    const { dump, session, reports, syntax } = built;
    const out = {
      model: { name: dump.model, kind: dump.causal ? 'causal' : 'bidirectional', layers: dump.layers, headsPerLayer: dump.headsPerLayer },
      dump: { attention: dump.paths.attention, tokens: dump.paths.tokens, dtype: dump.dtype, ...(dump.language ? { language: dump.language } : {}) },
      tokens: jsonTokens(dump.tokens, session),
      layers: dump.layers,
      headsPerLayer: dump.headsPerLayer,
      ...(syntax ? { syntax: syntaxSummary(syntax) } : {}),
      ...(session.syntaxNote ? { syntaxNote: session.syntaxNote } : {}),
      ...(session.relations ? { relations: session.relations } : {}),
      heads: reports.map(jsonHead),
    };
    if (report) {
      const request = <M extends RequestMethod>(method: M, params: RequestMap[M]['params']): Promise<RequestMap[M]['result']> =>
        Promise.resolve(answerPanelRequest(dump, method, params));
      const state = { ...defaultPanelState(`file://${path.resolve(dump.paths.attention)}`, [0, 0, 0, 0], dump.model), layer: 0, head: 0 };
      const data = await collectReportData(session, state, request);
      fs.writeFileSync(
        report,
        buildReport(data, {
          js: fs.readFileSync(path.join(__dirname, 'webview.js'), 'utf8'),
          css: fs.readFileSync(path.join(__dirname, 'webview.css'), 'utf8'),
        }),
      );
      process.stderr.write(`headlight: report with ${data.matrices.length} head matrices → ${report}\n`);
    }
    const text = JSON.stringify(out);
    if (json) fs.writeFileSync(json, text);
    else if (!report) process.stdout.write(text + '\n');
    if (json) process.stderr.write(`headlight: dump ${dump.tokens.length} tokens, ${dump.layers} layers × ${dump.headsPerLayer} heads → ${json}\n`);
    return 0;
  } finally {
    built.dump.close();
  }
}

void main().then((code) => {
  process.exitCode = code;
});
