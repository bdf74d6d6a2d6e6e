import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { listBundledChoices, findBundledChoice } from '../../../src/engine';
import { WEBVIEW_STRINGS } from '../../../src/protocol';

// package.json's contributions as a VS Code user meets them: titles, menus, settings, keybinding,
// capabilities, marketplace fields, and the English bundle every %key% points into.
const ROOT = path.resolve(__dirname, '..', '..', '..');
const raw = fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8');
const pkg = JSON.parse(raw);
const nls = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.nls.json'), 'utf8')) as Record<string, string>;
const text = (v: string) => (/^%(.+)%$/.exec(v) ? nls[/^%(.+)%$/.exec(v)![1]] : v);

describe('package.json contributions', () => {
  it('every %key% has an English string and every string is used', () => {
    const used = new Set([...raw.matchAll(/"%([^"%]+)%"/g)].map((m) => m[1]));
    for (const k of used) assert.ok(typeof nls[k] === 'string' && nls[k].length > 0, `package.nls.json lacks ${k}`);
    for (const k of Object.keys(nls)) assert.ok(used.has(k), `package.nls.json has unused ${k}`);
  });

  it('titles commands in Title Case, as VS Code titles its own', () => {
    const small = new Set(['a', 'an', 'the', 'of', 'in', 'on', 'to', 'for', 'and', 'or', 'with']);
    for (const c of pkg.contributes.commands as { command: string; title: string }[]) {
      const words = text(c.title).replace(/…$/, '').split(' ');
      words.forEach((w, i) => assert.ok(i > 0 && small.has(w) ? true : /^[A-Z]/.test(w), `${c.command}: "${text(c.title)}"`));
    }
  });

  it('binds Explain Attention to a Ctrl+K chord, never Ctrl+Alt (AltGr on European layouts)', () => {
    const kb = (pkg.contributes.keybindings as { command: string; key: string; mac: string }[]).find((k) => k.command === 'headlight.explainAttention')!;
    assert.equal(kb.key, 'ctrl+k ctrl+g');
    assert.equal(kb.mac, 'cmd+k cmd+g');
    for (const k of pkg.contributes.keybindings as { key: string }[]) assert.ok(!/ctrl\+alt|alt\+ctrl/.test(k.key), k.key);
  });

  it("shows Find Head and Export in the palette only with a panel, and puts actions on the panel's title bar", () => {
    const palette = pkg.contributes.menus.commandPalette as { command: string; when: string }[];
    for (const c of ['headlight.findHead', 'headlight.exportView']) assert.equal(palette.find((p) => p.command === c)?.when, 'headlight.panelOpen');
    const title = pkg.contributes.menus['editor/title'] as { command: string; when: string }[];
    assert.ok(title.length >= 3);
    for (const t of title) assert.equal(t.when, "activeWebviewPanelId == 'headlight.attention'");
    const src = fs.readFileSync(path.join(ROOT, 'src', 'host', 'controller.ts'), 'utf8');
    assert.match(src, /PANEL_OPEN_CONTEXT = 'headlight\.panelOpen'/);
    assert.match(fs.readFileSync(path.join(ROOT, 'src', 'panel', 'attentionPanel.ts'), 'utf8'), /PANEL_VIEW_TYPE = 'headlight\.attention'/);
  });

  it('offers exactly the bundled models as the headlight.model enum, each described', () => {
    const p = pkg.contributes.configuration.properties['headlight.model'];
    assert.deepEqual(
      p.enum,
      listBundledChoices(ROOT).map((c) => c.name),
    );
    assert.equal(p.enumDescriptions.length, p.enum.length);
    assert.ok(p.enum.includes(p.default));
    assert.equal(findBundledChoice(ROOT, 'headlight-small@step-02500')?.name, 'headlight-small@step-2500', 'zero-padded steps still resolve');
    // headlight-mini's checkpoints are no longer shipped: a setting that still names one resolves to nothing.
    assert.equal(findBundledChoice(ROOT, 'headlight-mini@step-2700'), undefined);
  });

  it('bounds headlight.maxTokens as an integer and restricts every path-like or hardware setting in untrusted workspaces', () => {
    const p = pkg.contributes.configuration.properties['headlight.maxTokens'];
    assert.equal(p.type, 'integer');
    assert.ok(p.minimum >= 1 && p.maximum >= p.default && p.default >= p.minimum);
    assert.deepEqual([...pkg.capabilities.untrustedWorkspaces.restrictedConfigurations].sort(), [
      'headlight.executionProviders',
      'headlight.modelPath',
      'headlight.tokenizerPath',
    ]);
    assert.equal(pkg.capabilities.virtualWorkspaces.supported, 'limited');
    assert.ok(text(pkg.capabilities.virtualWorkspaces.description).length > 40);
  });

  it('carries the marketplace listing: a 128×128 PNG icon, repository, bugs, homepage, banner, categories', () => {
    const png = fs.readFileSync(path.join(ROOT, pkg.icon));
    assert.equal(png.subarray(1, 4).toString(), 'PNG');
    assert.equal(png.readUInt32BE(16), 128);
    assert.equal(png.readUInt32BE(20), 128);
    for (const k of ['homepage']) assert.match(pkg[k], /^https:\/\//);
    assert.match(pkg.repository.url, /^https:\/\//);
    assert.match(pkg.bugs.url, /^https:\/\//);
    assert.ok(pkg.galleryBanner.color && pkg.galleryBanner.theme);
    assert.ok(pkg.categories.includes('Machine Learning'));
  });

  it('has a getting-started walkthrough whose steps show an image and complete on their command', () => {
    const [w] = pkg.contributes.walkthroughs as {
      id: string;
      steps: { id: string; title: string; description: string; media: { image: string; altText: string }; completionEvents: string[] }[];
    }[];
    assert.deepEqual(
      w.steps.map((st) => st.id),
      ['openSample', 'explain', 'findHead', 'compare'],
    );
    const commands = new Set((pkg.contributes.commands as { command: string }[]).map((c) => c.command));
    for (const st of w.steps) {
      const png = fs.readFileSync(path.join(ROOT, st.media.image));
      assert.equal(png.subarray(1, 4).toString(), 'PNG', st.media.image);
      assert.ok(text(st.media.altText).length > 20, `${st.id} alt text`);
      for (const ev of st.completionEvents) assert.ok(commands.has(ev.replace(/^onCommand:/, '')), ev);
      for (const m of text(st.description).matchAll(/\(command:([\w.]+)\)/g)) assert.ok(commands.has(m[1]), m[1]);
    }
  });

  it('localises host strings through vscode.l10n with an English bundle others can translate', () => {
    assert.equal(pkg.l10n, './l10n');
    const bundle = JSON.parse(fs.readFileSync(path.join(ROOT, 'l10n', 'bundle.l10n.json'), 'utf8')) as Record<string, string>;
    const missing: string[] = [];
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (p.endsWith('.ts')) {
          for (const m of fs.readFileSync(p, 'utf8').matchAll(/l10n\.t\(\s*'((?:[^'\\]|\\.)*)'/g)) {
            const msg = m[1].replace(/\\'/g, "'");
            if (bundle[msg] !== msg) missing.push(`${path.relative(ROOT, p)}: ${msg}`);
          }
        }
      }
    };
    walk(path.join(ROOT, 'src'));
    for (const v of Object.values(WEBVIEW_STRINGS)) if (bundle[v] !== v) missing.push(`webview: ${v}`);
    assert.deepEqual(missing, [], 'run node scripts/l10n.mjs');
  });
});
