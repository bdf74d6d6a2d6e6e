#!/usr/bin/python3
# Long-context bench model: a Llama-style decoder (RoPE computed from positions, so no position table
# limits the length; RMSNorm, SwiGLU, GQA 8 query / 2 kv heads repeated with Expand+Reshape, Trilu
# causal mask), 8 layers x 8 heads, d 512, head_dim 64, random weights, vocab 260 (the byte-level
# tokenizer of test/fixtures/decoders). Its 64 heads' attention at 4,096 tokens is 4.3 GB as float32:
# more than the 4 GB the explain may use, so the bench row proves the memory is bounded.
# The architecture is scripts/fixtures/make-decoders.py's, scaled up. Written to
# bench/results/long-context/model.onnx (git-ignored, ~100 MB).
# Run with Debian's python3 (torch 1.13): /usr/bin/python3 bench/make-long-context.py
import importlib.util
import os
import sys

import torch

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
spec = importlib.util.spec_from_file_location('decoders', os.path.join(ROOT, 'scripts', 'fixtures', 'make-decoders.py'))
dec = importlib.util.module_from_spec(spec)
spec.loader.exec_module(dec)

OUT = os.path.join(ROOT, 'bench', 'results', 'long-context')
dec.LAYERS = 8
CONFIG = dict(d=512, heads=8, kv=2, hd=64, ffn=1376, rot=64, norm='rms', mlp='swiglu', repeat='expand', mask='trilu',
              rope='compute', parallel=False, qkv_bias=False)

if __name__ == '__main__':
    torch.manual_seed(0)
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    model = dec.Decoder(CONFIG, False).eval()
    path = os.path.join(OUT, 'model.onnx')
    with torch.no_grad():
        torch.onnx.export(model, (torch.tensor([[5, 17, 99, 3]]),), path, input_names=['input_ids'], output_names=['logits'],
                          dynamic_axes={'input_ids': {0: 'batch', 1: 'sequence'}, 'logits': {0: 'batch', 1: 'sequence'}}, opset_version=17)
    print('wrote', path, os.path.getsize(path) // 2**20, 'MiB')
    sys.stdout.flush()
