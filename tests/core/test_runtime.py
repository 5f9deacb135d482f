"""TensorFlow's start-up (dnncomp.core.runtime): a job log opens with the device, not with C++ noise."""

import os
import subprocess
import sys

from dnncomp.core.runtime import STARTUP_NOISE, native_stderr_without
from helpers import ROOT

NOISE_LINE = (
    "E0000 00:00:1796414871.680690    4252 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: "
    "Failed call to cuInit: UNKNOWN ERROR (303)\n"
)


def written_to_fd2(tmp_path, body) -> str:
    """What `body` leaves on file descriptor 2, as a C++ library writes there, with the filter around it."""
    out = tmp_path / "stderr.txt"
    saved = os.dup(2)
    with open(out, "w") as handle:
        os.dup2(handle.fileno(), 2)
        try:
            with native_stderr_without(STARTUP_NOISE):
                body()
        except RuntimeError:
            pass
        finally:
            os.write(2, b"after the block\n")
            os.dup2(saved, 2)
            os.close(saved)
    return out.read_text()


def test_start_up_noise_is_dropped_and_every_other_line_kept(tmp_path):
    def body():
        os.write(2, NOISE_LINE.encode())
        os.write(2, b"W0000 something a user must see\n")
        os.write(2, b"I0000 port.cc:153] oneDNN custom operations are on. You may see ...\n")

    assert written_to_fd2(tmp_path, body) == "W0000 something a user must see\nafter the block\n"


def test_a_failure_inside_the_block_keeps_what_was_printed(tmp_path):
    def body():
        os.write(2, b"the reason it failed\n")
        raise RuntimeError("boom")

    assert written_to_fd2(tmp_path, body) == "the reason it failed\nafter the block\n"


def test_a_job_log_opens_with_the_device_and_has_no_start_up_noise(tmp_path):
    """The real thing: a process that sends its output to a log, as a job does, and starts TensorFlow."""
    log = tmp_path / "job.log"
    code = (
        "from dnncomp.core.io import redirect_output; from dnncomp.core.runtime import init_tf\n"
        f"redirect_output({str(log)!r}); init_tf(1, 0, with_tfmot=True); print('epoch 1')\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}  # as a job has it
    subprocess.run([sys.executable, "-c", code], cwd=ROOT / "scripts", env=env, check=True, timeout=120)
    lines = log.read_text().splitlines()
    assert lines[0].startswith("TensorFlow ") and " on " in lines[0] and "thread(s)" in lines[0], lines
    assert lines[-1] == "epoch 1"
    assert not [line for line in lines if STARTUP_NOISE.search(line)], lines
