"""The scheduler workaround: one pending re-evaluation timer, a daemon, on the pinned Snakemake."""

import inspect
import threading
import time

from snakemake.scheduling.job_scheduler import JobScheduler

from dnncomp.study import scheduling


class FakeScheduler:
    def __init__(self):
        self._open_jobs = threading.Semaphore(0)


def test_rounds_ask_for_one_pending_daemon_timer_at_a_time():
    scheduler = FakeScheduler()
    for _ in range(5):  # five scheduling rounds before the timer fires
        scheduling.schedule_reevaluation(scheduler, 0.2)
    timer = scheduler._pending_reevaluation
    assert timer.daemon
    assert scheduler._open_jobs.acquire(timeout=5)  # released once...
    assert not scheduler._open_jobs.acquire(timeout=0.5)  # ...and only once
    time.sleep(0.05)
    assert scheduler._pending_reevaluation is None  # the next round may start the next timer
    scheduling.schedule_reevaluation(scheduler, 0.05)
    assert scheduler._open_jobs.acquire(timeout=5)


def test_the_pinned_snakemake_has_the_method_it_replaces():
    # If an upgrade renames or drops it, this fails and the workaround should be revisited.
    assert scheduling.METHOD in inspect.getsource(JobScheduler.schedule)
    assert callable(getattr(JobScheduler, scheduling.METHOD))


def test_an_unknown_scheduler_is_left_alone():
    class Other:
        pass

    assert scheduling.single_reevaluation_timer(Other) is False
    assert not hasattr(Other, scheduling.METHOD)
