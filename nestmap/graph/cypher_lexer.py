"""Split Cypher text into tokens the way the engines read it, in one linear pass.

The console guard (nestmap.graph.readonly) decides on tokens, never on raw text, so that a word
inside a string or a comment is never mistaken for code and, above all, code is never mistaken
for a comment or a string. The rules follow ladybug 0.22.0's grammar (src/antlr4/Cypher.g4 in
LadybugDB/ladybug) and were checked against the engine itself (tests/test_query_guard.py):

- ``/* … */``: inside, a ``*`` always takes the next character with it unless that character
  is ``/`` (``( ~[*] | '*' ~[/] )* '*/'``), so ``/* **/`` does NOT end the comment in ladybug
  while Neo4j ends it at the first ``*/``. Comments do not nest.
- ``// …`` ends at a line feed; a carriage return must be followed by a line feed (or the end).
- ``'…'`` and ``"…"``: a backslash takes ``\\ ' " b f n r t`` (either case), ``x`` + 2 hex
  digits or ``u`` + 4 hex digits; any other escape is a syntax error in the engine. A quote is
  never doubled to escape it.
- ```…```: a backtick name; a doubled backtick inside stands for one backtick.

Anything the engines could read in two ways (an unclosed comment, string or name, an unknown
escape, a comment Neo4j and ladybug end at different places, a character outside the ASCII
code set) raises ``CypherLexError`` instead of guessing.
"""

from __future__ import annotations

from dataclasses import dataclass

from nestmap.errors import ReadOnlyError

