#!/usr/bin/env node
// Command-line entry: the bundled CLI (npm run build produces dist/cli.js).
'use strict';
// No onnxruntime telemetry (dist/cli.js sets it too, first thing; here it is in place before anything loads).
process.env.ORT_DISABLE_TELEMETRY = '1';
const path = require('node:path');
const fs = require('node:fs');
const cli = path.join(__dirname, '..', 'dist', 'cli.js');
if (!fs.existsSync(cli)) {
  process.stderr.write('headlight: dist/cli.js is missing; run `npm run build` first.\n');
  process.exit(2);
}
require(cli);
