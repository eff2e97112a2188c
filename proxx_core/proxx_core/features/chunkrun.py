"""Running a chunked clip (proxx_core.features.chunking) on the job's worker slots: the chunks side by side,
each one's frame count checked, then the join. A failed, lost or short chunk fails the clip and says
which chunk; the chunk files are this run's own (temp claims) and never outlive the clip.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Protocol

from ..contract.engine import ClipPlan, CommandRecord, Engine
from ..contract.errors import ClipFailure
from ..io.tempclaim import Identity, TempBusy, TempClaim, TempExists, TempIsSource
from .chunking import ChunkedPlan, ChunkSpan

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor


class Seat:
    """One of the job's slots, held by a work unit from its start to the end of its engine run, so the
    next clip encodes while this one is verified and published; given back once, however often asked."""

    def __init__(self, release: Callable[[], None]):
        self._release: Callable[[], None] | None = release
        self._lock = threading.Lock()

    def give_back(self) -> None:
        with self._lock:
            release, self._release = self._release, None
        if release is not None:
            release()


class Slots:
    """The job's worker slots (``--max-workers``): every encode, a whole clip's or a chunk's, holds
    one while it runs, so a long clip's chunks fill the slots other clips leave free, never more."""

    def __init__(self, count: int):
        self.count = count
        self._held = threading.BoundedSemaphore(count)
        self._pool: ThreadPoolExecutor | None = None  # made by the first chunk: most jobs have none
        self._pool_lock = threading.Lock()

    @contextmanager
    def hold(self) -> Iterator[None]:
        with self._held:
            yield

    @contextmanager
    def seat(self) -> Iterator[Seat]:
        """A slot for one work unit (a clip, or a source's renditions made together), waited for in
        turn; the unit gives it back when its engine run ends (:meth:`Seat.give_back`), or on leaving."""
        self._held.acquire()
        seat = Seat(self._held.release)
        try:
            yield seat
        finally:
            seat.give_back()

    def submit(self, fn: Callable[[], CommandRecord | tuple[CommandRecord, ...]]) -> Future:  # type: ignore[type-arg]
        def held() -> CommandRecord | tuple[CommandRecord, ...]:
            with self.hold():
                return fn()

        with self._pool_lock:
            if self._pool is None:
                from concurrent.futures import ThreadPoolExecutor  # noqa: F811 (loaded with logging: only for chunks)

                self._pool = ThreadPoolExecutor(max_workers=self.count, thread_name_prefix="proxx-chunk")
            return self._pool.submit(held)

    def start(self, chunked: ChunkedPlan, engine: Engine, cancel: threading.Event) -> list[Future]:  # type: ignore[type-arg]
        """Each chunk on the next free slot (ChunkSource)."""
        count = len(chunked.spans)
        return [
            self.submit(chunk_job(engine, plan, span, count, cancel))
            for plan, span in zip(chunked.chunks, chunked.spans, strict=True)
        ]

    def close(self) -> None:
        with self._pool_lock:
            pool = self._pool
        if pool is not None:
            pool.shutdown(wait=True)


def span_label(span: ChunkSpan, count: int) -> str:
    """How a message names a chunk: "chunk 2 of 4 (frames 720-1439)"."""
    return f"chunk {span.index} of {count} (frames {span.first_frame}-{span.first_frame + span.frame_count - 1})"


def claim_chunks(chunked: ChunkedPlan, *, overwrite: bool, is_source: Callable[[Identity], bool]) -> list[TempClaim]:
    """Own every chunk's temp file, or none (ClipFailure ``output_exists``/``io_error`` naming it)."""
    claims: list[TempClaim] = []
    for path in chunked.chunk_paths:
        try:
            claims.append(TempClaim.take(path, overwrite=overwrite, is_source=is_source))
        except (TempExists, TempBusy, TempIsSource) as exc:
            discard(claims)
            raise ClipFailure(
                f"chunk file {path} exists or belongs to another run ({type(exc).__name__}); "
                f"inspect and delete it, then run the job again",
                category="output_exists",
            ) from exc
        except OSError as exc:
            discard(claims)
            raise ClipFailure(f"cannot create chunk file {path}: {exc.strerror or exc}", category="io_error") from exc
    return claims


