"""`churn generate` for any number of customers in bounded memory: chunks written as made.

Chunk 0 is `generate(min(rows, CHUNK_ROWS), seed)`, so a file of up to `CHUNK_ROWS` customers is
byte for byte what it always was (the DVC default data among them); chunk k draws from the seed
sequence (seed, k). Ids stay unique across chunks: each id is also a number (4 digits and 5
letters), the numbers of earlier chunks are kept sorted (8 bytes a customer), and the rare id a
new chunk repeats is drawn again from the chunk's own generator.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

import numpy as np
import pandas as pd

from churn.generator import _LETTERS, generate, to_csv_text
from churn.schema import ID_COLUMN

CHUNK_ROWS = 250_000
_LETTER_CODE = {letter: i for i, letter in enumerate(_LETTERS.tolist())}


def id_numbers(ids: np.ndarray) -> np.ndarray:
    """'0123-ABCDE' -> 123 * 26**5 + the letters in base 26: one int64 per id."""
    raw = np.asarray(ids, dtype="U10").view(np.uint32).reshape(len(ids), 10).astype(np.int64)
    digits = (raw[:, :4] - ord("0")) @ np.array([1000, 100, 10, 1])
    letters = (raw[:, 5:] - ord("A")) @ (26 ** np.arange(4, -1, -1))
    return np.asarray(digits * 26**5 + letters, dtype=np.int64)


def _in_sorted(taken: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Which `values` the sorted array `taken` holds: a binary search each, O(log n), where
    `np.isin` sorts all of `taken` again on every call (10M ids: minutes of sorting)."""
    if not len(taken):
        return np.zeros(len(values), dtype=bool)
    at = np.minimum(np.searchsorted(taken, values), len(taken) - 1)
    return np.asarray(taken[at] == values)


def _fresh_ids(frame: pd.DataFrame, taken: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The chunk's id numbers, after drawing again every id an earlier chunk already has."""
    numbers = id_numbers(frame[ID_COLUMN].to_numpy())
    clash = np.flatnonzero(_in_sorted(taken, numbers))
    if len(clash):
        used = set(numbers.tolist())
        ids = frame[ID_COLUMN].to_numpy(dtype=object)
        for i in clash:
            while True:
                value = f"{rng.integers(0, 10_000):04d}-{''.join(_LETTERS[rng.integers(0, 26, 5)])}"
                number = int(id_numbers(np.array([value]))[0])
                if number not in used and not _in_sorted(taken, np.array([number]))[0]:
                    break
            ids[i], numbers[i] = value, number
            used.add(number)
        frame[ID_COLUMN] = ids
    return numbers


def generate_chunks(
    rows: int, seed: int, drift: str, chunk_rows: int = CHUNK_ROWS
) -> Iterator[pd.DataFrame]:
    """`rows` customers in chunks of `chunk_rows` (the last one shorter)."""
    taken = np.empty(0, dtype=np.int64)
    for k, start in enumerate(range(0, rows, chunk_rows)):
        n = min(chunk_rows, rows - start)
        if k == 0:
            frame = generate(n, seed, drift)
        else:
            chunk_seed = np.random.SeedSequence([seed, k])
            frame = generate(n, int(chunk_seed.generate_state(1)[0]), drift)
        if rows > chunk_rows:
            numbers = _fresh_ids(frame, taken, np.random.default_rng([seed, k, 1]))
            fresh = np.unique(numbers)  # sorted; no clash with `taken` is left
            taken = np.insert(taken, np.searchsorted(taken, fresh), fresh)
        yield frame


def write_csv(rows: int, seed: int, drift: str, out: IO[str], chunk_rows: int = CHUNK_ROWS) -> None:
    """The CSV `churn generate` writes, chunk by chunk (one header)."""
    for k, frame in enumerate(generate_chunks(rows, seed, drift, chunk_rows)):
        text = to_csv_text(frame)
        out.write(text if k == 0 else text.split("\n", 1)[1])
