"""Errors a user can fix: a config key, a missing or unreadable file, a layer, a shape.

They are shown as one line that names the problem, never as a traceback: at start-up by the
Snakefile (rules/common.smk), inside a job by dnncomp.jobs.job.run. Any other exception is a bug in
the workflow and keeps its traceback."""


class UserError(Exception):
    """Bad input; the message names what is wrong and where (a config key, a path, a layer)."""


class ConfigError(UserError):
    """A config value that is wrong or inconsistent; the message starts with its key."""
