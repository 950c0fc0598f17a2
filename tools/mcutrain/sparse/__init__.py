"""Sparse-update scheme search: contribution analysis (golden model) + knapsack / evolutionary search (compiler)."""
