"""The exception family of grn_mnn.

Every problem a user can cause (bad input, bad configuration, a reference that does not
match the data, an output directory that already holds results) is raised as a subclass
of :class:`GrnMnnError` with a message that names what is wrong and how to fix it. The
CLI prints that message on one line and exits with a non-zero code.
"""

from __future__ import annotations


class GrnMnnError(Exception):
    """Base class of every error grn_mnn raises on purpose."""

    exit_code = 2


class InputError(GrnMnnError, ValueError):
    """The input data (AnnData, file, array) cannot be used as given."""


class ConfigError(GrnMnnError, ValueError):
    """A configuration value is out of range or inconsistent with the data."""


class ReferenceNetworkError(GrnMnnError, ValueError):
    """A reference network or edge table is malformed or does not overlap the data."""


class TrainingError(GrnMnnError, RuntimeError):
    """Training diverged (NaN or exploding loss) or a checkpoint cannot be used."""

    exit_code = 3


class OutputExistsError(GrnMnnError, FileExistsError):
    """The output directory already holds results and overwriting was not allowed."""
