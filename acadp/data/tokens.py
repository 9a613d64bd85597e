"""Text as the models read it: MiniLM-L6's uncased WordPiece tokenizer, shared by every text model, and the token ids
of each text dataset's clean documents, cached per dataset and sequence length.

A document becomes ``seq_len`` int64 ids: ``[CLS]``, its word pieces, ``[SEP]``, then ``[PAD]`` (id 0) up to
``seq_len``; a longer document keeps its first ``seq_len - 2`` word pieces (``[SEP]`` stays last, as the tokenizer's
own truncation does). The tokenizer is the ``tokenizer.json`` of the ``minilm-l6`` model asset
(:mod:`acadp.data.assets`), read with ``tokenizers``; its vocabulary has 30,522 entries.

Cache: ``<data_dir>/prepared/<name>-v<version>-wordpiece-<vocabulary>-<seq_len>.npz`` (``train``, ``test``: int32
ids), written atomically under a file lock like the prepared arrays (:mod:`acadp.data.cache`); ``<vocabulary>`` is
the first 12 hex digits of the asset archive's sha256, so another vocabulary never reads these ids. Planted documents
change per trial and are tokenised where they are planted (:mod:`acadp.trial.data`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from filelock import FileLock

from acadp.data.assets import MINILM_L6, MINILM_NAME, minilm_folder
from acadp.data.base import DATASETS
from acadp.data.cache import default_data_dir, load_dataset
from acadp.errors import SpecError
from acadp.store.atomic import atomic_path

if TYPE_CHECKING:  # tokenizers is imported where a tokenizer is read
    from tokenizers import Tokenizer

PAD, CLS, SEP, UNK = "[PAD]", "[CLS]", "[SEP]", "[UNK]"
VOCABULARY = MINILM_L6.sha256[:12]  # names the vocabulary in cache files
ENCODE_CHUNK = 4096  # documents per encode_batch call (bounds the memory of the tokenizer's own objects)

_TOKENIZERS: dict[Path, WordPieces] = {}
_TOKEN_IDS: dict[tuple[str, Path, int], tuple[np.ndarray, np.ndarray]] = {}
_LOCK = threading.Lock()


@dataclass(frozen=True)
class WordPieces:
    """The WordPiece tokenizer and the ids of its special tokens."""

    tokenizer: Tokenizer
    pad_id: int
    cls_id: int
    sep_id: int
    unk_id: int

    @property
    def vocab_size(self) -> int:
        """Entries of the vocabulary (the rows of a text model's token embedding)."""
        return int(self.tokenizer.get_vocab_size(with_added_tokens=True))

    def token_id(self, token: str) -> int:
        """The id of ``token``, one vocabulary entry as the tokenizer reads it between two words (so after the
        tokenizer's own normalisation: lower case, accents stripped). Raises :class:`SpecError` naming
        ``signal.token`` when the tokenizer splits it or reads it as unknown."""
        pieces = self.tokenizer.encode(token, add_special_tokens=False)
        if len(pieces.ids) == 1 and pieces.ids[0] != self.unk_id:
            return int(pieces.ids[0])
        read = " ".join(pieces.tokens) or "nothing"
        raise SpecError(
            f"signal.token: {token!r} is not a token of the {MINILM_NAME} vocabulary (its tokenizer reads it as "
            f"{read}); use one vocabulary entry, e.g. a word of vocab.txt in {MINILM_NAME}'s folder"
        )

    def encode(self, texts: np.ndarray, seq_len: int) -> np.ndarray:
        """Token ids int64 (n, seq_len) of the documents ``texts`` (n,) of str (see the module docstring)."""
        ids = np.full((len(texts), seq_len), self.pad_id, dtype=np.int64)
        for start in range(0, len(texts), ENCODE_CHUNK):
            chunk = [str(text) for text in texts[start : start + ENCODE_CHUNK]]
            for row, encoding in enumerate(self.tokenizer.encode_batch(chunk), start=start):
                pieces = encoding.ids
                if len(pieces) > seq_len:  # keep [CLS] and the first pieces; [SEP] stays last
                    pieces = [*pieces[: seq_len - 1], self.sep_id]
                ids[row, : len(pieces)] = pieces
        return ids


def wordpieces(data_dir: Path | None = None, *, download: bool = True) -> WordPieces:
    """The shared WordPiece tokenizer from ``<data_dir>/models/minilm-l6`` (read once per process), fetched first when
    missing and ``download`` is set; :class:`acadp.errors.DataMissingError` names the fetch command otherwise."""
    root = (data_dir or default_data_dir()).expanduser().resolve()
    with _LOCK:
        if root in _TOKENIZERS:
            return _TOKENIZERS[root]
    folder = minilm_folder(root, download=download)
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.no_truncation()  # truncation to seq_len is done per document (WordPieces.encode)
    tokenizer.no_padding()
    found = {name: tokenizer.token_to_id(name) for name in (PAD, CLS, SEP, UNK)}
    specials = {name: value for name, value in found.items() if value is not None}
    if len(specials) < len(found):
        raise SpecError(f"{folder / 'tokenizer.json'}: the vocabulary lacks {PAD}, {CLS}, {SEP} or {UNK}")
    pieces = WordPieces(
        tokenizer=tokenizer, pad_id=specials[PAD], cls_id=specials[CLS], sep_id=specials[SEP], unk_id=specials[UNK]
    )
    with _LOCK:
        return _TOKENIZERS.setdefault(root, pieces)


def token_cache_path(name: str, data_dir: Path, seq_len: int) -> Path:
    """Where the clean documents' token ids of text dataset ``name`` at ``seq_len`` are cached."""
    version = DATASETS.get(name).version
    return data_dir / "prepared" / f"{name}-v{version}-wordpiece-{VOCABULARY}-{seq_len}.npz"


def clean_token_ids(
    name: str, *, seq_len: int, data_dir: Path | None = None, download: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Token ids int64 (n_train, seq_len) and (n_test, seq_len) of every clean document of text dataset ``name``, in
    the dataset's order: from this process's memory, else the cache, else tokenised now (and cached)."""
    root = (data_dir or default_data_dir()).expanduser().resolve()
    key = (name, root, seq_len)
    with _LOCK:
        if key in _TOKEN_IDS:
            return _TOKEN_IDS[key]
    path = token_cache_path(name, root, seq_len)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(path) + ".lock"):
            if not path.exists():  # else another process cached them while we waited for the lock
                _write_token_ids(name, path, root=root, seq_len=seq_len, download=download)
    with np.load(path, allow_pickle=False) as arrays:
        ids = (arrays["train"].astype(np.int64), arrays["test"].astype(np.int64))
    with _LOCK:
        return _TOKEN_IDS.setdefault(key, ids)


def _write_token_ids(name: str, path: Path, *, root: Path, seq_len: int, download: bool) -> None:
    dataset = load_dataset(name, data_dir=root, download=download)
    if dataset.modality != "text":
        raise SpecError(f"dataset {name!r} is {dataset.modality} data; only text is tokenised")
    pieces = wordpieces(root, download=download)
    train = pieces.encode(dataset.x_train, seq_len).astype(np.int32)  # ids < 2**31: half the bytes on disk
    test = pieces.encode(dataset.x_test, seq_len).astype(np.int32)
    # np.savez appends ".npz" to a file name without it, so it writes to an open handle on the temporary file
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, train=train, test=test)


def clear_token_cache() -> None:
    """Forget tokenizers and token ids held in this process (tests use it to exercise the on-disk cache)."""
    with _LOCK:
        _TOKENIZERS.clear()
        _TOKEN_IDS.clear()
