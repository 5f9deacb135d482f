"""One module per technique: the code that does its work and the declaration of its step kinds
(STEP_KINDS, see dnncomp.core.stepkind). dnncomp.study.chain collects every module here into the step registry,
so a new technique is a new module here, its rule file, its thin script and its config section."""
