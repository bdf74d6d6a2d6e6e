// Renders the marketplace icon (media/icon.png, 128×128) from media/headlight.svg with Debian's Chromium
// through playwright-core, so the PNG is never drawn by hand: `node scripts/renderIcon.mjs`.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const svg = fs.readFileSync(path.join(root, 'media', 'headlight.svg'), 'utf8');
const html = `<!doctype html><html><body style="margin:0;background:transparent">
<div style="width:128px;height:128px;border-radius:24px;background:#1e1e1e;display:flex;align-items:center;justify-content:center">
<img style="width:112px;height:112px" src="data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}"></div></body></html>`;
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
try {
  const page = await browser.newPage({ viewport: { width: 128, height: 128 }, deviceScaleFactor: 1 });
  await page.setContent(html);
  await page.locator('img').evaluate((img) => img.decode());
  await page.screenshot({ path: path.join(root, 'media', 'icon.png'), omitBackground: true });
} finally {
  await browser.close();
}
console.log('media/icon.png written');
