"""The Query console's guard: user-written Cypher may only read the graph.

An allow-list over tokens (nestmap.graph.cypher_lexer), not a search for bad words in text:

- the text is at most ``MAX_QUERY_CHARS`` long and is one statement (a ``;`` only at the end);
- it starts with MATCH, OPTIONAL MATCH, WITH, UNWIND, RETURN or CALL;
- every keyword either engine gives a meaning to is one of ``ALLOWED_KEYWORDS`` (reading
  clauses and expression words), or it is refused by name: CREATE, LOAD, COPY, EXPORT, ATTACH,
  INSTALL, UPDATE, USE, SET, … — and also any keyword added to a later engine version that we
  have not listed, once listed in ``ENGINE_KEYWORDS``; words that are not keywords are names;
- every function call ``name(…)`` names one of ``ALLOWED_FUNCTIONS`` (pure functions of their
  arguments: no table functions, so no ``read_csv`` / ``read_parquet`` / ``read_npy``, no
  sequences, no settings), after normalising the name (backticks, case, spaces around dots);
- ``CALL`` runs only one of ``READ_PROCEDURES`` with parentheses: never ``CALL name = value``
  (a setting), never a ``CALL { … }`` subquery.

The engines are the second wall: console queries run in a worker process with a read-only
database, memory and time limits and, on Linux, no file access at all (nestmap.graph.console);
Neo4j runs them in read transactions.
"""

from __future__ import annotations

from nestmap.errors import ReadOnlyError
from nestmap.graph.cypher_lexer import (
    PUNCT,
    QUOTED,
    WORD,
    CypherLexError,
    Token,
    tokenize,
    where,
)

MAX_QUERY_CHARS = 10_000

# Procedures that only read the schema: the embedded engine's catalogue functions and Neo4j's
# schema views. Not current_setting (it tells the server's home folder), not file_info, not
# anything that reads files (read_csv_*, read_parquet, read_npy, read_pandas).
READ_PROCEDURES = frozenset(
    {
        "show_tables",
        "show_functions",
        "table_info",
        "show_connection",
        "db.labels",
        "db.relationshiptypes",
        "db.propertykeys",
        "db.schema.visualization",
        "db.schema.nodetypeproperties",
        "db.schema.reltypeproperties",
    }
)

# The words a read query is made of. CALL is checked further (see module docstring).
ALLOWED_KEYWORDS = frozenset(
    """
    MATCH OPTIONAL WITH UNWIND WHERE RETURN ORDER BY SKIP LIMIT UNION ALL DISTINCT
    CASE WHEN THEN ELSE END AS AND OR NOT XOR IN IS NULL STARTS ENDS CONTAINS TRUE FALSE
    ASC ASCENDING DESC DESCENDING EXISTS COUNT CAST CALL YIELD
    SHORTEST WSHORTEST ACYCLIC TRAIL ANY NONE SINGLE
    """.split()
)

# Every keyword of ladybug 0.22.0's grammar (src/antlr4/keywords.txt in LadybugDB/ladybug) and
# the clause keywords of Neo4j 5 that ladybug lacks. Those not in ALLOWED_KEYWORDS are refused
# wherever they stand as a keyword (a property after '.', a label after ':' or a name after AS
# is a name, never a keyword, in both engines).
LADYBUG_KEYWORDS = frozenset(
    """
    ACYCLIC ANY ADD ALL ALTER AND AS ASC ASCENDING ATTACH BEGIN BY CALL CASE CAST CHECKPOINT
    COLUMN COMMENT COMMIT COMMIT_SKIP_CHECKPOINT CONTAINS COPY COUNT CREATE CYCLE DATABASE
    DBTYPE DEFAULT DELETE DESC DESCENDING DETACH DISTINCT DROP ELSE END ENDS EXISTS EXPLAIN
    EXPORT EXTENSION FALSE FROM FORCE GLOB GRAPH GROUP HEADERS HINT IMPORT IF IN INCREMENT
    INSTALL IS JOIN KEY LIMIT LOAD LOGICAL MACRO MATCH MAXVALUE MERGE MINVALUE MULTI_JOIN NO
    NODE NOT NONE NULL ON ONLY OPTIONAL OR ORDER PRIMARY PROFILE PROJECT READ REL RENAME RETURN
    ROLLBACK ROLLBACK_SKIP_CHECKPOINT SEQUENCE SET SHORTEST SKIP START STARTS STRUCT TABLE THEN
    TO TRAIL TRANSACTION TRUE TYPE UNION UNWIND UNINSTALL UPDATE USE WHEN WHERE WITH WRITE
    WSHORTEST XOR SINGLE YIELD USER PASSWORD ROLE MAP ANALYZE
    """.split()
)
NEO4J_CLAUSE_KEYWORDS = frozenset(
    """
    REMOVE FOREACH CSV FIELDTERMINATOR PERIODIC TRANSACTIONS SHOW TERMINATE GRANT DENY REVOKE
    STOP ENABLE DEALLOCATE REALLOCATE DRYRUN FINISH INSERT FILTER LET NEXT INDEX CONSTRAINT
    DATABASES PRIVILEGE PRIVILEGES IMPERSONATE SERVER ALIAS EXECUTE ASSERT USING
    """.split()
)
# Keywords that only mean something inside statements the console refuses by their first word
# (CREATE NODE TABLE, CREATE USER, BEGIN TRANSACTION READ ONLY, …) and that users name things
# with (a `node`, a `type`, a `role` column): in a read query the engines read them as names.
NAME_LIKE_KEYWORDS = frozenset(
    """
    NODE REL TYPE KEY GROUP TABLE COLUMN ROLE USER START GRAPH MAP STRUCT DEFAULT PRIMARY
    SEQUENCE READ WRITE ONLY NO IF ON
    """.split()
)
ENGINE_KEYWORDS = (LADYBUG_KEYWORDS | NEO4J_CLAUSE_KEYWORDS) - NAME_LIKE_KEYWORDS

