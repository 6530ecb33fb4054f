"""Live model switching and shadow scoring for one service worker.

Each worker polls the serving state (`churn.db.serving_state`, one row per model name) every
`CHURN_MODEL_POLL_S` seconds on a background thread. When the row names other models, the thread
loads them from the BentoML model store (off the request path), then replaces ONE immutable
`Snapshot` reference. A request reads `live.snapshot` once and uses only that object, so a
request in flight finishes on the models it started with, and no request ever sees half a switch.
A load that fails keeps the old snapshot, is logged and counted, and is retried at the next poll.
No serving_state row: the worker keeps the model it was built with (the store's latest).

Shadow scoring (`ShadowScorer`): the challenger scores the records of answered requests on its own
thread, from a bounded queue (full: the records are dropped and counted, never the response).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import prometheus_client

from bentos.model_loader import LoadedModel
from churn.db.serving_state import ServingState
from churn.experiment import CHALLENGER, CHAMPION, assign
from churn.settings import get_settings

log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def _load_errors() -> prometheus_client.Counter:
    """Created on first use, inside the worker, so BentoML's multiprocess registry is set up."""
    return prometheus_client.Counter(
        "churn_model_load_errors", "Failed live model loads (the worker kept its models)"
    )


@lru_cache(maxsize=1)
def _switches() -> prometheus_client.Counter:
    return prometheus_client.Counter(
        "churn_model_switches", "Live model switches made by this worker"
    )


@lru_cache(maxsize=1)
def _shadow_dropped() -> prometheus_client.Counter:
    return prometheus_client.Counter(
        "churn_shadow_dropped", "Records the challenger did not score (shadow queue full)"
    )


@dataclass(frozen=True)
class Snapshot:
    """What a worker serves: never changed, only replaced as a whole."""

    champion: LoadedModel
    challenger: LoadedModel | None = None
    mode: str = "none"  # churn.experiment.MODES
    share: float = 0.0
    salt: str = ""
    key: tuple[Any, ...] | None = None  # the ServingState.key() it was built from; None: embedded

    def route(self, customer_id: str | None) -> tuple[str, LoadedModel]:
        """The arm that answers this customer, and its model (A/B by salted hash of the raw ID)."""
        if (
            self.mode == "ab"
            and self.challenger is not None
            and assign(customer_id, self.salt, self.share) == CHALLENGER
        ):
            return CHALLENGER, self.challenger
        return CHAMPION, self.champion

    @property
    def shadow(self) -> LoadedModel | None:
        return self.challenger if self.mode == "shadow" else None

    def describe(self) -> dict[str, Any]:
        """The experiment part of `/model_info`."""
        if self.challenger is None or self.mode == "none":
            return {"mode": "none"}
        return {
            "mode": self.mode,
            "challenger_version": self.challenger.card.model_version,
            "challenger_tag": self.challenger.tag,
            "share": self.share if self.mode == "ab" else None,
        }


SwitchHook = Callable[[Snapshot, Snapshot, ServingState], None]


class LiveModel:
    """The current snapshot, and the thread that keeps it equal to the serving state."""

    def __init__(
        self,
        embedded: LoadedModel,
        read_state: Callable[[], ServingState | None],
        loader: Callable[[str], LoadedModel],
        *,
        poll_s: float | None = None,
        on_switch: SwitchHook | None = None,
    ) -> None:
        self.snapshot = Snapshot(embedded)
        self.load_errors = 0
        self.switches = 0
        self.last_error: str | None = None
        self._read_state = read_state
        self._loader = loader
        self._poll_s = poll_s if poll_s is not None else get_settings().live.poll_s
        self._on_switch = on_switch
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _model(self, tag: str, current: Snapshot) -> LoadedModel:
        """Reuse a model this worker already holds; load others from the store."""
        for held in (current.champion, current.challenger):
            if held is not None and held.tag == tag:
                return held
        return self._loader(tag)

    def refresh(self) -> bool:
        """Read the serving state once; switch when it names other models. True if switched."""
        current = self.snapshot
        try:
            state = self._read_state()
            if state is None or state.key() == current.key:
                return False
            champion = self._model(state.production_tag, current)
            challenger = None
            if state.experiment in ("shadow", "ab") and state.challenger_tag:
                challenger = self._model(state.challenger_tag, current)
            new = Snapshot(
                champion,
                challenger,
                state.experiment if challenger is not None else "none",
                float(state.share or 0.0),
                state.salt or "",
                state.key(),
            )
        except Exception as exc:  # a bad tag, a store or database error: keep serving
            self.load_errors += 1
            self.last_error = f"{type(exc).__name__}: {str(exc)[:300]}"
            log.error("live model: cannot switch, keeping the current models (%s)", self.last_error)
            try:
                _load_errors().inc()
            except Exception:
                log.exception("live model: cannot count a load error")
            return False
        self.snapshot = new  # the one atomic step: requests read this reference once
        self.switches += 1
        log.warning(
            "live model: now serving %s (version %s), experiment %s",
            champion.tag,
            champion.card.model_version,
            new.mode,
        )
        try:
            _switches().inc()
            if self._on_switch is not None:
                self._on_switch(current, new, state)
        except Exception:  # the switch stands; its bookkeeping is best effort
            log.exception("live model: switch hook failed")
        return True

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="live-model", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.wait(self._poll_s):
            self.refresh()