def discard(claims: list[TempClaim]) -> None:
    """Remove the chunk files this run still owns and give up their claims; never raises."""
    for claim in claims:
        try:
            if claim.at_path():
                os.unlink(claim.path)
        except OSError:
            pass
        claim.release()


def _linked(cancel: threading.Event, local: threading.Event, done: threading.Event) -> None:
    """Pass the job's cancel on to the clip's chunks until the clip is done."""
    while not done.wait(0.2):
        if cancel.is_set():
            local.set()
            return


class ChunkSource(Protocol):
    """Who encodes a clip's chunks: the job's local worker slots (:class:`Slots`), or a fleet's nodes
    (proxx_fleet). ``start`` returns one future per chunk, in order, each giving the chunk's command
    records or raising ClipFailure; ``hold`` is held around the join."""

    def start(self, chunked: ChunkedPlan, engine: Engine, cancel: threading.Event) -> list[Future]:  # type: ignore[type-arg]
        ...

    def hold(self) -> AbstractContextManager[None]: ...


def execute_chunked(
    chunked: ChunkedPlan,
    engine: Engine,
    cancel: threading.Event,
    source: ChunkSource | None,
    *,
    overwrite: bool,
    is_source: Callable[[Identity], bool],
) -> tuple[CommandRecord, ...]:
    """Every chunk encoded (on free slots, or by a fleet), each chunk's frame count verified here, then
    the join. Returns every record, the chunks' in order then the join's; raises ClipFailure naming the
    chunk. The chunk files are claimed here first (a fleet's nodes write into them) and removed at the end."""
    claims = claim_chunks(chunked, overwrite=overwrite, is_source=is_source)
    local, done = threading.Event(), threading.Event()
    threading.Thread(target=_linked, args=(cancel, local, done), daemon=True, name="proxx-chunk-cancel").start()
    own = source is None
    made_here = Slots(1) if source is None else source
    records: list[CommandRecord] = []
    try:
        futures = made_here.start(chunked, engine, local)
        failures: list[ClipFailure] = []
        for future in futures:
            try:
                made = future.result()
            except ClipFailure as exc:
                local.set()  # the clip fails: the other chunks stop
                failures.append(exc)
                records += exc.records
                continue
            records += made
        if failures:  # the chunk that failed, not those it stopped
            first = next((f for f in failures if f.category != "interrupted"), failures[0])
            raise ClipFailure(first.message, category=first.category, records=tuple(records))
        for plan, span in zip(chunked.chunks, chunked.spans, strict=True):
            verify_chunk(engine, plan, span, len(chunked.spans))
        with made_here.hold():
            joined = engine.execute(chunked.join, local)
        return (*records, *joined)
    except ClipFailure as exc:
        raise ClipFailure(exc.message, category=exc.category, records=tuple(records) or exc.records) from None
    finally:
        done.set()
        discard(claims)
        if isinstance(made_here, Slots) and own:
            made_here.close()


def verify_chunk(engine: Engine, plan: ClipPlan, span: ChunkSpan, count: int) -> None:
    """The chunk file holds exactly its frames (probed where the join runs): never a silent gap."""
    info = engine.probe_output(plan)
    frames = info.video.frame_count if info is not None and info.video is not None else None
    if frames != span.frame_count:
        got = "no readable video" if frames is None else f"{frames} frames"
        raise ClipFailure(
            f"{span_label(span, count)} has {got} at {plan.request.temp_path}, expected "
            f"{span.frame_count}: nothing was joined, so the clip never has a gap",
            category="verification_failed",
        )


def chunk_job(
    engine: Engine, plan: ClipPlan, span: ChunkSpan, count: int, cancel: threading.Event
) -> Callable[[], tuple[CommandRecord, ...]]:
    """One chunk's encode, its failure worded with the chunk it was."""

    def job() -> tuple[CommandRecord, ...]:
        label = span_label(span, count)
        if cancel.is_set():
            raise ClipFailure(
                f"{label} was not started: the clip was interrupted or another chunk failed", category="interrupted"
            )
        try:
            return engine.execute(plan, cancel)
        except ClipFailure as exc:
            raise ClipFailure(f"{label} failed: {exc.message}", category=exc.category, records=exc.records) from None
        except Exception as exc:  # an engine bug fails this clip, never the job
            raise ClipFailure(
                f"{label}: engine {engine.name!r} raised {type(exc).__name__}: {exc}", category="engine_failed"
            ) from exc

    return job
