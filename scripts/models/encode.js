// Encodes a UTF-8 corpus with a tokenizer.json (npm `tokenizers`, the same code the extension runs) into
// little-endian uint16 token ids, so training sees exactly the tokens Headlight will produce.
// usage: node encode.js tokenizer.json corpus.txt out.u16
'use strict';
const fs = require('fs');
const { Tokenizer } = require('tokenizers');

async function main() {
  const [tokPath, corpusPath, outPath] = process.argv.slice(2);
  const tok = Tokenizer.fromFile(tokPath);
  const chunks = fs.readFileSync(corpusPath, 'utf8').split(/(?<=\n\n)/);
  const ids = [];
  for (let i = 0; i < chunks.length; i += 256) {
    const encs = await tok.encodeBatch(chunks.slice(i, i + 256), { addSpecialTokens: false });
    for (const e of encs) for (const id of e.getIds()) ids.push(id);
  }
  const out = new Uint16Array(ids);
  fs.writeFileSync(outPath, Buffer.from(out.buffer));
  console.log(`encode: ${chunks.length} chunks -> ${out.length} tokens -> ${outPath}`);
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
