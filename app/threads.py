"""Torch's threads per model call (``OTHELLO_TORCH_THREADS``, default 1), given to MKL too before torch loads.

One: a click's forward is 59 tokens, too small to share between cores, and two threads on a loaded machine made
it 7x slower (bench/RESULTS.md); concurrent visitors use the cores. MKL reads its own count when torch loads, and
every Streamlit run is a new thread, where MKL's default (every core) holds until torch's first parallel op sets
the thread's count: a run whose first torch op was a matmul ran it on both cores (``python -m
bench.bench_threads``). So ``app/streamlit_app.py`` imports this module before anything that loads torch.
"""

import os

TORCH_THREADS = int(os.environ.get("OTHELLO_TORCH_THREADS", "1"))
os.environ.setdefault("MKL_NUM_THREADS", str(TORCH_THREADS))
