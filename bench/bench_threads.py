"""How many cores a new thread's matmuls use after the main thread set torch to one thread, with MKL's own
default and with ``MKL_NUM_THREADS=1`` given before torch loads (as ``app/streamlit_app.py`` does): CPU seconds
per wall second of a new thread whose first torch op is a matmul, and of one whose first op is elementwise.

    python -m bench.bench_threads
"""

import os
import subprocess
import sys

PROBE = """
import threading, time, torch
torch.set_num_threads(1)  # as app.common.load_service, in the thread that loads the model
a, w = torch.randn(64, 512), torch.randn(512, 4096)
def run(first_elementwise, out):
    if first_elementwise:
        (a + 1).sum()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(60):
        a @ w
    out.append((time.process_time() - cpu) / (time.perf_counter() - wall))
for first_elementwise in (False, True):
    out = []
    thread = threading.Thread(target=run, args=(first_elementwise, out))
    thread.start()
    thread.join()
    print(f"{out[0]:.2f}", end=" ")
"""


def main() -> None:
    for label, extra in (("MKL's default", {}), ("MKL_NUM_THREADS=1", {"MKL_NUM_THREADS": "1"})):
        env = {k: v for k, v in os.environ.items() if k not in ("MKL_NUM_THREADS", "OMP_NUM_THREADS")} | extra
        matmul, elementwise = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True,
                                             check=True).stdout.split()
        print(f"{label}: a new thread's matmuls use {matmul} cores when its first op is a matmul, "
              f"{elementwise} when it is elementwise (load {os.getloadavg()[0]:.1f})", flush=True)


if __name__ == "__main__":
    main()
