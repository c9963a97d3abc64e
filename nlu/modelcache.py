"""Train-once model cache shared by the NLU's statistical models (`nlu.intents`, `nlu.classifier`).

Importing scikit-learn costs ~100 MB of RSS, so a serving process never trains. A model is
trained in a short-lived child process (``python -m <module> train --data X --out Y``), which
extracts it into plain numpy arrays and writes them as ``.npz`` under ``$NAAST_NLU_CACHE_DIR``
(default ``$XDG_CACHE_HOME/naast/nlu``, i.e. ``~/.cache/naast/nlu``). The file name carries a
hash of the training data and the feature version, so changed data or code retrains by itself.
If the child process or the cache fails, the model is trained in-process (correct, just
bigger); ``NAAST_NLU_TRAIN_INPROCESS=1`` forces that.

Only numpy is imported here, and only lazily: nothing in this module loads scikit-learn.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

ROOT = Path(__file__).resolve().parent.parent
MAX_FILES = 5  # cached versions kept per model name


def cache_dir() -> Path:
    env = os.environ.get("NAAST_NLU_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "naast" / "nlu"


def cache_key(data_path: str | Path, version: int | str) -> str:
    """Hash of the feature/code version and the training data bytes (16 hex digits). A directory
    counts with the names and bytes of all its files, in sorted order."""
    h = hashlib.sha256(f"v{version}".encode())
    path = Path(data_path)
    for f in sorted(path.iterdir()) if path.is_dir() else [path]:
        if f.is_file():
            h.update(f.name.encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:16]


def cache_path(name: str, data_path: str | Path, version: int | str) -> Path:
    return cache_dir() / f"{name}-{cache_key(data_path, version)}.npz"


def save_npz(path: str | Path, **arrays: object) -> None:
    """Write arrays to `path` atomically (temp file + rename; no pickle)."""
    import numpy as np

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".npz")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(buf.getvalue())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def train_in_child(module: str, data_path: str | Path, out: str | Path, *, timeout: float = 300) -> None:
    """Run ``python -m <module> train --data <data_path> --out <out>`` in a child process."""
    root = str(ROOT)
    env = dict(os.environ)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    subprocess.run(
        [sys.executable, "-m", module, "train", "--data", str(data_path), "--out", str(out)],
        check=True,
        env=env,
        cwd=root,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def prune(keep: Path, name: str, max_files: int = MAX_FILES) -> None:
    """Drop all but the newest `max_files` cached `name-*.npz` files (old data versions)."""
    try:
        files = sorted(keep.parent.glob(f"{name}-*.npz"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in [f for f in files if f != keep][max_files - 1 :]:
            old.unlink(missing_ok=True)
    except OSError:
        pass


def load_or_train(
    name: str,
    data_path: str | Path,
    version: int | str,
    *,
    module: str,
    load: Callable[[Path], T],
    train: Callable[[Path], T],
    save: Callable[[T, Path], None],
    label: str | None = None,
) -> T:
    """The cached model `name` for `data_path`: load it, or train it in a child process
    (``python -m <module> train``) and load the result, or, if that fails, `train` in-process
    and try to cache the result."""
    label = label or f"{name} model"
    data_path = Path(data_path)
    path = cache_path(name, data_path, version)
    if path.exists():
        try:
            return load(path)
        except Exception as exc:
            log.warning("%s cache unreadable, retraining: %s", label, exc)
    if os.environ.get("NAAST_NLU_TRAIN_INPROCESS") != "1":
        try:
            train_in_child(module, data_path, path)
            prune(path, name)
            return load(path)
        except Exception as exc:
            detail = getattr(exc, "stderr", b"") or b""
            log.warning(
                "%s: child training failed (%s %s), training in-process",
                label,
                type(exc).__name__,
                detail.decode(errors="replace")[-500:],
            )
    model = train(data_path)
    try:
        save(model, path)
        prune(path, name)
    except OSError as exc:
        log.warning("%s: cannot write cache %s: %s", label, path, exc)
    return model
