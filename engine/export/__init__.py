"""Exports of a session in the forms the field uses: NumPy code, PyTorch code and ONNX.

    from engine.export import FORMATS, export

    name, media_type, body = export(trainer, "numpy", lang="en")

Each format lives in its own module (:mod:`~engine.export.numpy_code`,
:mod:`~engine.export.pytorch_code`, :mod:`~engine.export.onnx_graph`) and reads the trainer
through one :class:`~engine.export.snapshot.Snapshot`. A session a format cannot write is an
:class:`~engine.export.snapshot.ExportError` naming the config field.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.export.numpy_code import numpy_source
from engine.export.pytorch_code import pytorch_source
from engine.export.snapshot import ExportError, Snapshot, snapshot
from engine.export.words import LANGS

if TYPE_CHECKING:
    from engine.trainer import Trainer

# format -> (file name ending, media type)
FORMATS: dict[str, tuple[str, str]] = {
    "numpy": ("_numpy.py", "text/x-python; charset=utf-8"),
    "pytorch": ("_torch.py", "text/x-python; charset=utf-8"),
    "onnx": (".onnx", "application/octet-stream"),
}


def export(
    trainer: Trainer, fmt: str, lang: str = "en", stem: str = "session"
) -> tuple[str, str, bytes]:
    """(file name, media type, content) of ``trainer`` in format ``fmt``; ExportError naming
    ``format`` or ``lang`` for an unknown one, or the config field a format cannot write."""
    if fmt not in FORMATS:
        raise ExportError("format", f"unknown export format {fmt!r}; choose one of {list(FORMATS)}")
    if lang not in LANGS:
        raise ExportError("lang", f"unknown language {lang!r}; choose one of {list(LANGS)}")
    ending, media = FORMATS[fmt]
    name = stem + ending
    snap = snapshot(trainer)
    if fmt == "numpy":
        return name, media, numpy_source(snap, lang, name).encode("utf-8")
    if fmt == "pytorch":
        return name, media, pytorch_source(snap, lang, name).encode("utf-8")
    # imported on first use: the onnx package is large, and most servers never export ONNX
    from engine.export.onnx_graph import onnx_bytes

    return name, media, onnx_bytes(snap)


__all__ = ["FORMATS", "ExportError", "Snapshot", "export", "snapshot"]
