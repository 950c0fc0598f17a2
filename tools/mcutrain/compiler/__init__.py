"""Compilers from the IR to engine programs: memory planning (memplan) and program emission (emit).
The training compiler (autodiff, prune, reorder) builds on these."""