STATEMENT_STARTS = frozenset({"MATCH", "OPTIONAL", "WITH", "UNWIND", "RETURN", "CALL"})

# Keywords that may stand before '(' without calling a function ("WHERE (a OR b)").
_BEFORE_PARENTHESIS = frozenset(
    """
    MATCH WHERE RETURN WITH UNWIND AND OR XOR NOT IN IS CASE WHEN THEN ELSE DISTINCT SKIP LIMIT
    CONTAINS BY AS OPTIONAL UNION
    """.split()
)

# Functions of their arguments only (ladybug's scalar, aggregate and rewrite functions and
# Neo4j's built-ins), lower case. Left out on purpose: every table function (read_csv_serial,
# read_csv_parallel, read_parquet, read_npy, read_pandas, current_setting, file_info, …),
# nextval/currval (sequences), setseed (session state), error.
ALLOWED_FUNCTIONS = frozenset(
    """
    count count_star sum avg min max collect stdev stdevp percentilecont percentiledisc
    histogram count_if
    abs acos asin atan atan2 cbrt ceil ceiling cos cot degrees even exp factorial floor gamma
    lgamma ln log log10 log2 negate pi pow power radians round sign sin sqrt tan e rand random
    bitwise_and bitwise_or bitwise_xor bitshift_left bitshift_right
    concat concat_ws contains ends_with starts_with initcap lcase lower ucase upper tolower
    toupper left right lpad rpad ltrim rtrim trim reverse replace substring substr size
    split split_part string_split str_split string_to_array prefix suffix levenshtein
    regexp_matches regexp_replace regexp_extract regexp_extract_all regexp_full_match
    regexp_split_to_array repeat md5 sha256 hash octet_length encode decode
    tostring to_string tointeger tofloat toboolean tostringornull tointegerornull
    tofloatornull tobooleanornull to_bool to_double to_float to_int8 to_int16 to_int32 to_int64
    to_int128 to_uint8 to_uint16 to_uint32 to_uint64 to_uint128 to_serial to_date
    to_timestamp to_interval to_blob to_uuid to_days to_hours to_minutes to_seconds
    to_milliseconds to_microseconds to_months to_years to_epoch_ms
    cast coalesce ifnull nullif greatest least typeof equals not_equals greater_than
    greater_than_equals less_than less_than_equals constant_or_null
    range head last tail keys labels label id type properties nodes relationships rels length
    cost startnode endnode start_node end_node elementid internal_id offset rowid
    exists all any none single is_acyclic is_trail
    list_creation list_append list_prepend list_cat list_concat list_contains list_has
    list_has_all list_has_any list_element list_extract list_indexof list_position
    list_slice list_reverse list_sort list_reverse_sort list_sum list_product list_distinct
    list_unique list_any_value list_min list_max list_to_string list_transform list_filter
    list_reduce array_value array_append array_cat array_concat array_contains array_has
    array_extract array_indexof array_position array_prepend array_push_back
    array_push_front array_slice array_distance array_squared_distance array_dot_product
    array_inner_product array_cross_product array_cosine_similarity cardinality
    map map_extract map_keys map_values element_at struct_extract struct_pack
    union_value union_tag union_extract
    date timestamp duration interval current_date current_timestamp date_part datepart
    date_trunc datetrunc dayname monthname last_day make_date epoch_ms century time_bucket
    datetime localdatetime localtime time
    blob uuid gen_random_uuid string
    """.split()
)


def normalise_name(parts: list[str]) -> str:
    """A function or procedure name as the engines resolve it: parts joined by dots, any
    backticks already removed by the lexer, case folded."""
    return ".".join(part.strip() for part in parts).lower()


def _refuse(reason: str) -> None:
    raise ReadOnlyError(f"the Query console only reads the graph: {reason}")


