"""Studies: reproducible experiments that compare training methods (`python -m mcutrain.study.accuracy`)."""
