"""A real one-node SLURM cluster on localhost for the tests: Debian's slurmctld, slurmd and munge,
a fake GPU as a generic resource. Needs root and the packages (`make ci-deps` installs them)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

PACKAGES = ("slurmctld", "slurmd", "slurm-client", "munge")
CONF_DIR = Path("/etc/slurm")  # the executor plugin strips SLURM_CONF from jobs: use the default path


class SlurmUnavailable(Exception):
    pass


def ensure_packages() -> None:
    """The tests install nothing: without the programs or root they skip, naming what to do."""
    missing = [
        p
        for p in ("slurmctld", "slurmd", "sbatch", "munged")
        if shutil.which(p) is None and not Path(f"/usr/sbin/{p}").exists()
    ]
    if missing:
        raise SlurmUnavailable(
            f"SLURM programs {missing} are missing: run `make ci-deps` (as root: apt-get install {' '.join(PACKAGES)})"
        )
    if os.geteuid() != 0:
        raise SlurmUnavailable("the SLURM test starts daemons and writes /etc/slurm: it needs root")


def slurm_conf(state: Path, host: str, cpus: int, memory_mb: int) -> str:
    return f"""ClusterName=dnncomp-test
SlurmctldHost={host}(127.0.0.1)
AuthType=auth/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation={state}/ctld
SlurmdSpoolDir={state}/d
SlurmctldPidFile={state}/slurmctld.pid
SlurmdPidFile={state}/slurmd.pid
SlurmctldLogFile={state}/slurmctld.log
SlurmdLogFile={state}/slurmd.log
SlurmctldDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
MinJobAge=600
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
GresTypes=gpu
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory_mb} Gres=gpu:1 State=UNKNOWN
PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP
"""


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise RuntimeError(f"timed out waiting for {what}")


def node_idle() -> bool:
    out = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True).stdout
    return "idle" in out


def read_or_empty(path: Path) -> str:
    return path.read_text() if path.is_file() else ""


@contextlib.contextmanager
def local_cluster(state: Path):
    """Start munged, slurmctld and slurmd; stop every daemon and restore /etc/slurm afterwards."""
    ensure_packages()
    host = socket.gethostname().split(".")[0]
    state.mkdir(parents=True, exist_ok=True)
    backup = state / "etc-slurm-backup"
    if CONF_DIR.exists():
        shutil.copytree(CONF_DIR, backup)
        if "ClusterName=dnncomp-test" in read_or_empty(backup / "slurm.conf"):
            # Left by a test run killed before its cleanup: restoring it would point every later SLURM
            # client (the executor plugin runs scontrol at each Snakemake start) at a dead controller.
            for name in ("slurm.conf", "gres.conf"):
                (backup / name).unlink(missing_ok=True)
    CONF_DIR.mkdir(parents=True, exist_ok=True)
    started = []
    try:
        (CONF_DIR / "slurm.conf").write_text(slurm_conf(state, host, os.cpu_count() or 1, 8000))
        (CONF_DIR / "gres.conf").write_text(f"NodeName={host} Name=gpu File=/dev/null\n")
        munge_socket = state / "munge.socket"
        key = state / "munge.key"
        subprocess.run(["dd", "if=/dev/urandom", f"of={key}", "bs=1024", "count=1"], check=True, capture_output=True)
        key.chmod(0o400)
        munged = subprocess.Popen(
            [
                "munged",
                "--foreground",
                "--force",
                f"--key-file={key}",
                f"--socket={munge_socket}",
                f"--pid-file={state}/munged.pid",
                f"--log-file={state}/munged.log",
                f"--seed-file={state}/munged.seed",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started.append(munged)
        # SLURM's munge plugin finds the socket through the config.
        with open(CONF_DIR / "slurm.conf", "a") as conf:
            conf.write(f"AuthInfo=socket={munge_socket}\n")
        wait_for(munge_socket.exists, 30, "munged")
        for daemon in (["slurmctld", "-D", "-i"], ["slurmd", "-D", "-N", host]):
            started.append(subprocess.Popen(daemon, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_for(node_idle, 60, "the SLURM node to become idle")
        yield {"state": state, "host": host, "ctld_log": state / "slurmctld.log"}
    finally:
        subprocess.run(["scancel", "--user", "root"], capture_output=True)
        for process in reversed(started):
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(CONF_DIR, ignore_errors=True)
        if backup.exists():
            shutil.copytree(backup, CONF_DIR)
