"""What every rule script does first and last: log redirection, TensorFlow start-up, clear errors."""
from __future__ import annotations

import json
import sys
import traceback

from .data import DataError
from .models import ModelSpecError

# Errors that describe bad input: shown as one clear line, not a traceback.
USER_ERRORS = (DataError, ModelSpecError, FileNotFoundError, ValueError)


def run(main, snakemake) -> None:
    """Run main(snakemake) with output sent to the rule's log; on failure print the reason last.
    The log's last line is the job's cost (start-up and total CPU and wall seconds) for the cost account."""
    from .io import redirect_output
    from .runtime import CLOCK, JOB_COST_PREFIX

    log = snakemake.log[0] if len(snakemake.log) else None
    redirect_output(log)
    CLOCK.enter()
    try:
        main(snakemake)
        print(JOB_COST_PREFIX + json.dumps(CLOCK.report()))
    except USER_ERRORS as err:
        traceback.print_exc()
        print(f"\nERROR in rule {snakemake.rule}: {err}", file=sys.stderr)
        sys.exit(1)