# ladybug's WHITESPACE rule (comments aside): ASCII space and controls plus these code points.
WHITESPACE = frozenset(
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f "
    "\u00a0\u1680\u180e\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
# Single-character punctuation the console's read queries need; anything else is refused.
PUNCTUATION = frozenset("()[]{},.:;|=<>+-*/%^!~")
_SIMPLE_ESCAPES = frozenset("\\'\"bBfFnNrRtT")
_HEX = frozenset("0123456789abcdefABCDEF")
_WORD_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_DIGITS = frozenset("0123456789")
_WORD_PART = _WORD_START | _DIGITS

WORD = "word"  # a bare word: a keyword or a name
QUOTED = "quoted"  # a backtick name (never a keyword), ``value`` holds it unescaped
STRING = "string"
NUMBER = "number"
PARAMETER = "parameter"
PUNCT = "punct"


class CypherLexError(ReadOnlyError):
    """The text cannot be split into tokens without guessing how an engine reads it."""


@dataclass(frozen=True)
class Token:
    kind: str
    value: str  # words as written; backtick names unescaped; strings as written (with quotes)
    start: int  # offset in the text, for messages
    end: int  # just past the token

    @property
    def upper(self) -> str:
        return self.value.upper()


def where(text: str, offset: int) -> str:
    """``line L, column C`` (1-based) of ``offset`` in ``text``, for messages."""
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f"line {line}, column {column}"


def tokenize(text: str) -> list[Token]:
    """The significant tokens of ``text`` (whitespace and comments dropped), in order.

    Linear in the length of ``text``: each character is looked at a bounded number of times."""
    tokens: list[Token] = []
    length = len(text)
    i = 0
    while i < length:
        char = text[i]
        if char in WHITESPACE:
            i += 1
        elif text.startswith("/*", i):
            i = _block_comment_end(text, i)
        elif text.startswith("//", i):
            i = _line_comment_end(text, i)
        elif char == "'" or char == '"':
            end = _string_end(text, i)
            tokens.append(Token(STRING, text[i:end], i, end))
            i = end
        elif char == "`":
            end, name = _backtick_end(text, i)
            tokens.append(Token(QUOTED, name, i, end))
            i = end
        elif char in _WORD_START:
            end = i + 1
            while end < length and text[end] in _WORD_PART:
                end += 1
            tokens.append(Token(WORD, text[i:end], i, end))
            i = end
        elif char in _DIGITS or (char == "." and i + 1 < length and text[i + 1] in _DIGITS):
            end = _number_end(text, i)
            tokens.append(Token(NUMBER, text[i:end], i, end))
            i = end
        elif char == "$":
            end = i + 1
            while end < length and text[end] in _WORD_PART:
                end += 1
            if end == i + 1:
                raise CypherLexError(f"a '$' without a parameter name at {where(text, i)}")
            tokens.append(Token(PARAMETER, text[i:end], i, end))
            i = end
        elif char in PUNCTUATION:
            tokens.append(Token(PUNCT, char, i, i + 1))
            i += 1
        else:
            raise CypherLexError(
                f"the character {char!r} at {where(text, i)} is not allowed outside a string "
                "(names with other characters need backticks: `name`)"
            )
    return tokens


def _block_comment_end(text: str, start: int) -> int:
    """The offset just past the ``/* … */`` comment at ``start``.

    Where ladybug (a ``*`` takes the next character) and Neo4j (first ``*/``) would end the
    comment at different places, the text is refused: one of them would run what the other
    reads as comment."""
    length = len(text)
    j = start + 2
    ladybug_end = -1
    while j < length:
        if text[j] == "*":
            if j + 1 < length and text[j + 1] == "/":
                ladybug_end = j + 2
                break
            j += 2  # '*' followed by anything but '/' is part of the comment
        else:
            j += 1
    neo4j_close = text.find("*/", start + 2)
    if ladybug_end == -1 and neo4j_close == -1:
        raise CypherLexError(f"a comment opened at {where(text, start)} is never closed")
    if ladybug_end != neo4j_close + 2:
        raise CypherLexError(
            f"the comment opened at {where(text, start)} ends at different places in the two "
            "engines (a run of '*' before '/'); write it without '**/'"
        )
    return ladybug_end


def _line_comment_end(text: str, start: int) -> int:
    length = len(text)
    j = start + 2
    while j < length and text[j] != "\n" and text[j] != "\r":
        j += 1
    if j < length and text[j] == "\r" and not (j + 1 == length or text[j + 1] == "\n"):
        # ladybug's rule is CR? (LF | EOF): a bare carriage return is a syntax error there.
        raise CypherLexError(
            f"a carriage return without a line feed ends the comment at {where(text, start)}"
        )
    return j


def _string_end(text: str, start: int) -> int:
    quote = text[start]
    length = len(text)
    j = start + 1
    while j < length:
        char = text[j]
        if char == quote:
            return j + 1
        if char == "\\":
            following = text[j + 1] if j + 1 < length else ""
            if following in _SIMPLE_ESCAPES and following:
                j += 2
            elif following in ("x", "X") and _hex_run(text, j + 2, 2):
                j += 4
            elif following in ("u", "U") and _hex_run(text, j + 2, 4):
                j += 6  # \U with 8 digits: the last 4 are ordinary characters
            else:
                raise CypherLexError(
                    f"unknown escape {text[j : j + 2]!r} in the string at {where(text, start)}"
                )
        else:
            j += 1
    raise CypherLexError(f"the string opened at {where(text, start)} is never closed")


def _hex_run(text: str, start: int, count: int) -> bool:
    return start + count <= len(text) and all(c in _HEX for c in text[start : start + count])


def _backtick_end(text: str, start: int) -> tuple[int, str]:
    """The end of ```name``` (doubled backticks inside) and the name unescaped."""
    parts: list[str] = []
    j = start
    length = len(text)
    # ladybug: ( '`' ~[`]* '`' )+ : adjacent quoted runs join, the join being one backtick.
    while j < length and text[j] == "`":
        close = text.find("`", j + 1)
        if close == -1:
            raise CypherLexError(f"the `name` opened at {where(text, start)} is never closed")
        parts.append(text[j + 1 : close])
        j = close + 1
    name = "`".join(parts)
    if not name:
        raise CypherLexError(f"an empty `` name at {where(text, start)}")
    return j, name


def _number_end(text: str, start: int) -> int:
    length = len(text)
    j = start
    while j < length and text[j] in _DIGITS:
        j += 1
    if j + 1 < length and text[j] == "." and text[j + 1] in _DIGITS:
        j += 1
        while j < length and text[j] in _DIGITS:
            j += 1
    if j < length and text[j] in "eE":
        k = j + 1
        if k < length and text[k] == "-":
            k += 1
        if k < length and text[k] in _DIGITS:
            while k < length and text[k] in _DIGITS:
                k += 1
            j = k
    return j
