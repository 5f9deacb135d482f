"""A workaround for Snakemake's local scheduler: at most one pending re-evaluation timer.

Snakemake 9's `JobScheduler.schedule` ends every scheduling round by starting a new
`threading.Timer(timespan, release)` whenever `--max-jobs-per-timespan` is set, and it always is
(the default is 100/1s). A round started by such a timer starts the next timer, so every finished
job adds one more perpetual chain of timers: after N finished jobs the scheduler runs about N rounds
per timespan, and each round stats the input files of every ready job. Over this study's 270 jobs
the main Snakemake process used 1,472 CPU-seconds (a third of a core; py-spy: mostly
`update_input_sizes` and `Thread.start` under `_schedule_reevalutation`), and the non-daemon timers
also delay its exit by up to one timespan.

`single_reevaluation_timer` replaces that method with one that keeps at most one pending timer,
a daemon thread. Rounds still start at once when a job finishes, and the rate limit is still
re-evaluated once per timespan."""

from __future__ import annotations

import threading

METHOD = "_schedule_reevalutation"  # sic: Snakemake's spelling


def schedule_reevaluation(scheduler, delay: float) -> None:
    """Release the scheduler's semaphore after `delay` seconds, unless a release is already pending."""
    if getattr(scheduler, "_pending_reevaluation", None) is not None:
        return

    def fire():
        scheduler._pending_reevaluation = None
        scheduler._open_jobs.release()

    timer = threading.Timer(delay, fire)
    timer.daemon = True
    scheduler._pending_reevaluation = timer
    timer.start()


def single_reevaluation_timer(scheduler_class) -> bool:
    """Patch `scheduler_class` (snakemake.scheduling.job_scheduler.JobScheduler). Returns False, and
    changes nothing, when the class has no such method (another Snakemake version)."""
    if not callable(getattr(scheduler_class, METHOD, None)):
        return False
    setattr(scheduler_class, METHOD, schedule_reevaluation)
    return True
