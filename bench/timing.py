"""Shared timing helpers for the bench scripts (figures only, never assertions)."""
import statistics
import time


def sync(device: str = "cpu") -> None:
    """Wait for queued accelerator work (a no-op on the CPU)."""
    if str(device).startswith("cuda"):
        import torch
        torch.cuda.synchronize()


def median_time(fn, repeats: int = 15, warmup: int = 1, device: str = "cpu") -> float:
    """Median wall time of ``fn()`` in seconds over ``repeats`` calls after ``warmup`` calls,
    synchronising ``device`` around each timed call."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        sync(device)
        start = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)
