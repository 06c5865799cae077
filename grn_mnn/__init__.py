"""grn_mnn: signed, directed, time-varying gene regulatory networks from time-course scRNA-seq.

Pipeline (data flows one way): AnnData -> :mod:`grn_mnn.pp` (PCA, z-scoring) ->
:class:`grn_mnn.CellMNN` (hypernetwork (z, t) -> A, expm propagation, MMD loss) ->
:mod:`grn_mnn.extract` (J = W S A S^-1 W^T) -> :mod:`grn_mnn.validate` / :mod:`grn_mnn.export`.
"""

__version__ = "0.1.0"

from .config import MNNConfig  # noqa: E402
from .errors import GrnMnnError  # noqa: E402

__all__ = ["__version__", "GrnMnnError", "MNNConfig", "CellMNN"]


def __getattr__(name):  # lazy imports keep `import grn_mnn` light (torch loads on first use)
    import importlib

    if name == "CellMNN":
        from .model import CellMNN

        return CellMNN
    if name in {
        "pp",
        "datasets",
        "extract",
        "validate",
        "export",
        "pl",
        "reference",
        "metrics",
        "baselines",
        "peers",
        "enrich",
        "pipeline",
        "perturb",
        "simulate",
        "distances",
        "interpolation",
        "model",
        "module",
        "train",
        "config",
        "errors",
    }:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'grn_mnn' has no attribute {name!r}")
