"""Measured energy, where the hardware tells it: NVIDIA's driver counter (NVML) on a GPU, Linux RAPL
on a CPU. Each meter reads a cumulative counter in joules; `measure` reads it around a timed loop,
after measuring idle power over a quiet interval, and gives joules per call with the idle share
subtracted. Where no counter can be read, the meter is None and the reason says why: a record then
states it, and no number is made up."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .bench import spread

RAPL_ROOT = "/sys/class/powercap"


class RaplMeter:
    """Package energy of every CPU socket (top-level intel-rapl:N domains; their subdomains are parts
    of them). The counters are microjoules and wrap at max_energy_range_uj."""

    name = "rapl"

    def __init__(self, domains: list[Path]):
        self.domains = domains
        self.ranges = [int((d / "max_energy_range_uj").read_text()) for d in domains]
        self.last = [self._raw(d) for d in domains]
        self.total_uj = 0

    @staticmethod
    def _raw(domain: Path) -> int:
        return int((domain / "energy_uj").read_text())

    def joules(self) -> float:
        for i, domain in enumerate(self.domains):
            now = self._raw(domain)
            self.total_uj += (now - self.last[i]) % self.ranges[i]  # a wrap shows as a negative step
            self.last[i] = now
        return self.total_uj / 1e6


def rapl_meter(root: str = RAPL_ROOT) -> tuple[RaplMeter | None, str]:
    """(meter, what it measures) or (None, why not)."""
    domains = sorted(p for p in Path(root).glob("intel-rapl:*") if p.name.count(":") == 1)
    if not domains:
        return None, f"no RAPL domains under {root} (not an Intel/AMD host with powercap, or a VM)"
    try:
        meter = RaplMeter(domains)
    except (OSError, ValueError) as err:  # since Linux 5.10 energy_uj is readable by root only
        return None, f"RAPL counters under {root} are not readable: {err}"
    return meter, f"RAPL package energy, {len(domains)} domain(s): " + ", ".join(
        (d / "name").read_text().strip() if (d / "name").exists() else d.name for d in domains
    )


class NvmlMeter:
    """One GPU's total energy since the driver loaded (millijoules; Volta and later)."""

    name = "nvml"

    def __init__(self, nvml, handle):
        self.nvml, self.handle = nvml, handle
        self.joules()  # fails here, not mid-measurement, where the GPU has no counter

    def joules(self) -> float:
        return self.nvml.nvmlDeviceGetTotalEnergyConsumption(self.handle) / 1e3


def nvml_meter(index: int = 0, nvml=None) -> tuple[NvmlMeter | None, str]:
    """(meter, the GPU's name) or (None, why not). `nvml`: the pynvml module (a fake in tests)."""
    if nvml is None:
        try:
            import pynvml as nvml
        except ImportError:
            return None, "nvidia-ml-py is not installed"
    try:
        nvml.nvmlInit()
        handle = nvml.nvmlDeviceGetHandleByIndex(index)
        meter = NvmlMeter(nvml, handle)
        name = nvml.nvmlDeviceGetName(handle)
    except Exception as err:  # pynvml raises NVMLError subclasses (no driver, no such GPU, not supported)
        return None, f"NVML energy counter not readable: {err}"
    return meter, name.decode() if isinstance(name, bytes) else str(name)


def nvml_versions(nvml=None) -> dict:
    """Driver and CUDA driver-API versions as NVML reports them; empty where NVML is missing."""
    try:
        if nvml is None:
            import pynvml as nvml
        nvml.nvmlInit()
        cuda = nvml.nvmlSystemGetCudaDriverVersion()
        driver = nvml.nvmlSystemGetDriverVersion()
    except Exception:
        return {}
    return {
        "driver": driver.decode() if isinstance(driver, bytes) else str(driver),
        "cuda_driver": f"{cuda // 1000}.{cuda % 1000 // 10}",
    }


def idle_power(meter, seconds: float, clock=time.perf_counter, sleep=time.sleep) -> float:
    """Watts the meter reads while nothing runs: subtracted from every loop measured after it."""
    e0, t0 = meter.joules(), clock()
    sleep(seconds)
    return (meter.joules() - e0) / (clock() - t0)


def measure(meter, call, images_per_call: int, settings: dict, idle_w: float, clock=time.perf_counter) -> dict:
    """Joules per image of `call`: settings['repeats'] loops of at least settings['min_seconds'] each;
    each loop's energy less idle power times its duration, divided by the images it processed.
    Median and spread over the loops."""
    per_image, seconds, calls = [], [], []
    for _ in range(settings["repeats"]):
        e0, t0, n = meter.joules(), clock(), 0
        while n == 0 or clock() - t0 < settings["min_seconds"]:
            call()
            n += 1
        elapsed, used = clock() - t0, meter.joules() - e0
        per_image.append((used - idle_w * elapsed) / (n * images_per_call))
        seconds.append(elapsed)
        calls.append(n)
    joules = spread(per_image)
    return {
        "meter": meter.name,
        "idle_w": float(idle_w),
        "joules_per_image": joules,
        "joules_per_1000_images": {k: v * 1000 for k, v in joules.items()},
        "loop_seconds": float(np.median(seconds)),
        "calls_per_loop": int(np.median(calls)),
        "images_per_call": int(images_per_call),
    }
