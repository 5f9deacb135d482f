"""Energy meters against fakes: RAPL's sysfs files, the NVML module, and a clock; the GPU family
benchmark run on the CPU (the same code path a GPU takes, device aside)."""

import types

import numpy as np
import pytest

from dnncomp.measure import gpu, meters


def rapl_tree(root, energy_uj=1_000_000, max_uj=10_000_000):
    """A powercap folder with one package domain and one subdomain (which must not be added twice)."""
    for name, label in (("intel-rapl:0", "package-0"), ("intel-rapl:0:0", "core")):
        domain = root / name
        domain.mkdir(parents=True)
        (domain / "energy_uj").write_text(str(energy_uj))
        (domain / "max_energy_range_uj").write_text(str(max_uj))
        (domain / "name").write_text(label)
    return root / "intel-rapl:0"


def test_rapl_reads_package_energy_across_a_wrap(tmp_path):
    package = rapl_tree(tmp_path, energy_uj=9_500_000)
    meter, what = meters.rapl_meter(str(tmp_path))
    assert "package-0" in what and "core" not in what
    assert meter.joules() == 0.0
    (package / "energy_uj").write_text("9_900_000".replace("_", ""))
    assert meter.joules() == pytest.approx(0.4)
    (package / "energy_uj").write_text("300000")  # wrapped at 10 J
    assert meter.joules() == pytest.approx(0.4 + 0.1 + 0.3)


def test_rapl_absent_or_unreadable_says_why(tmp_path):
    meter, why = meters.rapl_meter(str(tmp_path / "none"))
    assert meter is None and "no RAPL domains" in why
    package = rapl_tree(tmp_path)
    (package / "energy_uj").unlink()
    (package / "energy_uj").mkdir()  # reading it fails, as a root-only file does for other users
    meter, why = meters.rapl_meter(str(tmp_path))
    assert meter is None and "not readable" in why


class FakeNvml(types.SimpleNamespace):
    """The calls of pynvml that the meter makes; energy in millijoules."""

    def __init__(self, fail=None):
        super().__init__(energy_mj=5000, fail=fail)

    def nvmlInit(self):
        if self.fail:
            raise RuntimeError(self.fail)

    def nvmlDeviceGetHandleByIndex(self, index):
        return f"gpu{index}"

    def nvmlDeviceGetTotalEnergyConsumption(self, handle):
        return self.energy_mj

    def nvmlDeviceGetName(self, handle):
        return b"NVIDIA H200"

    def nvmlSystemGetDriverVersion(self):
        return "570.1"

    def nvmlSystemGetCudaDriverVersion(self):
        return 12080


def test_nvml_meter_and_versions_from_the_driver():
    nvml = FakeNvml()
    meter, name = meters.nvml_meter(0, nvml)
    assert name == "NVIDIA H200" and meter.joules() == 5.0
    nvml.energy_mj = 7500
    assert meter.joules() == 7.5
    assert meters.nvml_versions(nvml) == {"driver": "570.1", "cuda_driver": "12.8"}


def test_nvml_without_a_driver_says_why():
    meter, why = meters.nvml_meter(0, FakeNvml(fail="NVML Shared Library Not Found"))
    assert meter is None and "Not Found" in why
    assert meters.nvml_versions(FakeNvml(fail="no driver")) == {}


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class FakeMeter:
    """Idle draw of `idle_w`, plus `per_call_j` for each call; each call takes `call_s` seconds."""

    name = "fake"

    def __init__(self, clock, idle_w=50.0, per_call_j=0.002, call_s=0.001):
        self.clock, self.idle_w, self.per_call_j, self.call_s, self.calls = clock, idle_w, per_call_j, call_s, 0

    def joules(self):
        return self.idle_w * self.clock.now + self.per_call_j * self.calls

    def call(self):
        self.calls += 1
        self.clock.now += self.call_s

    def sleep(self, seconds):
        self.clock.now += seconds


def test_measure_subtracts_idle_power_and_divides_by_images():
    clock = FakeClock()
    meter = FakeMeter(clock)
    idle = meters.idle_power(meter, 2.0, clock=clock, sleep=meter.sleep)
    assert idle == pytest.approx(50.0)
    settings = {"min_seconds": 0.1, "repeats": 3}
    out = meters.measure(meter, meter.call, 8, settings, idle, clock=clock)
    assert out["joules_per_image"]["median"] == pytest.approx(0.002 / 8)
    assert out["joules_per_1000_images"]["median"] == pytest.approx(0.25)
    assert out["calls_per_loop"] == pytest.approx(100, abs=1) and out["images_per_call"] == 8


def test_no_driver_means_no_gpu_without_tensorflow(tmp_path):
    assert not gpu.driver_visible(str(tmp_path / "version"))
    (tmp_path / "version").write_text("NVRM version: 570.1")
    assert gpu.driver_visible(str(tmp_path / "version"))


