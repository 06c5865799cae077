"""Loaders of the real data bundled in the repository's ``data/`` folder, and the simulators.

Every time-course loader returns an :class:`~anndata.AnnData` with

- ``obs['time']``: the experimental time in real units as ``float`` (unit in
  ``uns['time_unit']``), ``obs_names`` the cell ids (or generated ids where the file has none);
- ``var_names``: gene symbols as written in the file (``str``; upper case also for mouse in
  the BEELINE / SCODE files, so match them case-insensitively against TRRUST mouse);
- ``uns['species']``, ``uns['dataset']``, ``uns['citation']``, ``uns['licence']``.

The data folder is ``<repository>/data`` (located relative to this package) unless the
environment variable ``GRN_MNN_DATA`` names another folder with the same layout. Provenance,
licences and checksums are in ``data/README.md`` and each sub-folder's ``PROVENANCE.md``.
The GPL-3.0 BEELINE reference networks are not shipped (see ``data/README.md``).

The simulators :func:`simulate` and :func:`simulate_linear` (module :mod:`grn_mnn.simulate`)
are re-exported here.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
from anndata import AnnData

from .errors import ConfigError, InputError
from .simulate import simulate, simulate_linear

__all__ = [
    "data_dir",
    "trrust",
    "hepatocyte_camp2017",
    "mesc_hayashi2018",
    "hesc_chu2016",
    "mesc_scode_hayashi",
    "eb_subset",
    "list_datasets",
    "simulate",
    "simulate_linear",
]

ENV_VAR = "GRN_MNN_DATA"
TRRUST_SPECIES = ("human", "mouse")
TRRUST_COLUMNS = ["tf", "target", "mode", "pmids"]

CITE_TRRUST = (
    "Han H et al. TRRUST v2: an expanded reference database of human and mouse transcriptional "
    "regulatory interactions. Nucleic Acids Res 46(D1):D380-D386 (2018). doi:10.1093/nar/gkx1013"
)
CITE_BEELINE = (
    "Pratapa A et al. Benchmarking algorithms for gene regulatory network inference from "
    "single-cell transcriptomic data. Nat Methods 17:147-154 (2020); Chen G, Liu Z-P. "
    "GENELink. Bioinformatics 38:4522 (2022)"
)
CITE_CAMP = f"Camp JG et al. Nature 546:533-538 (2017), GSE81252; {CITE_BEELINE}"
CITE_HAYASHI = f"Hayashi T et al. Nat Commun 9:619 (2018), GSE98664; {CITE_BEELINE}"
CITE_SCODE = (
    "Matsumoto H et al. SCODE: an efficient regulatory network inference algorithm from "
    "single-cell RNA-Seq during differentiation. Bioinformatics 33(15):2314-2321 (2017)"
)
CITE_CHU = f"Chu L-F et al. Genome Biol 17:173 (2016), GSE75748; {CITE_SCODE}"
CITE_HAYASHI_SCODE = f"Hayashi T et al. Nat Commun 9:619 (2018); {CITE_SCODE}"
CITE_EB = (
    "Moon KR et al. Visualizing structure and transitions in high-dimensional biological data. "
    "Nat Biotechnol 37:1482 (2019); Tong A et al. TrajectoryNet, ICML 2020; Koshizuka T, Sato I. "
    "Neural Lagrangian Schroedinger Bridge, ICLR 2023"
)
LIC_TIMECOURSE = "MIT (haohaostats/bridge-grn); underlying GEO data public"
#: log base of the BEELINE time courses' values (log2(x + 1); see data/timecourses/PROVENANCE.md)
LOG_BASE_TIMECOURSES = 2.0
LIC_SCODE = "MIT (hmatsu1226/SCODE)"
LIC_EB = "MIT (take-koshizuka/NLSB)"
EB_TIME_UNIT = "label (0..4 = days 0-3 ... 24-27)"
EB_DAY_RANGES = ["days 0-3", "days 6-9", "days 12-15", "days 18-21", "days 24-27"]


def data_dir() -> Path:
    """Return the folder holding the bundled data.

    Returns
    -------
    Path
        ``$GRN_MNN_DATA`` if that environment variable is set, else the repository's
        ``data/`` folder (``Path(__file__).parents[1] / 'data'``).

    Raises
    ------
    InputError
        If the folder does not exist.
    """
    env = os.environ.get(ENV_VAR)
    if env:
        path = Path(env).expanduser()
        if not path.is_dir():
            raise InputError(
                f"{ENV_VAR}={env!r} is not a folder; point {ENV_VAR} at a copy of the "
                "repository's data/ folder or unset it to use the bundled one"
            )
        return path
    path = Path(__file__).resolve().parents[1] / "data"
    if not path.is_dir():
        raise InputError(
            f"bundled data folder not found at {path} (grn_mnn seems installed without the "
            f"repository); set the environment variable {ENV_VAR} to the repository's data/ folder"
        )
    return path


def _file(*parts: str) -> Path:
    """Path of a bundled file; :class:`InputError` naming the fix if it is missing."""
    root = data_dir()
    path = root.joinpath(*parts)
    if not path.is_file():
        raise InputError(
            f"bundled data file {path} is missing; restore the data folder from the repository "
            f"(git checkout -- data/) or set {ENV_VAR} to a complete copy of data/"
        )
    return path


def _read(reader, path: Path, **kwargs):
    """Run a pandas/numpy reader and turn parse failures into :class:`InputError`."""
    try:
        return reader(path, **kwargs)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, pd.errors.ParserError) as exc:
        raise InputError(
            f"cannot parse bundled file {path}: {type(exc).__name__}: {str(exc)[:200]}; the file "
            "is damaged, restore it from the repository (check data/*/SHA256SUMS)"
        ) from None


def _check_shape(what: str, got: tuple[int, int], expected: tuple[int, int]) -> None:
    if tuple(got) != tuple(expected):
        raise InputError(
            f"{what} has shape {got} (cells x genes), expected {expected}; the bundled file "
            "does not match its PROVENANCE.md, restore it from the repository"
        )


def _annotate(adata: AnnData, **uns: str) -> AnnData:
    for key, value in uns.items():
        adata.uns[key] = value
    return adata


def trrust(species: str) -> pd.DataFrame:
    """TRRUST v2 raw TF-target table.

    Parameters
    ----------
    species
        ``'human'`` or ``'mouse'``.

    Returns
    -------
    pandas.DataFrame
        All raw rows (human 9,396, mouse 7,057) as strings, columns ``tf``, ``target``,
        ``mode`` (``Activation`` / ``Repression`` / ``Unknown``) and ``pmids``
        (semicolon-separated). Duplicated and multi-mode pairs are kept as in the file;
        human symbols are upper case, mouse symbols MGI-style (e.g. ``Trp53``).

    Raises
    ------
    InputError
        For an unknown species or a missing / malformed file.
    """
    if species not in TRRUST_SPECIES:
        raise InputError(
            f"TRRUST species must be one of {list(TRRUST_SPECIES)}, got {species!r}; "
            "for other organisms pass your own reference table"
        )
    path = _file("trrust", f"trrust_rawdata.{species}.tsv")
    df = _read(
        pd.read_csv,
        path,
        sep="\t",
        header=None,
        dtype=str,
        keep_default_na=False,
        quoting=3,  # csv.QUOTE_NONE: the file has no quoting
    )
    if df.shape[1] != len(TRRUST_COLUMNS):
        raise InputError(
            f"{path} has {df.shape[1]} columns, expected 4 (TF, target, mode, PMIDs); restore "
            "the file from the repository"
        )
    df.columns = TRRUST_COLUMNS
    return df


def transcription_factors(species: str = "human") -> list[str]:
    """Transcription factors of Lambert et al. (2018), independent of TRRUST.

    Parameters
    ----------
    species
        ``'human'``: the 1,639 HGNC symbols of the Human TFs database v1.01 with
        ``Is TF? == Yes``. ``'mouse'``: the same symbols, to be matched case-insensitively
        (most TF symbols agree up to case between human and mouse orthologues).

    Returns
    -------
    list of str
        Upper-case symbols in file order. Cite Lambert SA et al., Cell 172:650 (2018).

    Raises
    ------
    InputError
        For an unknown species or a missing file.
    """
    if species not in TRRUST_SPECIES:
        raise InputError(
            f"the bundled TF list covers {list(TRRUST_SPECIES)}, got {species!r}; pass your own "
            "list of regulators (a file with one gene a line) instead"
        )
    path = _file("tf_lists", "human_tfs_lambert2018.txt")
    names = [ln.strip().upper() for ln in path.read_text().splitlines() if ln.strip()]
    if not names:
        raise InputError(f"{path} is empty; restore it from the repository")
    return names


def _timecourse(folder: str, expected: tuple[int, int]) -> tuple[AnnData, pd.DataFrame]:
    expr = _read(pd.read_csv, _file("timecourses", folder, "ExpressionData.csv.gz"), index_col=0)
    meta_path = _file("timecourses", folder, "cell_metadata.csv")
    meta = _read(pd.read_csv, meta_path, dtype={"cell_id": str, "sample_label": str, "stage": str})
    _check_shape(f"timecourses/{folder}", (expr.shape[1], expr.shape[0]), expected)
    cells = expr.columns.astype(str)
    if list(cells) != meta["cell_id"].astype(str).tolist():
        raise InputError(
            f"{meta_path} does not list the cells of ExpressionData.csv.gz in the same order; "
            "restore both files from the repository"
        )
    obs = meta.set_index("cell_id")
    obs.index = obs.index.astype(str)
    obs.index.name = None
    var = pd.DataFrame(index=pd.Index(expr.index.astype(str), name=None))
    try:
        x = np.ascontiguousarray(expr.to_numpy(dtype=np.float32).T)
    except (TypeError, ValueError):
        raise InputError(
            f"timecourses/{folder}/ExpressionData.csv.gz holds non-numeric values; restore it "
            "from the repository"
        ) from None
    adata = AnnData(X=x, obs=obs, var=var)
    # BEELINE's values are log2(x + 1) (hHEP: e^x - 1 would give cells up to 1.3e8 TPM on these
    # 1,448 genes, 2^x - 1 at most 7.1e5; see data/timecourses/PROVENANCE.md). scanpy's record
    # of the base lets pp.prepare rescale them to the natural log1p the readings assume.
    adata.uns["log1p"] = {"base": LOG_BASE_TIMECOURSES}
    return adata, obs


def _order_stages(adata: AnnData) -> None:
    """Make ``obs['stage']`` a categorical ordered by time."""
    stages = adata.obs.groupby("stage", observed=True)["time"].min().sort_values().index
    adata.obs["stage"] = pd.Categorical(adata.obs["stage"], categories=list(stages), ordered=True)


def hepatocyte_camp2017() -> AnnData:
    """Human iPSC -> hepatocyte-like cells (Camp et al. 2017; BEELINE hHEP, TFs + 1000 genes).

    Returns
    -------
    anndata.AnnData
        425 cells x 1,448 genes, ``X`` BEELINE's log2(x + 1) expression (float32, dense, >= 0;
        ``uns['log1p'] = {'base': 2.0}``, scanpy's record, so :func:`grn_mnn.pp.prepare`
        rescales it to natural log1p), in the file's cell order (not sorted by time).
        ``obs['time']`` in days (0, 6, 8, 14, 21 with
        80/70/113/81/81 cells), ``obs['stage']`` (iPSC, DE, HE, IH, MH), ``obs['sample_label']``,
        ``obs['time_hours']``, ``obs['time_days']``; ``uns['time_unit'] = 'days'``,
        ``uns['species'] = 'human'``. Gene symbols as in the file (HGNC, e.g. ``C9orf72``).
    """
    adata, obs = _timecourse("hHEP_Camp2017", (425, 1448))
    adata.obs["time"] = obs["time_days"].astype(float).to_numpy()
    _order_stages(adata)
    return _annotate(
        adata,
        time_unit="days",
        species="human",
        dataset="hHEP_Camp2017",
        citation=CITE_CAMP,
        licence=LIC_TIMECOURSE,
    )


def mesc_hayashi2018() -> AnnData:
    """Mouse ESC -> primitive endoderm (Hayashi et al. 2018; BEELINE mESC, TFs + 500 genes).

    Returns
    -------
    anndata.AnnData
        421 cells x 1,120 genes (upper-case symbols), ``X`` BEELINE's log2(x + 1) expression
        (float32; ``uns['log1p'] = {'base': 2.0}`` as for :func:`hepatocyte_camp2017`).
        ``obs['time']`` in hours (0, 12, 24, 48, 72 with 90/68/90/82/91 cells), plus
        ``obs['stage']``, ``obs['time_hours']``, ``obs['time_days']``;
        ``uns['time_unit'] = 'hours'``, ``uns['species'] = 'mouse'``.
    """
    adata, obs = _timecourse("mESC_Hayashi2018", (421, 1120))
    adata.obs["time"] = obs["time_hours"].astype(float).to_numpy()
    _order_stages(adata)
    return _annotate(
        adata,
        time_unit="hours",
        species="mouse",
        dataset="mESC_Hayashi2018",
        citation=CITE_HAYASHI,
        licence=LIC_TIMECOURSE,
    )


def _scode_genes(folder: str) -> list[str]:
    path = _file("scode", folder, "tf.txt")
    genes = [g.strip() for g in path.read_text().splitlines() if g.strip()]
    if len(genes) != len(set(genes)):
        raise InputError(f"{path} lists duplicated genes; restore it from the repository")
    return genes


def _scode_part(folder: str, exp: str, time: str, genes: list[str], prefix: str) -> AnnData:
    x = _read(np.loadtxt, _file("scode", folder, exp), dtype=np.float64, ndmin=2)
    t = _read(np.loadtxt, _file("scode", folder, time), dtype=np.float64, ndmin=2)
    if x.shape[0] != len(genes) or t.shape[0] != x.shape[1] or t.shape[1] < 2:
        raise InputError(
            f"scode/{folder}: {exp} is {x.shape} (genes x cells) but tf.txt lists {len(genes)} "
            f"genes and {time} has {t.shape[0]} rows; restore the folder from the repository"
        )
    n = x.shape[1]
    obs = pd.DataFrame(
        {"time": t[:, 0].astype(float), "pseudotime": t[:, 1].astype(float)},
        index=pd.Index([f"{prefix}_{i:04d}" for i in range(n)]),
    )
    return AnnData(
        X=np.ascontiguousarray(x.T, dtype=np.float32),
        obs=obs,
        var=pd.DataFrame(index=pd.Index(genes)),
    )


def hesc_chu2016() -> AnnData:
    """Human ESC -> definitive endoderm, 100 TFs (Chu et al. 2016, SCODE ``data3``).

    Returns
    -------
    anndata.AnnData
        758 cells x 100 TFs (upper-case symbols), ``X`` log expression (float32).
        ``obs['time']`` in hours (0, 12, 24, 36, 72, 96 with 92/102/66/172/138/188 cells),
        ``obs['pseudotime']`` (SCODE's, not rescaled); cell ids ``hESC_0000``... in file order.
    """
    genes = _scode_genes("hESC_DE_Chu2016")
    adata = _scode_part("hESC_DE_Chu2016", "data.txt", "time.txt", genes, "hESC")
    _check_shape("scode/hESC_DE_Chu2016", adata.shape, (758, 100))
    return _annotate(
        adata,
        time_unit="hours",
        species="human",
        dataset="hESC_DE_Chu2016",
        citation=CITE_CHU,
        licence=LIC_SCODE,
    )


def mesc_scode_hayashi(include_test: bool = False) -> AnnData:
    """Mouse ESC -> primitive endoderm, 100 TFs (Hayashi et al. 2018, SCODE ``data``).

    Parameters
    ----------
    include_test
        Also append SCODE's 100 held-out test cells; ``obs['split']`` then says
        ``'train'`` or ``'test'``.

    Returns
    -------
    anndata.AnnData
        356 (or 456) cells x 100 TFs (upper-case symbols), ``X`` log expression (float32).
        ``obs['time']`` in hours (train: 0, 12, 24, 48, 72 with 70/66/70/74/76 cells; test
        22/25/23/13/17), ``obs['pseudotime']`` in [0, 1], ``obs['split']``.
    """
    folder = "mESC_PrE_Hayashi"
    genes = _scode_genes(folder)
    parts = [_scode_part(folder, "exp_train.txt", "time_train.txt", genes, "train")]
    if include_test:
        parts.append(_scode_part(folder, "exp_test.txt", "time_test.txt", genes, "test"))
    for part, split in zip(parts, ("train", "test"), strict=False):
        part.obs["split"] = split
    if len(parts) == 1:
        adata = parts[0]
    else:
        adata = AnnData(
            X=np.vstack([p.X for p in parts]),
            obs=pd.concat([p.obs for p in parts]),
            var=parts[0].var.copy(),
        )
    adata.obs["split"] = pd.Categorical(adata.obs["split"], categories=["train", "test"])
    _check_shape(f"scode/{folder}", adata.shape, (456 if include_test else 356, 100))
    return _annotate(
        adata,
        time_unit="hours",
        species="mouse",
        dataset="mESC_PrE_Hayashi",
        citation=CITE_HAYASHI_SCODE,
        licence=LIC_SCODE,
    )


def eb_subset(n_pcs: int | None = None) -> AnnData:
    """Embryoid-body cells in unwhitened principal components (NLSB val + test splits).

    Parameters
    ----------
    n_pcs
        Keep only the first ``n_pcs`` of the 100 PCs (1..100); ``None`` keeps all.

    Returns
    -------
    anndata.AnnData
        2,750 cells (550 per time point; the 1,000 ``val`` cells first, then 1,750 ``test``)
        x ``n_pcs`` PCs named ``PC1``...; ``X`` and ``obsm['X_pca']`` hold the PCs (float64, as
        stored), ``obsm['velocity']`` the stored PC-space velocity. ``obs['time']`` is the
        label 0..4 as float (days 0-3, 6-9, 12-15, 18-21, 24-27; ``obs['day_range']``),
        ``obs['split']`` ('val' / 'test'), ``obs['eb_index']`` the row in the full EB table.

    Raises
    ------
    ConfigError
        If ``n_pcs`` is not an integer in 1..100.
    """
    if n_pcs is not None and (
        isinstance(n_pcs, bool) or not isinstance(n_pcs, int | np.integer) or not 1 <= n_pcs <= 100
    ):
        raise ConfigError(f"n_pcs must be an integer in 1..100 or None, got {n_pcs!r}")
    k = 100 if n_pcs is None else int(n_pcs)
    xs, vs, ts, idx, split = [], [], [], [], []
    for name in ("val", "test"):
        path = _file("eb_nlsb_subset", f"{name}_rna.npz")
        with _read(np.load, path) as npz:
            missing = {"X", "ts", "v", "idx"} - set(npz.files)
            if missing:
                raise InputError(
                    f"{path} lacks the arrays {sorted(missing)}; restore it from the repository"
                )
            if npz["X"].ndim != 2 or npz["X"].shape[1] != 100:
                raise InputError(
                    f"{path} holds X of shape {npz['X'].shape}, expected (cells, 100); restore "
                    "it from the repository"
                )
            xs.append(npz["X"])
            vs.append(npz["v"])
            ts.append(npz["ts"])
            idx.append(npz["idx"])
            split += [name] * len(npz["ts"])
    x = np.vstack(xs)
    _check_shape("eb_nlsb_subset", x.shape, (2750, 100))
    labels = np.concatenate(ts).astype(int)
    obs = pd.DataFrame(
        {
            "time": labels.astype(float),
            "day_range": pd.Categorical(
                [EB_DAY_RANGES[i] for i in labels], categories=EB_DAY_RANGES
            ),
            "split": pd.Categorical(split, categories=["val", "test"]),
            "eb_index": np.concatenate(idx).astype(np.int64),
        },
        index=pd.Index([f"{s}_{i:04d}" for s, i in zip(split, _running_index(split), strict=True)]),
    )
    pcs = np.ascontiguousarray(x[:, :k])
    adata = AnnData(X=pcs.copy(), obs=obs, var=pd.DataFrame(index=[f"PC{i + 1}" for i in range(k)]))
    adata.obsm["X_pca"] = pcs
    adata.obsm["velocity"] = np.ascontiguousarray(np.vstack(vs)[:, :k])
    return _annotate(
        adata,
        time_unit=EB_TIME_UNIT,
        species="human",
        dataset="EB_NLSB_subset",
        citation=CITE_EB,
        licence=LIC_EB,
    )


def _running_index(labels: list[str]) -> list[int]:
    seen: dict[str, int] = {}
    out = []
    for lab in labels:
        out.append(seen.get(lab, 0))
        seen[lab] = out[-1] + 1
    return out


_CATALOGUE = [
    # name, kind, species, cells, genes, time points, time unit, citation (short), licence
    (
        "hepatocyte_camp2017",
        "time course",
        "human",
        425,
        1448,
        "0, 6, 8, 14, 21",
        "days",
        "Camp et al. 2017; BEELINE",
        "MIT; GEO data",
    ),
    (
        "mesc_hayashi2018",
        "time course",
        "mouse",
        421,
        1120,
        "0, 12, 24, 48, 72",
        "hours",
        "Hayashi et al. 2018; BEELINE",
        "MIT; GEO data",
    ),
    (
        "hesc_chu2016",
        "time course",
        "human",
        758,
        100,
        "0, 12, 24, 36, 72, 96",
        "hours",
        "Chu et al. 2016; SCODE",
        "MIT",
    ),
    (
        "mesc_scode_hayashi",
        "time course",
        "mouse",
        356,
        100,
        "0, 12, 24, 48, 72",
        "hours",
        "Hayashi et al. 2018; SCODE",
        "MIT",
    ),
    (
        "eb_subset",
        "time course (PCs)",
        "human",
        2750,
        100,
        "0, 1, 2, 3, 4",
        "label",
        "Moon et al. 2019; NLSB",
        "MIT",
    ),
    (
        "trrust('human')",
        "reference, 9,396 rows",
        "human",
        None,
        None,
        "",
        "",
        "Han et al. 2018",
        "CC BY-SA 4.0",
    ),
    (
        "trrust('mouse')",
        "reference, 7,057 rows",
        "mouse",
        None,
        None,
        "",
        "",
        "Han et al. 2018",
        "CC BY-SA 4.0",
    ),
]


def list_datasets() -> pd.DataFrame:
    """Describe the bundled data sets.

    Returns
    -------
    pandas.DataFrame
        One row per loader with columns ``name`` (the :mod:`grn_mnn.datasets` call),
        ``kind``, ``species``, ``cells``, ``genes`` (nullable integers; empty for the
        reference tables), ``time_points``, ``time_unit``, ``citation`` (short form; the full
        one is in each loaded object's ``uns['citation']``) and ``licence``.
    """
    cols = [
        "name",
        "kind",
        "species",
        "cells",
        "genes",
        "time_points",
        "time_unit",
        "citation",
        "licence",
    ]
    df = pd.DataFrame(_CATALOGUE, columns=cols)
    df["cells"] = df["cells"].astype("Int64")
    df["genes"] = df["genes"].astype("Int64")
    return df
