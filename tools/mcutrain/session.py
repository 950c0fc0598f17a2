"""The host side of a training run, independent of where the engine runs (host build, QEMU, real board).

The target computes everything that is reported: the loss, the prediction made before each update, held-out
logits, instruction counts, memory peaks. The host only streams inputs, counts and writes logs.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .trainlog import TrainLog, plot_accuracy


@dataclass
class StepResult:
    loss: float  # cross-entropy of this sample, computed by the target before the update
    predicted: int  # argmax of the logits the target computed before the update
    instructions: int  # instructions (QEMU) or cycles (real board) spent on this step


class Target(Protocol):
    clock_hz: float

    def train_step(self, x: np.ndarray, label: int) -> StepResult: ...
    def infer(self, x: np.ndarray) -> np.ndarray: ...  # int8 logits computed by the target
    def stats(self) -> dict[str, Any]: ...  # peak_arena_bytes, peak_stack_bytes, ...
    def checkpoint(self) -> str: ...  # saves learned state; returns where / which slot


@dataclass
class RunConfig:
    samples: int
    eval_every: int
    run_dir: Path
    title: str = "on-device training"


def evaluate(target: Target, xs: np.ndarray, ys: np.ndarray) -> float:
    correct = sum(int(np.argmax(target.infer(x))) == int(y) for x, y in zip(xs, ys, strict=True))
    return correct / len(ys)


def run(
    target: Target,
    stream: Iterator[tuple[np.ndarray, int]],
    heldout: tuple[np.ndarray, np.ndarray],
    cfg: RunConfig,
    on_update: Callable[[dict[str, Any]], None] = lambda _: None,
) -> dict[str, Any]:
    """Stream `cfg.samples` samples, evaluate every `cfg.eval_every`; returns the final summary."""
    log = TrainLog(cfg.run_dir)
    recent: deque[int] = deque(maxlen=50)
    device_instr = 0
    loss_avg = float("nan")
    seen = 0
    state: dict[str, Any] = {}

    def do_eval() -> None:
        acc = evaluate(target, *heldout)
        state.update(heldout_accuracy=acc)
        log.event("eval", samples=seen, heldout_accuracy=acc, device_instructions=device_instr, loss=loss_avg)

    interrupted = False
    try:
        do_eval()
        for x, label in stream:
            if seen >= cfg.samples:
                break
            r = target.train_step(x, label)
            seen += 1
            device_instr += r.instructions
            recent.append(int(r.predicted == label))
            loss_avg = r.loss if np.isnan(loss_avg) else 0.95 * loss_avg + 0.05 * r.loss
            state.update(
                samples=seen,
                loss=loss_avg,
                running_accuracy=sum(recent) / len(recent),
                instructions_per_step=r.instructions,
            )
            log.event(
                "step", samples=seen, label=label, predicted=r.predicted, loss=r.loss, instructions=r.instructions
            )
            if seen % cfg.eval_every == 0 or seen == cfg.samples:
                do_eval()
            on_update(state)
    except KeyboardInterrupt:
        # Ctrl-C: stop streaming, but still read the figures and save what was learned on the target.
        interrupted = True
    finally:
        stats = target.stats()
        try:
            ckpt = target.checkpoint()
        except Exception as e:  # the run's figures are still worth reporting; say why nothing was saved
            ckpt = f"not saved: {e}"
        log.event("stats", **stats, checkpoint=ckpt, interrupted=interrupted)
        log.close()
    if log.evals:
        plot_accuracy(log.evals, cfg.run_dir / "accuracy.png", cfg.title, target.clock_hz)
    return {
        "samples": seen,
        "heldout_accuracy": state.get("heldout_accuracy"),
        "loss": loss_avg,
        "peak_arena_bytes": stats.get("peak_arena_bytes"),
        "peak_stack_bytes": stats.get("peak_stack_bytes"),
        "instructions_per_step": device_instr // max(seen, 1),
        "checkpoint": ckpt,
        "interrupted": interrupted,
        "log": str(log.jsonl_path),
        "plot": str(cfg.run_dir / "accuracy.png"),
    }
