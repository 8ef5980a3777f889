"""One root exception; the CLI and dashboard turn these into clean messages."""

from __future__ import annotations

from dataclasses import dataclass


class NestmapError(Exception):
    """Anything nestmap reports to a user (exit code 1 unless a subclass says otherwise)."""

    exit_code = 1


class UsageError(NestmapError):
    """Bad arguments or options (exit code 2)."""

    exit_code = 2


class NoGraphError(NestmapError):
    """No dataset has been loaded at the chosen database."""

    exit_code = 2


@dataclass(frozen=True, order=True)
class Problem:
    """One violation of the input contract, located as precisely as the input allows.

    ``row`` is the 1-based line of the file or sheet, the header being row 1; ``None`` when the
    problem concerns a whole file or column.
    """

    file: str
    row: int | None
    column: str | None
    value: str | None
    reason: str

    # A problem names a value, it does not reproduce it: a hostile cell may be 32,767
    # characters, and a thousand of them would flood a terminal or a page.
    shown_chars = 120

    def __post_init__(self) -> None:
        if self.value is not None and len(self.value) > self.shown_chars:
            shortened = self.value[: self.shown_chars] + f"… ({len(self.value):,} characters)"
            object.__setattr__(self, "value", shortened)

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column:
            where += f", column {self.column}"
        value = "" if self.value is None else f" (value {self.value!r})"
        return f"{where}: {self.reason}{value}"

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "row": self.row,
            "column": self.column,
            "value": self.value,
            "reason": self.reason,
        }


class InputError(NestmapError):
    """The dataset breaks the input contract; carries every problem found (exit code 2)."""

    exit_code = 2
    # The first this many problems (in file and row order) are kept and listed; the rest are
    # only counted (nestmap.loaders.limits.MAX_PROBLEMS_SHOWN says the same).
    shown_at_most = 1_000

    def __init__(
        self,
        problems: list[Problem],
        what: str = "the dataset",
        *,
        counting_stopped: bool = False,
    ):
        ordered = sorted(problems, key=_problem_key)
        self.total = len(ordered)
        self.problems = ordered[: self.shown_at_most]
        # Problems found but not listed, and whether checking stopped before the end (then
        # ``total`` is a lower bound).
        self.more = self.total - len(self.problems)
        self.counting_stopped = counting_stopped
        self.what = what
        super().__init__(self.problems, what)

    def __str__(self) -> str:
        count = f"at least {self.total:,}" if self.counting_stopped else f"{self.total:,}"
        return f"{count} problem{'s' if self.total != 1 else ''} in {self.what}"

    def about(self, what: str) -> InputError:
        """The same problems, said to be in ``what`` (a scenario file, an ORUK directory)."""
        self.what = what
        return self

    def more_note(self) -> str | None:
        """A line saying how many problems are not listed, or None when all are."""
        if not self.more:
            return None
        if self.counting_stopped:
            return (
                f"… and at least {self.more:,} further problems, not listed (checking stopped "
                f"at {self.total:,}; mend the ones above first)"
            )
        return f"… and {self.more:,} further problems, not listed (mend the ones above first)"


def _problem_key(p: Problem) -> tuple:
    return (p.file, p.row if p.row is not None else -1, p.column or "", p.reason)


class TooManyProblems(Exception):
    """Raised by a bounded problem list when checking should stop (see ProblemList)."""


class ProblemList(list[Problem]):
    """A list of problems that stops the check (raises TooManyProblems) past ``limit``, so a
    hostile file costs bounded time and memory however many rows it breaks."""

    def __init__(self, limit: int = 100_000):
        super().__init__()
        self.limit = limit

    def append(self, problem: Problem) -> None:
        super().append(problem)
        if len(self) >= self.limit:
            raise TooManyProblems

    def extend(self, problems) -> None:
        for problem in problems:
            self.append(problem)


class ReadOnlyError(UsageError):
    """User-written Cypher would write to the graph (the Query console is read-only)."""


class QueryTimeoutError(NestmapError):
    """A query ran past its time limit and was stopped."""


class QueryStoppedError(NestmapError):
    """A console query was stopped for going over its memory limit (its worker ended)."""


class QueryCrashedError(NestmapError):
    """The engine crashed while running a console query (only its worker process ended)."""


class BusyError(NestmapError):
    """Refused for capacity: the server is running as much as it may at once (nothing failed;
    trying again shortly works)."""


class WorkerStoppedError(NestmapError):
    """A bounded worker process was stopped: over its time, CPU-time or memory limit, or its
    session went away."""
