# ONNX weights <-> PyTorch modules, for the bundled models' build scripts: store a file's weights as float16 behind
# a Cast (to_fp16), read a file's weights back into its PyTorch module (torch_from_onnx, float32 or float16 behind
# a Cast), and fetch a model's float32 file from git once the committed one is float16 (committed_float32).
import os, re, subprocess
import numpy as np, onnx, torch
from onnx import helper, numpy_helper, TensorProto
from common import ROOT

# The last commit whose headlight-mini (and its checkpoints, no longer shipped) and tiny-bert files hold float32
# weights; fp16.py reproduces the committed float16 files, and mini_from_onnx.py recovers leg 2's weights, from these.
FLOAT32_COMMIT = "3b0620ba0230dce132080dc73daa6ca2e24ea4d4"

def to_fp16(model):
    """Stores every float initializer of 16+ values as float16 behind a Cast to float (same graph, half the bytes;
    the computation stays float32). Tensors of fewer than 16 values (scalars, shapes) keep their type."""
    g, casts = model.graph, []
    for init in g.initializer:
        if init.data_type != TensorProto.FLOAT or int(np.prod(init.dims)) < 16: continue
        name = init.name
        init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), name + ".f16"))
        casts.append(helper.make_node("Cast", [name + ".f16"], [name], to=TensorProto.FLOAT, name="cast." + name))
    nodes = casts + list(g.node)
    del g.node[:]
    g.node.extend(nodes)
    onnx.checker.check_model(model)
    return model

def to_fp16_weights(path):
    onnx.save(to_fp16(onnx.load(path)), path)

def is_float32(model):
    return not any(i.data_type == TensorProto.FLOAT16 for i in model.graph.initializer)

def at_float32_commit(rel):
    """The bytes of `rel` (repository path) at FLOAT32_COMMIT: also the files no longer in the working tree."""
    return subprocess.run(["git", "show", f"{FLOAT32_COMMIT}:{rel}"], cwd=ROOT, capture_output=True, check=True).stdout

def committed_float32(rel):
    """The float32 ONNX file at `rel` (repository path): the working file while it is float32, else FLOAT32_COMMIT's
    (headlight-mini's checkpoints are only there)."""
    if os.path.exists(f"{ROOT}/{rel}"):
        model = onnx.load(f"{ROOT}/{rel}")
        if is_float32(model): return model
    model = onnx.load_from_string(at_float32_commit(rel))
    assert is_float32(model), f"{rel} at {FLOAT32_COMMIT} is not float32"
    return model

def torch_from_onnx(model, module, linears):
    """Loads `module` (eval mode) with the weights of the ONNX `model` exported from the same class. Named
    initializers map to their state_dict key; the exporter's unnamed onnx::MatMul_* tensors are the Linear weights
    in `linears`, transposed, in the order the graph's MatMuls consume them. float16 initializers behind a Cast
    (to_fp16) load as the float32 values the graph computes with."""
    g = model.graph
    inits = {i.name: torch.from_numpy(numpy_helper.to_array(i).astype(np.float32)) for i in g.initializer}
    for n in g.node:                       # Cast(X.f16) -> X: the name the graph computes with
        if n.op_type == "Cast" and n.input[0] in inits: inits[n.output[0]] = inits.pop(n.input[0])
    sd = module.state_dict()
    order = []
    for n in g.node:
        if n.op_type == "MatMul":
            order += [x for x in n.input if x in inits and x not in sd and x not in order]
    assert len(order) == len(linears), (order, linears)
    new = {k: inits[k] for k in sd if k in inits}
    for k, src in zip(linears, order):
        new[k] = inits[src].t().contiguous()
    for k in sd:   # the exporter shares identical initializers: at init every LayerNorm is ones/zeros -> module default
        if k not in new and re.search(r"(^|\.)ln\w*\.(weight|bias)$", k):
            same = [v for n, v in inits.items() if n.rsplit(".", 1)[-1] == k.rsplit(".", 1)[1] and v.shape == sd[k].shape]
            if any(torch.equal(v, sd[k]) for v in same): new[k] = sd[k]
    missing = [k for k in sd if k not in new or new[k].shape != sd[k].shape]
    assert not missing, missing
    module.load_state_dict(new); module.eval()
    return module
