"""Write a CRATE checkpoint (official keys, safetensors with the `config` metadata Whitebox writes)
as an ONNX model, for the peer benchmarks (scripts/bench-peers.sh): ONNX Runtime natively and
onnxruntime-web in the browser run exactly the network Whitebox runs.

The graph is built op by op from CRATE-SPEC.md with `onnx.helper`, following the NumPy reference
`tools/golden.py::forward` line for line (patchify, LayerNorm -> Linear -> LayerNorm, CLS + position
embedding, per layer MSSA with the shared qkv projection and ISTA in the official three-matmul
form, the mlp_head on the CLS token). It does not go through PyTorch: PyPI's Linux torch wheels
bring several GB of CUDA libraries, and an export from the project's own independent NumPy
reference is as independent of Whitebox's engines. `--check` runs the exported graph in ONNX
Runtime and compares its logits with `tools/golden.py::forward` (float64) on a random input.

    python tools/bench_peers/export_onnx.py MODEL.safetensors OUT.onnx [--batch 1] [--check]

Needs numpy, safetensors, onnx (and onnxruntime for --check).
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from safetensors import safe_open

LN_EPS = 1e-5  # CRATE-SPEC.md: every LayerNorm, as tools/golden.py


class Graph:
    def __init__(self):
        self.nodes, self.inits, self.n = [], [], 0

    def name(self, hint):
        self.n += 1
        return f"{hint}_{self.n}"

    def const(self, hint, value, dtype=np.float32):
        name = self.name(hint)
        self.inits.append(numpy_helper.from_array(np.array(value, dtype=dtype, order="C"), name))
        return name

    def op(self, kind, inputs, hint=None, **attrs):
        out = self.name(hint or kind.lower())
        self.nodes.append(helper.make_node(kind, inputs, [out], **attrs))
        return out

    def shape(self, dims):
        return self.const("shape", np.array(dims, dtype=np.int64), dtype=np.int64)

    def layer_norm(self, x, w, b):
        return self.op("LayerNormalization", [x, self.const("ln_w", w), self.const("ln_b", b)],
                       axis=-1, epsilon=LN_EPS)

    def linear(self, x, w, b=None):
        """x @ w.T (+ b), w as PyTorch stores it: (out, in)."""
        y = self.op("MatMul", [x, self.const("w", np.asarray(w).T)])
        return self.op("Add", [y, self.const("b", b)]) if b is not None else y


def build(params, cfg, batch):
    d, heads, depth, p = cfg["dim"], cfg["heads"], cfg["depth"], cfg["patch"]
    c, (h, w) = cfg["channels"], cfg["image"]
    gh, gw = h // p, w // p
    n, dh = gh * gw + 1, d // heads
    eta, lam = np.float32(cfg["eta"]), np.float32(cfg["lambda"])
    P = params
    g = Graph()
    # patchify: 'b c (h p1) (w p2) -> b (h w) (p1 p2 c)'
    x = g.op("Reshape", ["x", g.shape([batch, c, gh, p, gw, p])])
    x = g.op("Transpose", [x], perm=[0, 2, 4, 3, 5, 1])
    x = g.op("Reshape", [x, g.shape([batch, gh * gw, p * p * c])])
    x = g.layer_norm(x, P["to_patch_embedding.1.weight"], P["to_patch_embedding.1.bias"])
    x = g.linear(x, P["to_patch_embedding.2.weight"], P["to_patch_embedding.2.bias"])
    x = g.layer_norm(x, P["to_patch_embedding.3.weight"], P["to_patch_embedding.3.bias"])
    cls = g.const("cls", np.broadcast_to(P["cls_token"].reshape(1, 1, d), (batch, 1, d)))
    z = g.op("Concat", [cls, x], axis=1)
    z = g.op("Add", [z, g.const("pos", P["pos_embedding"])])
    scale = g.const("scale", np.array(1.0 / np.sqrt(dh)))
    for l in range(depth):
        pre = f"transformer.layers.{l}."
        # MSSA: one shared projection U (q = k = v), softmax over keys, to_out, residual.
        a = g.layer_norm(z, P[pre + "0.norm.weight"], P[pre + "0.norm.bias"])
        wq = g.linear(a, P[pre + "0.fn.qkv.weight"])
        wk = g.op("Reshape", [wq, g.shape([batch, n, heads, dh])])
        wk = g.op("Transpose", [wk], perm=[0, 2, 1, 3])
        wt = g.op("Transpose", [wk], perm=[0, 1, 3, 2])
        s = g.op("Mul", [g.op("MatMul", [wk, wt]), scale])
        att = g.op("Softmax", [s], axis=-1)
        o = g.op("Transpose", [g.op("MatMul", [att, wk])], perm=[0, 2, 1, 3])
        o = g.op("Reshape", [o, g.shape([batch, n, d])])
        o = g.linear(o, P[pre + "0.fn.to_out.0.weight"], P[pre + "0.fn.to_out.0.bias"])
        zh = g.op("Add", [z, o])
        # ISTA: ReLU(y + eta*(y D - (y D^T) D) - eta*lambda), the official three matmuls.
        y = g.layer_norm(zh, P[pre + "1.norm.weight"], P[pre + "1.norm.bias"])
        dict_ = P[pre + "1.fn.weight"]
        dn = g.const("d", dict_)
        grad1 = g.op("MatMul", [g.op("MatMul", [y, g.const("dT", dict_.T)]), dn])
        grad2 = g.op("MatMul", [y, dn])
        step = g.op("Mul", [g.op("Sub", [grad2, grad1]), g.const("eta", np.array(eta))])
        pre_act = g.op("Sub", [g.op("Add", [y, step]), g.const("eta_lam", np.array(eta * lam))])
        z = g.op("Relu", [pre_act])
    cls_out = g.op("Gather", [z, g.const("zero", np.array(0, dtype=np.int64), dtype=np.int64)], axis=1)
    hh = g.layer_norm(cls_out, P["mlp_head.0.weight"], P["mlp_head.0.bias"])
    logits = g.linear(hh, P["mlp_head.1.weight"], P["mlp_head.1.bias"])
    if "head.weight" in P:
        logits = g.linear(logits, P["head.weight"], P["head.bias"])
    g.nodes.append(helper.make_node("Identity", [logits], ["logits"]))
    classes = (P["head.weight"] if "head.weight" in P else P["mlp_head.1.weight"]).shape[0]
    graph = helper.make_graph(
        g.nodes, "crate",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, c, h, w])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [batch, classes])],
        g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="whitebox tools/bench_peers/export_onnx.py")
    model.ir_version = 8  # what ONNX Runtime 1.2x and onnxruntime-web accept for opset 17
    onnx.checker.check_model(model)
    return model


def load(path):
    with safe_open(str(path), "np") as f:
        meta = f.metadata() or {}
        if "config" not in meta:
            sys.exit(f"{path}: no `config` metadata (write it with `whitebox init` or `whitebox convert`)")
        return {k: f.get_tensor(k).astype(np.float32) for k in f.keys()}, json.loads(meta["config"])


def check(model, params, cfg, batch):
    import onnxruntime as ort
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import golden  # the project's NumPy reference of CRATE-SPEC.md

    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, cfg["channels"], *cfg["image"])).astype(np.float32)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    got = sess.run(["logits"], {"x": x})[0].astype(np.float64)
    want = golden.forward(params, x, cfg)[0]["logits"]
    rel = np.abs(got - want).max() / max(np.abs(want).max(), 1e-12)
    print(f"check: ONNX Runtime vs tools/golden.py logits, max abs diff / max |logit| = {rel:.2e}")
    if not rel < 1e-4:
        sys.exit("check FAILED: the exported graph does not compute CRATE")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("weights")
    ap.add_argument("out")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args()
    params, cfg = load(a.weights)
    model = build(params, cfg, a.batch)
    onnx.save(model, a.out)
    print(f"wrote {a.out} (batch {a.batch}, {sum(v.size for v in params.values())} parameters)")
    if a.check:
        check(model, params, cfg, a.batch)


if __name__ == "__main__":
    main()
