"""`HostTarget`: the device engine built for the host (hostlib) as a `session.Target`.

    target = HostTarget.from_model(graph, "sparse", mode="int", cfg=TrainConfig(lr=0.05))
    summary = session.run(target, stream, heldout, RunConfig(...))

Same program bytes and same C code as on the board, so losses, predictions and learned weights are the
device's; what the host cannot measure is reported as such: `instructions` is 0 and `stats()` gives the
planned arena (exact: the engine uses nothing else) and a stack peak of 0, with `measured: False`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..compiler.compile import compile_model
from ..compiler.emit_train import TrainConfig, TrainProgram, emit_training
from ..compiler.scheme import Scheme
from ..hostlib import Trainer
from ..ir import Graph
from ..session import StepResult


class HostTarget:
    # No device clock: instructions are 0 on the host, so any positive value leaves the device-time axis at 0.
    clock_hz: float = 1.0

    def __init__(self, program: TrainProgram, checkpoint_dir: Path | None = None) -> None:
        self.program = program
        self.trainer = Trainer(program.blob)
        self.checkpoint_dir = checkpoint_dir
        self.steps = 0

    @classmethod
    def from_model(cls, graph: Graph, scheme: str | Path | Scheme, mode: str = "int",
                   cfg: TrainConfig | None = None, checkpoint_dir: Path | None = None) -> HostTarget:
        return cls(emit_training(compile_model(graph, scheme, mode=mode), cfg), checkpoint_dir)

    def train_step(self, x: np.ndarray, label: int) -> StepResult:
        loss, predicted = self.trainer.train_step(x, label)
        self.steps += 1
        return StepResult(loss=loss, predicted=predicted, instructions=0)

    def infer(self, x: np.ndarray) -> np.ndarray:
        return self.trainer.infer(x)

    def stats(self) -> dict[str, Any]:
        return {
            "target": "host",
            "peak_arena_bytes": self.trainer.arena_size,  # planned by the compiler; the engine allocates nothing else
            "peak_stack_bytes": 0,
            "measured": False,  # host build: instructions and stack are not measured (0)
            "program_bytes": len(self.program.blob),
            "state_bytes": sum(n for _, n in self.trainer.regions),
            "steps": self.steps,
        }

    def checkpoint(self) -> str:
        """Saves the learned state (the program's state regions) next to the run; returns the path."""
        if self.checkpoint_dir is None:
            return "memory (no checkpoint_dir)"
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        path = self.checkpoint_dir / "host-state.bin"
        path.write_bytes(self.trainer.state())
        return str(path)

    def restore(self, path: Path) -> None:
        self.trainer.set_state(Path(path).read_bytes())
