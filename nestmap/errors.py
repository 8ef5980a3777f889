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

    def __init__(self, problems: list[Problem], what: str = "the dataset"):
        self.problems = sorted(problems, key=_problem_key)
        self.what = what
        super().__init__(self.problems, what)

    def __str__(self) -> str:
        count = len(self.problems)
        return f"{count} problem{'s' if count != 1 else ''} in {self.what}"

    def about(self, what: str) -> InputError:
        """The same problems, said to be in ``what`` (a scenario file, an ORUK directory)."""
        self.what = what
        return self


def _problem_key(p: Problem) -> tuple:
    return (p.file, p.row if p.row is not None else -1, p.column or "", p.reason)


class ReadOnlyError(UsageError):
    """User-written Cypher would write to the graph (the Query console is read-only)."""


class QueryTimeoutError(NestmapError):
    """A query ran past its time limit and was stopped."""


class QueryStoppedError(NestmapError):
    """A console query was stopped for going over its memory limit (its worker ended)."""


class QueryCrashedError(NestmapError):
    """The engine crashed while running a console query (only its worker process ended)."""
