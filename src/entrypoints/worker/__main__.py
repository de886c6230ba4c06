"""`python -m entrypoints.worker`: the worker process, configured from the environment."""

import asyncio
import logging
import sys

from entrypoints.bootstrap import Settings
from entrypoints.worker.process import run_worker

logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
sys.exit(asyncio.run(run_worker(Settings.from_env())))
