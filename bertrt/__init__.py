"""Support code for the BERT-by-hand TensorRT exercise (the scripts live at the repo root)."""
