"""The importer against the real TFLite Micro person-detection model and hostile inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tflite

from mcutrain.paths import shared_data
from mcutrain.tflite_import import ModelError, load_tflite, parse_tflite

PD = shared_data() / "tflm_person_detection" / "person_detect.tflite"


def test_person_detection_structure() -> None:
    g = load_tflite(PD)
    kinds = [op.kind for op in g.ops]
    # Facts from shared/data/MANIFEST.md (counted by TFLite's own schema, not by us).
    assert len(kinds) == 31
    assert kinds.count("CONV_2D") == 14 and kinds.count("DEPTHWISE_CONV_2D") == 14
    assert kinds[-3:] == ["CONV_2D", "RESHAPE", "SOFTMAX"]
    x = g.tensors[g.inputs[0]]
    assert x.shape == (1, 96, 96, 1) and x.dtype == "int8" and x.zero_point == -1
    assert abs(x.scale - 1 / 127.5) < 1e-7
    y = g.tensors[g.outputs[0]]
    assert y.shape == (1, 2) and y.zero_point == -128 and y.scale == 1 / 256
    # MACs published for this model in shared/notes/environment.md.
    assert g.macs() == 7_157_888


def test_weights_are_per_channel_symmetric() -> None:
    g = load_tflite(PD)
    for op in g.ops:
        if op.kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            w = g.tensors[op.inputs[1]]
            assert w.quant is not None and w.data is not None
            out_ch = g.tensors[op.outputs[0]].shape[-1]
            assert w.quant.scale.size == out_ch
            assert np.all(w.quant.zero_point == 0)
            assert g.tensors[op.inputs[2]].dtype == "int32"


def test_first_layer_is_depthwise_with_multiplier() -> None:
    op = load_tflite(PD).ops[0]
    assert op.kind == "DEPTHWISE_CONV_2D"
    assert op.options == {
        "padding": "SAME",
        "stride_h": 2,
        "stride_w": 2,
        "activation": "RELU6",
        "depth_multiplier": 8,
    }


@pytest.mark.parametrize("cut", [0, 7, 100, 5000, 150_000])
def test_truncated_or_foreign_file_is_one_line_error(cut: int) -> None:
    buf = PD.read_bytes()[:cut]
    with pytest.raises(ModelError) as e:
        parse_tflite(buf, "m.tflite")
    assert "\n" not in str(e.value) and str(e.value).startswith("m.tflite:")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="cannot read model file"):
        load_tflite(tmp_path / "nope.tflite")


def test_unsupported_op_is_named_with_its_layer() -> None:
    # Rewrite the SOFTMAX opcode to TANH in the real flatbuffer: the importer must name op and layer.
    buf = bytearray(PD.read_bytes())
    m = tflite.Model.GetRootAsModel(buf, 0)
    for i in range(m.OperatorCodesLength()):
        oc = m.OperatorCodes(i)
        if oc.DeprecatedBuiltinCode() == tflite.BuiltinOperator.SOFTMAX:
            # field 0 (vtable slot 4) is deprecated_builtin_code, one int8 byte in the table.
            buf[oc._tab.Pos + oc._tab.Offset(4)] = tflite.BuiltinOperator.TANH
    with pytest.raises(ModelError, match=r"unsupported op TANH at layer 30 'MobilenetV1/Predictions/Reshape_1'"):
        parse_tflite(bytes(buf), "pd.tflite")
