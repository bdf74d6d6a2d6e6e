// Headlight panel entry: reads the inlined bootstrap, restores saved view state, builds the shell and
// hands session data to the views. Rendering only — all model work happens in the extension host.
import './csp';
import './styles.css';
import '@vscode-elements/elements/dist/vscode-tabs/index.js';
import '@vscode-elements/elements/dist/vscode-tab-header/index.js';
import '@vscode-elements/elements/dist/vscode-tab-panel/index.js';
import '@vscode-elements/elements/dist/vscode-progress-ring/index.js';
import { isPanelState, VIEW_NAMES, type HostNotification, type PanelState } from '../src/protocol';
import { listen, saveState, savedState } from './channel';
import { App } from './app';
import { setStrings } from './strings';

interface Boot {
  state?: unknown;
  loading?: { title: string; message: string };
  report?: boolean;
  strings?: unknown;
}

function readBoot(): Boot {
  const el = document.getElementById('headlight-bootstrap');
  try {
    return el?.textContent ? (JSON.parse(el.textContent) as Boot) : {};
  } catch {
    return {};
  }
}

const boot = readBoot();
setStrings(boot.strings); // before the shell is built: it reads its labels from the table
const saved = savedState();
const initial: PanelState | undefined = isPanelState(saved) ? saved : isPanelState(boot.state) ? boot.state : undefined;
const app = new App(document.getElementById('app')!, initial, (s) => saveState(s), { report: boot.report === true });
// Read-only timings for the webview tests and the benchmark (no behaviour hangs on it).
(window as unknown as { headlightTimings: () => unknown }).headlightTimings = () => app.timings;
if (boot.loading) app.showLoading(boot.loading.title, boot.loading.message);

listen(
  (msg: HostNotification) => {
    switch (msg.type) {
      case 'session/loading':
        app.showLoading(msg.title, msg.message);
        break;
      case 'session/data':
        app.showSession(msg.session, msg.state);
        break;
      case 'session/heads':
        app.showHeads(msg.sessionId, msg.heads, msg.thumbnails, msg);
        break;
      case 'session/error':
        app.showError(msg.message, msg.detail);
        break;
      case 'editor/cursorToken':
        app.highlightToken(msg.index);
        break;
      case 'head/focus':
        app.focusHead(msg.layer, msg.head, msg.view && VIEW_NAMES.includes(msg.view) ? msg.view : undefined);
        break;
      case 'compare/data':
        app.showCompare(msg.a, msg.b, msg.diff, msg.state);
        break;
      case 'session/effects':
        app.showEffects(msg.sessionId, msg.status, msg.effects, msg.message);
        break;
    }
  },
  {
    // Export view…: the host asks for the shown view as PNG bytes or SVG text (one reply, or why it could not).
    'export/render': ({ format }) => app.renderExport(format),
  },
);