def test_gpu_family_benchmark_runs_every_case_on_any_device(tf_modules, tmp_path):
    """The GPU job's measurement, on the CPU: every model x precision x XLA x batch timed, the ratios
    against float32, XLA off and the family baseline, and energy for each XLA-off case."""
    tf, keras, _ = tf_modules
    from dnncomp.inputs import models

    entries = []
    for chain, hidden in (("baseline", [16]), ("baseline/distill-mlp32-T4-a0.1-seed0", [4])):
        model = models.build(keras, "m", {"type": "mlp", "hidden": hidden}, (4, 4, 1), 3)
        path = tmp_path / f"{len(entries)}.keras"
        model.save(path)
        entries.append({"artefact": str(path), "path": str(path), "chain": chain})
    clock = FakeClock()
    meter = FakeMeter(clock)
    cfg = {
        "rounds": 2,
        "placements": 1,
        "warmup": 1,
        "min_repeats": 2,
        "min_seconds": 0.0,
        "gpu_batch_sizes": [1, 4],
        "energy": {"idle_seconds": 0.0, "min_seconds": 0.0, "repeats": 2},
    }
    x = np.random.default_rng(0).random((10, 4, 4, 1), dtype=np.float32)
    rows = gpu.measure_family(tf, keras, entries, x, cfg, "/CPU:0", meter=None)
    assert [r["chain"] for r in rows] == [e["chain"] for e in entries]
    for row in rows:
        keys = {(r["precision"], r["xla"], r["batch"]) for r in row["results"]}
        assert keys == {(p, x, b) for p in gpu.PRECISIONS for x in gpu.XLA for b in (1, 4)}
        for r in row["results"]:
            assert r["median_us"] > 0 and "energy" not in r
            assert ("speedup_vs_float32" in r) == (r["precision"] != "float32")
            assert ("speedup_vs_no_xla" in r) == r["xla"]
            assert ("speedup_vs_baseline" in r) == (row["chain"] != "baseline")
    with_energy = gpu.measure_family(tf, keras, entries[:1], x, {**cfg, "gpu_batch_sizes": [4]}, "/CPU:0", meter)
    energies = [r.get("energy") for r in with_energy[0]["results"]]
    assert all((e is not None) == (not r["xla"]) for e, r in zip(energies, with_energy[0]["results"], strict=True))


def test_a_qat_entry_names_its_parent_and_scheme():
    path = "results/mnist/lenet5/seed0/baseline/prune-s0.90-block/cluster-c8/qat-b8/qat.weights.h5"
    entry = gpu.qat_entry(path, {"chain": "baseline/prune-s0.90-block/cluster-c8/qat-b8"})
    assert entry["qat"] == {
        "parent": "results/mnist/lenet5/seed0/baseline/prune-s0.90-block/cluster-c8/model.keras",
        "bits": 8,
        "pruned": True,
        "clustered": True,
    }


def test_a_qat_model_is_rebuilt_from_its_weights(tf_modules, tmp_path):
    """TFMOT's quantize-wrapped models do not load back from .keras files; the GPU job rebuilds them
    from the parent and the saved weights, and gets the fine-tuned model's outputs back."""
    tf, keras, tfmot = tf_modules
    from dnncomp.inputs import models
    from dnncomp.jobs.job import save_weights
    from dnncomp.techniques.quantize import qat_model

    parent = models.build(keras, "m", {"type": "mlp", "hidden": [16]}, (4, 4, 1), 3)
    parent.save(tmp_path / "model.keras")
    model, _ = qat_model(tfmot, keras, parent, 8)
    x = np.random.default_rng(0).random((32, 4, 4, 1), dtype=np.float32) * 255
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, np.arange(32) % 3, epochs=2, verbose=0)
    save_weights(model, tmp_path / "qat.weights.h5")
    qat = {"parent": str(tmp_path / "model.keras"), "bits": 8, "pruned": False, "clustered": False}
    entry = {"artefact": str(tmp_path / "qat.weights.h5"), "path": str(tmp_path / "qat.weights.h5"), "qat": qat}
    rebuilt = gpu.loader(keras, tfmot)(entry)
    np.testing.assert_allclose(rebuilt(x[:4]), model(x[:4]), atol=1e-5)
    # Timed like any model, in float32 only (fake-quant ops take float32).
    cfg = {"rounds": 1, "placements": 1, "warmup": 1, "min_repeats": 1, "min_seconds": 0.0, "gpu_batch_sizes": [1]}
    rows = gpu.measure_family(
        tf, keras, [{**entry, "chain": "baseline/qat-b8"}], x, cfg, "/CPU:0", load=gpu.loader(keras, tfmot)
    )
    assert {(r["precision"], r["xla"]) for r in rows[0]["results"]} == {("float32", False), ("float32", True)}
