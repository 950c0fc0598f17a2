"""memplan.plan: no two buffers alive at the same time share bytes; peak >= lower bound."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mcutrain.compiler.memplan import Buffer, plan


def test_chain_reuses_memory() -> None:
    # a -> b -> c -> d, each op reads one buffer and writes the next: two buffers at a time suffice
    bufs = [Buffer("a", 100, 0, 0), Buffer("b", 60, 0, 1), Buffer("c", 100, 1, 2), Buffer("d", 60, 2, 2)]
    p = plan(bufs)
    assert p.lower_bound_bytes == 160
    assert p.peak_bytes == 160
    assert p.offsets["a"] == p.offsets["c"]


def test_alignment_and_empty() -> None:
    p = plan([Buffer("x", 3, 0, 1, alignment=1), Buffer("y", 5, 0, 1, alignment=8)])
    assert p.offsets["y"] % 8 == 0
    assert plan([]).peak_bytes == 0


@st.composite
def buffers(draw):
    n = draw(st.integers(1, 25))
    out = []
    for i in range(n):
        a = draw(st.integers(0, 20))
        b = draw(st.integers(a, 20))
        out.append(Buffer(f"b{i}", draw(st.integers(0, 5000)), a, b, draw(st.sampled_from([1, 4, 16]))))
    return out


@settings(max_examples=300, deadline=None)
@given(buffers())
def test_plan_is_valid(bufs: list[Buffer]) -> None:
    p = plan(bufs)
    for b in bufs:
        assert p.offsets[b.name] % b.alignment == 0
        assert p.offsets[b.name] + b.size <= p.peak_bytes or b.size == 0
    for i, x in enumerate(bufs):
        for y in bufs[i + 1:]:
            if x.size and y.size and x.overlaps(y):
                xo, yo = p.offsets[x.name], p.offsets[y.name]
                assert xo + x.size <= yo or yo + y.size <= xo, (x, y, xo, yo)
    assert p.lower_bound_bytes <= p.peak_bytes
