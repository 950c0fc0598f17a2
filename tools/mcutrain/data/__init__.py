"""Data sources for pretraining, transfer and the on-device training stream (all offline)."""
