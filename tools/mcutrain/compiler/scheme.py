"""Update schemes: which layers update their bias, and which update the first k output channels of their weights.

A scheme is resolved against one graph; layers are the graph's weighted ops (CONV_2D, DEPTHWISE_CONV_2D,
FULLY_CONNECTED), addressed by op index or op name. Named schemes: `full`, `last-layer`, `bias-only`, `sparse`
(a default heuristic); anything else is read as a JSON file (layout in docs/schemes.md).
Every problem is one `SchemeError` line.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..ir import Graph, Op

WEIGHTED_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")
NAMED_SCHEMES = ("full", "last-layer", "bias-only", "sparse")


class SchemeError(ValueError):
    """A scheme that does not fit the model; the message is one line for the user."""


@dataclass(frozen=True)
class LayerUpdate:
    op_index: int
    bias: bool  # update the bias
    k: int  # number of leading output channels whose weights are updated (0 = weights frozen)


@dataclass
class Scheme:
    name: str
    layers: dict[int, LayerUpdate] = field(default_factory=dict)  # op index -> update; absent = frozen

    def updated_ops(self) -> list[int]:
        return sorted(i for i, u in self.layers.items() if u.bias or u.k > 0)

    def lowest_updated(self) -> int | None:
        ops = self.updated_ops()
        return ops[0] if ops else None

    def to_golden(self) -> dict[int, dict[str, Any]]:
        """The scheme as golden/backward.py takes it: op index -> {"bias", "weight_channels"}."""
        return {i: {"bias": u.bias, "weight_channels": u.k} for i, u in self.layers.items()}

    def to_json(self, graph: Graph) -> dict[str, Any]:
        rows = []
        for i in self.updated_ops():
            u = self.layers[i]
            rows.append({"layer": graph.ops[i].name or i, "index": i, "bias": u.bias, "k": u.k})
        return {"name": self.name, "layers": rows}


def out_channels(graph: Graph, op: Op) -> int:
    w = graph.tensors[op.inputs[1]].shape
    return w[-1] if op.kind == "DEPTHWISE_CONV_2D" else w[0]


def weighted_ops(graph: Graph) -> list[int]:
    return [i for i, op in enumerate(graph.ops) if op.kind in WEIGHTED_OPS]


def has_bias(op: Op) -> bool:
    return op.input(2) >= 0


def _all(graph: Graph, name: str, bias: bool, weights: bool) -> Scheme:
    layers = {}
    for i in weighted_ops(graph):
        op = graph.ops[i]
        layers[i] = LayerUpdate(i, bias and has_bias(op), out_channels(graph, op) if weights else 0)
    return Scheme(name, layers)


def _last_layer(graph: Graph) -> Scheme:
    idx = weighted_ops(graph)
    if not idx:
        raise SchemeError(f"model '{graph.name}' has no weighted layers to update")
    op = graph.ops[idx[-1]]
    return Scheme("last-layer", {idx[-1]: LayerUpdate(idx[-1], has_bias(op), out_channels(graph, op))})


def _sparse(graph: Graph, bias_fraction: float = 0.4, ratios: tuple[float, ...] = (0.125, 0.25, 0.5)) -> Scheme:
    """Default heuristic until `mcutrain search` produces a per-model scheme.

    Biases of the last ~40 % of weighted layers; the classifier (last layer) in full; then the pointwise
    (1x1) convs nearest the end, within the bias region, at 1/8, 1/4, 1/2 of their output channels (the
    deepest, widest layer gets the smallest share, which keeps the weight-gradient buffers about equal).
    """
    idx = weighted_ops(graph)
    if not idx:
        raise SchemeError(f"model '{graph.name}' has no weighted layers to update")
    n_bias = max(1, math.ceil(bias_fraction * len(idx)))
    tail = idx[-n_bias:]
    layers = {i: LayerUpdate(i, has_bias(graph.ops[i]), 0) for i in tail}
    last = idx[-1]
    layers[last] = LayerUpdate(last, has_bias(graph.ops[last]), out_channels(graph, graph.ops[last]))
    pointwise = [i for i in reversed(tail[:-1]) if _is_pointwise(graph, graph.ops[i])]
    for i, r in zip(pointwise, ratios, strict=False):
        c = out_channels(graph, graph.ops[i])
        layers[i] = LayerUpdate(i, layers[i].bias, max(1, int(c * r)))
    return Scheme("sparse", layers)


def _is_pointwise(graph: Graph, op: Op) -> bool:
    if op.kind != "CONV_2D":
        return False
    w = graph.tensors[op.inputs[1]].shape
    return w[1] == 1 and w[2] == 1


def named_scheme(graph: Graph, name: str) -> Scheme:
    if name == "full":
        return _all(graph, "full", bias=True, weights=True)
    if name == "bias-only":
        return _all(graph, "bias-only", bias=True, weights=False)
    if name == "last-layer":
        return _last_layer(graph)
    if name == "sparse":
        return _sparse(graph)
    raise SchemeError(f"unknown scheme '{name}'; use one of {', '.join(NAMED_SCHEMES)} or a JSON file")


def resolve_scheme(graph: Graph, scheme: str | Path | Scheme) -> Scheme:
    """A Scheme object, a named scheme, or a path to a JSON scheme file."""
    if isinstance(scheme, Scheme):
        return scheme
    s = str(scheme)
    if s in NAMED_SCHEMES:
        return named_scheme(graph, s)
    if not s.endswith(".json") and not Path(s).exists():
        raise SchemeError(f"unknown scheme '{s}'; use one of {', '.join(NAMED_SCHEMES)} or a JSON file")
    return load_scheme(graph, s)


def load_scheme(graph: Graph, path: str | Path) -> Scheme:
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except OSError as e:
        raise SchemeError(f"{path}: cannot read scheme file ({e.strerror})") from None
    except json.JSONDecodeError as e:
        raise SchemeError(f"{path}: not valid JSON (line {e.lineno}: {e.msg})") from None
    return scheme_from_dict(graph, data, source=str(path))


def scheme_from_dict(graph: Graph, data: Any, source: str = "<scheme>") -> Scheme:
    if not isinstance(data, dict) or not isinstance(data.get("layers"), list):
        raise SchemeError(f"{source}: a scheme is an object with a 'layers' list (see docs/schemes.md)")
    extra = set(data) - {"name", "layers", "model", "budget_bytes", "notes"}
    if extra:
        raise SchemeError(f"{source}: unknown top-level key '{sorted(extra)[0]}' (see docs/schemes.md)")
    name = str(data.get("name", Path(source).stem))
    layers: dict[int, LayerUpdate] = {}
    for n, row in enumerate(data["layers"]):
        u = _parse_row(graph, row, f"{source}: layers[{n}]")
        if u.op_index in layers:
            raise SchemeError(f"{source}: layers[{n}] names layer {u.op_index} a second time")
        layers[u.op_index] = u
    return Scheme(name, layers)


def _parse_row(graph: Graph, row: Any, where: str) -> LayerUpdate:
    if not isinstance(row, dict) or "layer" not in row:
        raise SchemeError(f"{where}: each entry is an object with a 'layer' (op name or index)")
    extra = set(row) - {"layer", "bias", "k", "ratio", "index"}
    if extra:
        raise SchemeError(f"{where}: unknown key '{sorted(extra)[0]}' (allowed: layer, bias, k, ratio)")
    i = find_layer(graph, row["layer"], where)
    op = graph.ops[i]
    if op.kind not in WEIGHTED_OPS:
        raise SchemeError(f"{where}: layer {i} '{op.name}' is a {op.kind}, which has no weights to update")
    c = out_channels(graph, op)
    bias = row.get("bias", False)
    if not isinstance(bias, bool):
        raise SchemeError(f"{where}: 'bias' must be true or false")
    if bias and not has_bias(op):
        raise SchemeError(f"{where}: layer {i} '{op.name}' has no bias to update")
    if "k" in row and "ratio" in row:
        raise SchemeError(f"{where}: give either 'k' or 'ratio', not both")
    k = row.get("k", 0)
    if "ratio" in row:
        r = row["ratio"]
        if isinstance(r, bool) or not isinstance(r, int | float) or not 0 <= r <= 1:
            raise SchemeError(f"{where}: 'ratio' must be a number between 0 and 1 (got {r!r})")
        k = 0 if r == 0 else max(1, round(c * r))
    if k == "all":
        k = c
    if isinstance(k, bool) or not isinstance(k, int) or k < 0:
        raise SchemeError(f"{where}: 'k' must be a channel count >= 0 or \"all\" (got {k!r})")
    if k > c:
        raise SchemeError(f"{where}: k={k} > C_out={c} of layer {i} '{op.name}'")
    return LayerUpdate(i, bias, k)


def find_layer(graph: Graph, ref: Any, where: str) -> int:
    """Op index from an index or an op name (exact, or a unique suffix such as 'Conv2d_13_pointwise/Relu6')."""
    if isinstance(ref, bool):
        raise SchemeError(f"{where}: 'layer' must be an op name or index (got {ref!r})")
    if isinstance(ref, int):
        if not 0 <= ref < len(graph.ops):
            raise SchemeError(f"{where}: unknown layer {ref}; the model has ops 0..{len(graph.ops) - 1}")
        return ref
    if not isinstance(ref, str):
        raise SchemeError(f"{where}: 'layer' must be an op name or index (got {ref!r})")
    exact = [i for i, op in enumerate(graph.ops) if op.name == ref]
    if exact:
        return exact[0]
    suffix = [i for i, op in enumerate(graph.ops) if op.name.endswith("/" + ref)]
    if len(suffix) == 1:
        return suffix[0]
    if len(suffix) > 1:
        raise SchemeError(f"{where}: layer name '{ref}' matches {len(suffix)} ops; give the full name or index")
    raise SchemeError(f"{where}: unknown layer '{ref}' (layers are op names or indices 0..{len(graph.ops) - 1})")