def check_read_only(cypher: str, dialect: str = "embedded") -> list[Token]:
    """Raise ReadOnlyError (with the reason, naming the word) unless ``cypher`` only reads.

    Returns the tokens, for tests. ``dialect`` is accepted for the callers' clarity: the same
    rules hold for both engines, and text the two would read differently is refused."""
    del dialect  # one set of rules: anything either engine could read otherwise is refused
    if len(cypher) > MAX_QUERY_CHARS:
        _refuse(f"the query is {len(cypher):,} characters long; the limit is {MAX_QUERY_CHARS:,}")
    if "\x00" in cypher:
        # The engine's C interface may end the text at a NUL: never let it see less than we do.
        _refuse("the query contains a NUL character")
    try:
        tokens = tokenize(cypher)
    except CypherLexError as exc:
        raise ReadOnlyError(f"the Query console cannot read this query safely: {exc}") from None
    if not tokens:
        _refuse("the query is empty")
    for index, token in enumerate(tokens):
        if token.kind == PUNCT and token.value == ";" and index != len(tokens) - 1:
            _refuse(
                f"one statement at a time (a ';' at {where(cypher, token.start)} is "
                "followed by more)"
            )
    first = tokens[0]
    if first.kind != WORD or first.upper not in STATEMENT_STARTS:
        shown = first.value if first.kind in (WORD, QUOTED) else first.value[:20]
        _refuse(
            f"a query must start with MATCH, OPTIONAL MATCH, WITH, UNWIND, RETURN or CALL, "
            f"not {shown!r}"
        )
    names = _name_positions(tokens)
    for index, token in enumerate(tokens):
        if token.kind not in (WORD, QUOTED):
            continue
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        opens_call = following is not None and following.kind == PUNCT and following.value == "("
        refused_keyword = (
            token.kind == WORD
            and not names[index]
            and token.upper in ENGINE_KEYWORDS
            and token.upper not in ALLOWED_KEYWORDS
        )
        if refused_keyword:
            _refuse(
                f"{token.upper} is not allowed (at {where(cypher, token.start)}); the console "
                "runs reading queries only: MATCH, OPTIONAL MATCH, WITH, UNWIND, WHERE, "
                "RETURN, ORDER BY, SKIP, LIMIT, UNION and CALL of catalogue procedures"
            )
        if opens_call and not (token.kind == WORD and token.upper in _BEFORE_PARENTHESIS):
            _check_call_target(cypher, tokens, index, names)
            continue
        if token.kind == QUOTED or names[index]:
            continue  # a name: backtick names and properties, labels, aliases are never keywords
        word = token.upper
        if word == "CALL":
            _check_call_clause(cypher, tokens, index)
    return tokens


def _name_positions(tokens: list[Token]) -> list[bool]:
    """For each token, whether a word there can only be a name: a property key after '.', a
    label or relationship type after ':', an alias or variable after the keyword AS. One
    forward pass (``AS AS AS`` is AS, the alias "AS", then AS again)."""
    names = [False] * len(tokens)
    for index in range(1, len(tokens)):
        previous = tokens[index - 1]
        if previous.kind == PUNCT and previous.value in (".", ":"):
            names[index] = True
        elif previous.kind == WORD and previous.upper == "AS" and not names[index - 1]:
            names[index] = True
    return names


def _dotted_name(tokens: list[Token], index: int) -> tuple[list[str], int]:
    """The dotted name ending at ``index`` (``db.schema.visualization``) and where it starts."""
    parts = [tokens[index].value]
    start = index
    while (
        start >= 2
        and tokens[start - 1].kind == PUNCT
        and tokens[start - 1].value == "."
        and tokens[start - 2].kind in (WORD, QUOTED)
    ):
        start -= 2
        parts.insert(0, tokens[start].value)
    return parts, start


def _check_call_target(cypher: str, tokens: list[Token], index: int, names: list[bool]) -> None:
    """``name(`` at ``index``: a procedure after CALL, else a function; both allow-listed."""
    parts, start = _dotted_name(tokens, index)
    name = normalise_name(parts)
    before = tokens[start - 1] if start else None
    called = before is not None and before.kind == WORD and before.upper == "CALL"
    if called and not names[start - 1]:
        if name not in READ_PROCEDURES:
            _refuse(
                f"CALL {name} is not allowed (at {where(cypher, tokens[start].start)}); "
                f"the console may CALL only {', '.join(sorted(READ_PROCEDURES))}"
            )
        return
    if name not in ALLOWED_FUNCTIONS:
        _refuse(
            f"the function {name} is not allowed (at {where(cypher, tokens[start].start)}); "
            "only functions of their arguments may be called (no table functions, files, "
            "settings or sequences)"
        )


def _is_dot(token: Token) -> bool:
    return token.kind == PUNCT and token.value == "."


def _check_call_clause(cypher: str, tokens: list[Token], index: int) -> None:
    """CALL must be followed by a (dotted) name and '(' : not ``CALL x = y``, not ``CALL {``."""
    j = index + 1
    while j + 1 < len(tokens) and tokens[j].kind in (WORD, QUOTED) and _is_dot(tokens[j + 1]):
        j += 2
    named = j < len(tokens) and tokens[j].kind in (WORD, QUOTED)
    opens = j + 1 < len(tokens) and tokens[j + 1].kind == PUNCT and tokens[j + 1].value == "("
    if not (named and opens):
        _refuse(
            f"CALL at {where(cypher, tokens[index].start)} may only run a catalogue "
            f"procedure with parentheses ({', '.join(sorted(READ_PROCEDURES))}); settings "
            "(CALL name = value) and CALL {…} subqueries are refused"
        )
