// Prints every ordinary id of a tokenizer.json as JSON (the rule the repeat probe draws by, engine/probeIds.ts),
// so training scripts can draw repeated segments from exactly the tokens the probe will use.
// usage: npx tsx scripts/models/ordinary_ids.ts TOKENIZER_JSON > ids.json
import { loadTokenizer } from '../../src/engine/tokenize';
import { drawOrdinary } from '../../src/engine/probeIds';

async function main(): Promise<void> {
  const tok = loadTokenizer(process.argv[2]);
  const limit = Math.min(tok.tokenizer.getVocabSize(false), tok.idLimit);
  const d = await drawOrdinary(tok, limit, limit, 1);
  process.stdout.write(JSON.stringify({ ids: [...d.ids].sort((a, b) => a - b), checked: d.checked, rejected: d.rejected }) + '\n');
}
void main();
