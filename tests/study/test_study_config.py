"""The config logic behind the schema, called directly: cross-references, chain sweeps, hyperparameters."""

import pytest

from dnncomp.study import config as study_config
from dnncomp.study.config import ConfigError

CFG = {
    "datasets": {"mnist": {}, "cifar10": {}},
    "architectures": {"lenet5": {"type": "cnn", "reference": "lenet5"}, "mlp32": {"type": "mlp", "hidden": [32]}},
    "study": {"datasets": ["mnist"], "models": ["lenet5"], "seeds": [0]},
    "training": {
        "defaults": {"epochs": 10, "learning_rate": 0.001, "batch_size": 128},
        "overrides": {"cifar10": {"epochs": 20}},
    },
    "techniques": {
        "prune": {"sparsities": [0.5, 0.9], "structures": ["unstructured"], "epochs": 2},
        "distill": {
            "students": ["mlp32"],
            "epochs": 4,
            "learning_rate": 0.0005,
            "overrides": {"cifar10/lenet5": {"epochs": 6}},
        },
    },
    "chains": [{"chain": "baseline > prune"}],
}


def no_schema(cfg):
    return None


def test_resolve_hparams_applies_overrides_in_order():
    training = {
        "defaults": {"epochs": 5, "learning_rate": 0.1},
        "overrides": {
            "mnist": {"epochs": 7},
            "lenet5": {"epochs": 9, "learning_rate": 0.2},
            "mnist/lenet5": {"learning_rate": 0.3},
        },
    }
    assert study_config.resolve_hparams(training, "mnist", "lenet5") == {"epochs": 9, "learning_rate": 0.3}
    assert study_config.resolve_hparams(training, "cifar10", "mlp") == {"epochs": 5, "learning_rate": 0.1}


def test_a_valid_config_passes_and_each_chain_is_schema_checked_with_its_sweeps():
    seen = []
    cfg = {**CFG, "chains": [{"chain": "baseline > prune", "sweep": {"prune": {"sparsities": [0.75]}}}]}
    study_config.check_config(cfg, validate=seen.append)
    assert seen[0]["techniques"]["prune"]["sparsities"] == [0.75]
    assert seen[0]["techniques"]["prune"]["epochs"] == 2  # the rest of the section is kept
    assert CFG["techniques"]["prune"]["sparsities"] == [0.5, 0.9]  # the config itself is untouched


@pytest.mark.parametrize(
    "change, message",
    [
        (
            {"study": {"datasets": ["mnist"], "models": ["resnet50"], "seeds": [0]}},
            "study.models: unknown name(s) ['resnet50']",
        ),
        ({"chains": [{"chain": "baseline > sharpen"}]}, "chains[0].chain: "),
        ({"chains": [{"chain": "baseline > prune", "models": ["vgg"]}]}, "chains[0].models: unknown name(s) ['vgg']"),
        (
            {"chains": [{"chain": "baseline > prune", "sweep": {"prune": {"levels": [0.5]}}}]},
            "chains[0].sweep.prune.levels: not a sweep of 'prune'",
        ),
        (
            {"chains": [{"chain": "baseline > prune", "sweep": {"prune": {"sparsities": []}}}]},
            "chains[0].sweep.prune.sparsities: must be a non-empty list",
        ),
        (
            {"chains": [{"chain": "baseline > distill", "sweep": {"distill": {"students": ["giant"]}}}]},
            "chains[0].sweep.distill.students: unknown name(s) ['giant']",
        ),
        (
            {"training": {"defaults": {"epochs": 1}, "overrides": {"imagenet": {}}}},
            "training.overrides.imagenet: 'imagenet' is neither a dataset nor an architecture",
        ),
        (
            {"training": {"defaults": {"epochs": 1}, "overrides": {"mnist/vgg": {}}}},
            "training.overrides.mnist/vgg: expected 'dataset/architecture'",
        ),
        ({"data_dir": "/no/such/folder"}, "data_dir: folder '/no/such/folder' does not exist"),
        (
            {"chains": [{"chain": "baseline > prune > tflite", "sweep": {"prune": {"structures": ["2by4"]}}}]},
            "chains[0].sweep.prune: structure '2by4' fixes the sparsity at 0.50, but the sweep also has "
            "sparsities [0.9]",
        ),
    ],
)
def test_inconsistent_configs_name_the_key(change, message):
    with pytest.raises(ConfigError, match=None) as err:
        study_config.check_config({**CFG, **change}, validate=no_schema)
    assert message in str(err.value)


def test_an_n_by_m_structure_goes_with_its_own_sparsity():
    entry = {"chain": "baseline > prune", "sweep": {"prune": {"sparsities": [0.5], "structures": ["2by4"]}}}
    study_config.check_config({**CFG, "chains": [entry]}, validate=no_schema)


def test_finetune_hparams_take_the_technique_budget_over_the_parent_settings():
    hp = study_config.finetune_hparams(CFG, "prune", "cifar10", "lenet5")
    assert hp == {"epochs": 2, "learning_rate": 0.001, "batch_size": 128, "patience": 0, "reduce_lr_patience": 0}
    assert study_config.finetune_hparams(CFG, "distill", "cifar10", "lenet5")["epochs"] == 6  # its own override


def test_a_recovery_budget_multiplies_the_resolved_epochs():
    assert study_config.finetune_hparams(CFG, "prune", "cifar10", "lenet5", recovery=5)["epochs"] == 10
    assert (
        study_config.finetune_hparams(CFG, "prune", "mnist", "lenet5", recovery=3)["epochs"]
        == 3 * (study_config.finetune_hparams(CFG, "prune", "mnist", "lenet5")["epochs"])
    )


def test_a_new_student_trains_like_its_control_and_self_is_fine_tuned():
    assert (
        study_config.distill_hparams(CFG, "mlp32", "cifar10", "lenet5")
        == study_config.training_hparams(CFG, "cifar10", "mlp32")
        == {"epochs": 20, "learning_rate": 0.001, "batch_size": 128}
    )
    assert study_config.distill_hparams(CFG, "self", "mnist", "lenet5")["learning_rate"] == 0.0005


def test_architecture_spec_leaves_out_the_report_label():
    assert study_config.architecture_spec(CFG, "lenet5") == {"type": "cnn"}
    assert study_config.architecture_spec(CFG, "nope") is None


def test_lr_decay_is_a_finetune_setting_left_out_of_params_at_its_default():
    assert "lr_decay" not in study_config.finetune_hparams(CFG, "prune", "mnist", "lenet5")
    section = {**CFG["techniques"]["prune"], "lr_decay": "cosine", "overrides": {"cifar10": {"lr_decay": "none"}}}
    cfg = {**CFG, "techniques": {**CFG["techniques"], "prune": section}}
    assert study_config.finetune_hparams(cfg, "prune", "mnist", "lenet5")["lr_decay"] == "cosine"
    assert "lr_decay" not in study_config.finetune_hparams(cfg, "prune", "cifar10", "lenet5")  # overridden back