@dataclass(frozen=True)
class ShadowJob:
    challenger: LoadedModel
    records: Sequence[Mapping[str, Any]]
    rows: Sequence[Mapping[str, Any]]  # the champion's log rows of the same records


class ShadowScorer:
    """Scores answered records with the challenger on its own thread and logs its rows.

    `write(rows)` gets the challenger's rows: the champion's with the challenger's version,
    probability and decision, arm "challenger", served false, request_id suffixed ":c".
    """

    def __init__(
        self, write: Callable[[list[dict[str, Any]]], None], backlog: int | None = None
    ) -> None:
        self._write = write
        self._max = backlog if backlog is not None else get_settings().live.shadow_backlog
        self._queue: queue.Queue[ShadowJob | None] = queue.Queue()
        self._pending = 0
        self._lock = threading.Lock()
        self.scored = 0
        self.dropped = 0
        self._thread = threading.Thread(target=self._run, name="shadow-scorer", daemon=True)
        self._thread.start()

    def submit(
        self,
        challenger: LoadedModel,
        records: Sequence[Mapping[str, Any]],
        rows: Sequence[Mapping[str, Any]],
    ) -> None:
        """Queue the records; never blocks and never raises into the request."""
        with self._lock:
            if self._pending + len(records) > self._max:
                self._drop(len(records))
                return
            self._pending += len(records)
        self._queue.put(ShadowJob(challenger, records, rows))

    def _drop(self, n: int) -> None:
        self.dropped += n
        try:
            _shadow_dropped().inc(n)
        except Exception:
            log.exception("shadow: cannot count dropped records")

    def close(self, timeout: float = 10.0) -> None:
        """Score what is queued (within `timeout`), then stop."""
        self._queue.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            jobs = [job]
            while len(jobs) < 256:  # one batch call for what arrived meanwhile
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)
                    break
                jobs.append(more)
            for challenger, group in _by_model(jobs):
                self._score(challenger, group)

    def _score(self, challenger: LoadedModel, jobs: list[ShadowJob]) -> None:
        records = [r for j in jobs for r in j.records]
        rows = [r for j in jobs for r in j.rows]
        try:
            probs = challenger.scorer.proba(records).tolist()
            threshold = challenger.card.threshold
            version = challenger.card.model_version
            out = [
                {
                    **row,
                    "request_id": f"{row['request_id']}:c",
                    "model_version": version,
                    "churn_probability": p,
                    "churn": p >= threshold,
                    "arm": CHALLENGER,
                    "served": False,
                }
                for row, p in zip(rows, probs, strict=True)
            ]
            self._write(out)
            self.scored += len(out)
        except Exception:  # the challenger failing must never touch the champion's service
            log.exception("shadow: the challenger could not score %d records", len(records))
            self._drop(len(records))
        finally:
            with self._lock:
                self._pending -= len(records)


def _by_model(jobs: list[ShadowJob]) -> list[tuple[LoadedModel, list[ShadowJob]]]:
    groups: dict[str, tuple[LoadedModel, list[ShadowJob]]] = {}
    for job in jobs:
        groups.setdefault(job.challenger.tag, (job.challenger, []))[1].append(job)
    return list(groups.values())
