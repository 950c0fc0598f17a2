"""Build-time model zoo: pretrain, convert to full-int8 .tflite, fine-tune the transfer head, write cards.

Only `inspect` and `evaluate` are needed at run/test time (no TensorFlow); the rest needs the
`models` extra (tensorflow) and runs behind `invoke models`.
"""
