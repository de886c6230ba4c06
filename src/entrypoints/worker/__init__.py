"""The SAQ worker process: `platform-core worker` (or `python -m entrypoints.worker`)."""

from entrypoints.worker.process import WorkerOptions, run_worker, serve_worker

__all__ = ["WorkerOptions", "run_worker", "serve_worker"]
