"""The Query console's guard: its lexer reads text as ladybug does, its allow-list refuses
every attack of issue 12 (and more) by name, and legitimate reads pass.

Engine facts the lexer relies on are pinned against the real engine (safe probes only, run in
this process: nothing here can crash it). Generated texts are checked twice: the lexer against
a reference tokeniser written straight from the grammar's rules, and every text the guard lets
through is run by the real engine (sandbox off) to show it read no file and wrote none.
"""

from __future__ import annotations

import re
from pathlib import Path

import ladybug
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nestmap import analysis
from nestmap.errors import ReadOnlyError
from nestmap.graph import readonly
from nestmap.graph.cypher_lexer import (
    NUMBER,
    PARAMETER,
    PUNCT,
    QUOTED,
    STRING,
    WORD,
    CypherLexError,
    tokenize,
)
from nestmap.graph.readonly import (
    ALLOWED_FUNCTIONS,
    ENGINE_KEYWORDS,
    MAX_QUERY_CHARS,
    READ_PROCEDURES,
    STATEMENT_STARTS,
    check_read_only,
)

CANARY_TEXT = "canary-7f3a9-secret"


@pytest.fixture(scope="module")
def engine(hand_store):
    """A second read-only connection to the hand-built graph, for probing the engine."""
    database = ladybug.Database(str(hand_store.path), read_only=True)
    connection = ladybug.Connection(database)
    yield connection
    connection.close()
    database.close()


def _value(connection, text: str):
    result = connection.execute(text)
    rows = result.get_all()
    result.close()
    return rows[0][0]


def _engine_accepts(connection, text: str) -> bool:
    try:
        connection.execute(text).close()
    except RuntimeError:
        return False
    return True


# -- what the engine does (pinned, because the lexer copies it) --------------------------------


def test_engine_keeps_a_comment_open_past_an_even_run_of_stars(engine):
    # The heart of attack 1: "**/" does not close a comment in ladybug, "***/" does.
    assert _value(engine, "RETURN 1 /* **/ + 2 /* */ AS x") == 1
    assert _value(engine, "RETURN 1 /* ***/ + 2 AS x") == 3
    assert _value(engine, "RETURN 1 /*/ + 1 */ AS x") == 1
    assert not _engine_accepts(engine, "RETURN 1 /* /* nested */ */ + 2 AS x")  # no nesting
    assert not _engine_accepts(engine, "RETURN 1 /* never closed")


def test_engine_string_and_name_rules(engine):
    assert _value(engine, r"RETURN 'a\'b' AS x") == "a'b"
    assert _value(engine, r'RETURN "a\"b" AS x') == 'a"b'
    assert _value(engine, r"RETURN 'a\\' AS x") == "a\\"
    assert _value(engine, r"RETURN 'a\u0041b' AS x") == "aAb"
    assert not _engine_accepts(engine, r"RETURN 'a\qb' AS x")  # unknown escape: an error
    assert not _engine_accepts(engine, "RETURN 'a''b' AS x")  # quotes are not doubled
    assert _engine_accepts(engine, "RETURN 1 AS `a``b`")  # a doubled backtick is one backtick
    assert not _engine_accepts(engine, "RETURN 1 // comment\r+ 1 AS y")  # bare CR in a comment


def test_engine_runs_every_statement_and_file_functions_even_read_only(engine, tmp_path):
    """Why the guard must refuse ';' and the worker needs a sandbox: read_only=True does not
    stop the engine reading files, and several statements all run."""
    assert len(engine.execute("RETURN 1 AS x; RETURN 2 AS y")) == 2
    canary = tmp_path / "canary.csv"
    canary.write_text(CANARY_TEXT + "\n")
    assert _value(engine, f"LOAD FROM '{canary}' (header=false) RETURN *") == CANARY_TEXT


def test_lexer_agrees_with_the_engine_on_comment_ends(engine):
    bodies = ["", " ", "*", "**", "***", " ** ", "a*b", "/", "*/*", "x*y*", "* *", "//"]
    for body in bodies:
        text = f"RETURN 1 /*{body}*/ + 2 AS x"
        try:
            values = [token.value for token in tokenize(text)]
        except CypherLexError:
            continue  # refused: ambiguous or unclosed for us, whatever the engine does
        engine_value = _value(engine, text) if _engine_accepts(engine, text) else None
        # Our comment ends just before " + 2" exactly when the engine's does (then 1 + 2 = 3).
        whole = values == ["RETURN", "1", "+", "2", "AS", "x"]
        assert whole == (engine_value == 3), (body, values, engine_value)


# -- the lexer ---------------------------------------------------------------------------------


def test_tokens_of_a_query():
    tokens = tokenize(
        "MATCH (s:`Ser``vice`)-[r:REFERS_TO*1..2]->(t) // note\n"
        "WHERE s.name <> 'CREATE \\'x\\'' AND r.count > $min /* LOAD */ RETURN 1.5e3"
    )
    assert [(t.kind, t.value) for t in tokens if t.kind != PUNCT] == [
        (WORD, "MATCH"),
        (WORD, "s"),
        (QUOTED, "Ser`vice"),
        (WORD, "r"),
        (WORD, "REFERS_TO"),
        (NUMBER, "1"),
        (NUMBER, ".2"),
        (WORD, "t"),
        (WORD, "WHERE"),
        (WORD, "s"),
        (WORD, "name"),
        (STRING, "'CREATE \\'x\\''"),
        (WORD, "AND"),
        (WORD, "r"),
        (WORD, "count"),
        (PARAMETER, "$min"),
        (WORD, "RETURN"),
        (NUMBER, "1.5e3"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "RETURN 'never closed",
        'RETURN "never closed',
        "RETURN `never closed",
        "RETURN 1 /* never closed",
        "RETURN 1 /* **/ */",  # ends at different places in ladybug and Neo4j
        "RETURN 'a\\q'",
        "RETURN 'a\\u004'",
        "RETURN 1 AS ``",
        "RETURN 1 // x\r+1",
        "RETURN 1 AS caf\u00e9",
        "RETURN 1 \u2212 1",
        "RETURN $",
    ],
)
def test_texts_the_engines_could_read_otherwise_are_refused(text):
    with pytest.raises(CypherLexError):
        tokenize(text)
    with pytest.raises(ReadOnlyError):
        check_read_only(text)


def test_long_runs_of_one_word_are_checked_in_one_pass():
    check_read_only("RETURN 1 AS " + "AS " * 3000 + "x")  # alternating keyword and alias
    with pytest.raises(ReadOnlyError, match="LOAD"):
        check_read_only("RETURN 1 AS " + "AS " * 3001 + "LOAD")


def test_64_kb_of_escaped_quotes_is_refused_by_length_and_lexed_in_one_pass():
    text = "RETURN '" + "\\'" * 32_768
    with pytest.raises(ReadOnlyError, match="10,000"):
        check_read_only(text)
    # The lexer itself walks it once (no backtracking) and finds the string never closed.
    with pytest.raises(CypherLexError, match="never closed"):
        tokenize(text)


# -- the allow-list ----------------------------------------------------------------------------

CANARY = "/srv/canary.csv"
TARGET = "/srv/written"

# (attack, a word the refusal must name). Issue 12's items 1-5, then ours.
ATTACKS: list[tuple[str, str]] = [
    # 1: a comment the old guard read differently, hiding LOAD FROM / COPY TO / EXPORT.
    (
        f'/* **/ \'x /* */ LOAD FROM "{CANARY}" (file_format="csv", header=false, '
        'delim=":") RETURN * // \'',
        "comment",
    ),
    (f"/* **/ 'x /* */ COPY (MATCH (s:Service) RETURN s.name) TO \"{TARGET}.csv\" // '", "comment"),
    (f"/* **/ 'x /* */ EXPORT DATABASE \"{TARGET}\" // '", "comment"),
    (f"MATCH (s) /* ***/ LOAD FROM '{CANARY}' RETURN *", "LOAD"),
    # 2: backtick-quoted table functions and settings.
    (f"CALL `read_csv_serial`('{CANARY}') RETURN *", "read_csv_serial"),
    (f"CALL `read_csv_parallel`('{CANARY}') RETURN *", "read_csv_parallel"),
    (f"CALL `read_parquet`('{CANARY}') RETURN *", "read_parquet"),
    (f"CALL `read_npy`('{CANARY}') RETURN *", "read_npy"),
    (f"CALL read_csv_serial('{CANARY}') RETURN *", "read_csv_serial"),
    (f"CALL READ_CSV_SERIAL ('{CANARY}') RETURN *", "read_csv_serial"),
    (f"CALL `READ_CSV_SERIAL`/* x */('{CANARY}') RETURN *", "read_csv_serial"),
    ("CALL `enable_zone_map`=false", "CALL"),
    ("CALL enable_zone_map = false", "CALL"),
    ("CALL threads=1", "CALL"),
    ("CALL `current_setting`('home_directory') RETURN *", "current_setting"),
    ("CALL current_setting('home_directory') RETURN *", "current_setting"),
    ("CALL file_info('graph.lbug') RETURN *", "file_info"),
    ("CALL project_graph('g', ['Service'], ['REFERS_TO'])", "project_graph"),
    ("CALL clear_warnings()", "clear_warnings"),
    # 3: extensions.
    ("UPDATE httpfs", "UPDATE"),
    ("UNINSTALL httpfs", "UNINSTALL"),
    ("INSTALL httpfs", "INSTALL"),
    ("FORCE INSTALL httpfs", "FORCE"),
    ("LOAD httpfs", "LOAD"),
    ("LOAD EXTENSION '/tmp/evil.so'", "LOAD"),
    # Other statements that read, write or change the session.
    (f"LOAD FROM '{CANARY}' RETURN *", "LOAD"),
    (f"LOAD WITH HEADERS (a STRING) FROM '{CANARY}' RETURN *", "LOAD"),
    (f"MATCH (s:Service) WITH s LOAD FROM '{CANARY}' RETURN *", "LOAD"),
    (f"COPY (MATCH (s:Service) RETURN s.name) TO '{TARGET}.csv'", "COPY"),
    (f"COPY Service FROM '{CANARY}'", "COPY"),
    (f"EXPORT DATABASE '{TARGET}'", "EXPORT"),
    (f"IMPORT DATABASE '{TARGET}'", "IMPORT"),
    (f"ATTACH '{TARGET}.lbug' AS other (dbtype lbug)", "ATTACH"),
    ("DETACH other", "DETACH"),
    ("USE other", "USE"),
    ("CREATE (n:Service {id: 'x'})", "CREATE"),
    ("CREATE NODE TABLE X(id STRING PRIMARY KEY)", "CREATE"),
    ("CREATE MACRO m(x) AS x", "CREATE"),
    ("MATCH (s:Service) SET s.name = 'x'", "SET"),
    ("MATCH (s:Service) DELETE s", "DELETE"),
    ("MATCH (s:Service) DETACH DELETE s", "DETACH"),
    ("MERGE (s:Service {id: 'gp'})", "MERGE"),
    ("MATCH (s:Service) MERGE (s)-[:REFERS_TO]->(s)", "MERGE"),
    ("MATCH (s:Service) REMOVE s.name", "REMOVE"),
    ("DROP TABLE Service", "DROP"),
    ("ALTER TABLE Service ADD x INT64", "ALTER"),
    ("BEGIN TRANSACTION", "BEGIN"),
    ("CHECKPOINT", "CHECKPOINT"),
    ("COMMENT ON TABLE Service IS 'x'", "COMMENT"),
    ("EXPLAIN MATCH (s) RETURN s", "EXPLAIN"),
    ("PROFILE MATCH (s) RETURN s", "PROFILE"),
    ("ANALYZE", "ANALYZE"),
    ("RETURN nextval('seq')", "nextval"),
    ("RETURN setseed(0.5)", "setseed"),
    (f"RETURN `read_csv`('{CANARY}')", "read_csv"),
    (f"RETURN read_npy ('{CANARY}')", "read_npy"),
    (f"UNWIND [1] AS x CALL read_csv_serial('{CANARY}') RETURN *", "read_csv_serial"),
    ("WITH 1 AS x CALL { CREATE (:X) } RETURN x", "CALL"),
    ("MATCH (s) CALL { WITH s RETURN s.name AS n } RETURN n", "CALL"),
    # More than one statement; the second hidden behind comments and strings.
    ("MATCH (s:Service) RETURN s.name; CREATE (:X)", "one statement"),
    ("RETURN 1; /* */ RETURN 2", "one statement"),
    (f"RETURN 'x;'; LOAD FROM '{CANARY}' RETURN *", "one statement"),
    # Neo4j.
    (f"LOAD CSV FROM 'file://{CANARY}' AS line RETURN line", "LOAD"),
    (f"MATCH (s) WITH s LOAD CSV FROM 'file://{CANARY}' AS line RETURN line", "LOAD"),
    ("CALL apoc.load.json('file:///etc/passwd') YIELD value RETURN value", "apoc.load.json"),
    ("CALL `apoc`.`load`.`json`('x') YIELD value RETURN value", "apoc.load.json"),
    ("CALL `apoc.load.json`('x') YIELD value RETURN value", "apoc.load.json"),
    ("RETURN apoc.text.join(['a'], ',')", "apoc.text.join"),
    ("CALL dbms.listConfig() YIELD name RETURN name", "dbms.listconfig"),
    ("CALL db.createLabel('X')", "db.createlabel"),
    ("MATCH (s) FOREACH (x IN [1] | CREATE (:X))", "FOREACH"),
    ("SHOW DATABASES", "SHOW"),
    ("MATCH (s) RETURN s USING PERIODIC COMMIT", "USING"),
    # Not a query at all / too long.
    ("RETURN 'a\x00' AS x", "NUL"),
    ("", "empty"),
    ("   /* only a comment */  ", "empty"),
    ("RETURN 1 AS x" + " " * MAX_QUERY_CHARS, "10,000"),
]


@pytest.mark.parametrize(("cypher", "named"), ATTACKS)
def test_every_attack_is_refused_with_its_reason(cypher, named):
    with pytest.raises(ReadOnlyError) as refused:
        check_read_only(cypher)
    assert named.lower() in str(refused.value).lower()


LEGITIMATE = [
    "MATCH (s:Service) RETURN s.name LIMIT 5",
    "MATCH (s:Service)-[r:REFERS_TO]->(t:Service)\nWHERE r.reason = 'parent_infant_relationship'\n"
    "RETURN s.name AS from_service, t.name AS to_service, r.count AS referrals\n"
    "ORDER BY referrals DESC",
    "CALL show_tables() RETURN *",
    "CALL `SHOW_TABLES`() RETURN *",
    "CALL table_info('Service') RETURN *",
    "MATCH (s:Service) RETURN s.sector AS sector, count(*) AS n, avg(s.capacity_per_year) AS cap "
    "ORDER BY n DESC",
    "MATCH (a:Area) OPTIONAL MATCH (a)<-[:COVERS]-(s:Service) RETURN a.name, count(s)",
    "MATCH (s:Service) WHERE s.name STARTS WITH 'B' OR s.name ENDS WITH 'e' OR s.name CONTAINS 'x' "
    "RETURN DISTINCT toLower(s.name) AS name ORDER BY name SKIP 1 LIMIT 3",
    "MATCH (s:Service) WHERE NOT s.capacity_per_year IS NULL AND s.id IN ['gp', 'bim'] XOR false "
    "RETURN CASE WHEN s.capacity_per_year > 10 THEN 'big' ELSE 'small' END AS size",
    "UNWIND [1, 2, 3] AS x WITH x WHERE x > 1 RETURN x UNION ALL RETURN 9 AS x",
    "MATCH (s:Service) WHERE EXISTS { MATCH (s)-[:REFERS_TO]->(:Service) } RETURN s.id",
    "MATCH (s:Service) RETURN s.id, COUNT { MATCH (s)-[:COVERS]->(:Area) } AS areas",
    "MATCH (p:StaffPost) RETURN p.role AS role, p.fte AS fte",  # `role` is a ladybug keyword
    "MATCH (a)-[r:REFERS_TO*1..3]->(b) RETURN count(*)",
    "MATCH (s:Service) RETURN s.name // a comment with LOAD FROM and ; in it",
    "MATCH (s:Service) WHERE s.name <> 'COPY (x) TO \"y\"; LOAD FROM' RETURN s.name;",
    "CALL db.labels() YIELD label RETURN label",
    "RETURN size(range(1, 10)) AS n, cast(1 AS STRING) AS s, coalesce(null, 1) AS c",
]


@pytest.mark.parametrize("cypher", LEGITIMATE)
def test_legitimate_reads_pass(cypher):
    check_read_only(cypher)


def test_the_allow_lists_match_the_engines_catalogue(engine):
    """Every function the guard allows that ladybug knows is a scalar/aggregate/rewrite
    function (never a table function); every table or standalone function but the catalogue
    views is refused both after CALL and inside an expression."""
    result = engine.execute("CALL show_functions() RETURN name, type")
    kinds: dict[str, set[str]] = {}
    for name, kind in result.get_all():
        kinds.setdefault(str(name).lower(), set()).add(kind)
    result.close()
    harmless = {"SCALAR FUNCTION", "AGGREGATE FUNCTION", "REWRITE FUNCTION"}
    for name in ALLOWED_FUNCTIONS & set(kinds):
        assert kinds[name] <= harmless, (name, kinds[name])
    for name, found in kinds.items():
        if found & {"TABLE FUNCTION", "STANDALONE TABLE FUNCTION", "COPY FUNCTION"}:
            assert name not in ALLOWED_FUNCTIONS, name
            if name not in READ_PROCEDURES:
                with pytest.raises(ReadOnlyError, match=re.escape(name)):
                    check_read_only(f"CALL `{name}`('x') RETURN *")
            with pytest.raises(ReadOnlyError):
                check_read_only(f"RETURN {name}('x')")
    # Words that may stand before '(' without a function check are harmless if they are
    # also function names in the engine.
    for word in readonly._BEFORE_PARENTHESIS:
        if word.lower() in kinds:
            assert word.lower() in ALLOWED_FUNCTIONS, word


def test_every_statement_the_engine_knows_is_refused_or_a_reading_start(engine):
    """The parser lists the words a statement may start with: each is a reading start or a
    keyword the guard refuses (a new engine version adding one fails here)."""
    with pytest.raises(RuntimeError) as error:
        engine.execute(";RETURN 1")
    expected = re.search(r"expecting \{([^}]*)\}", str(error.value))
    assert expected is not None
    starts = {word.strip() for word in expected.group(1).split(",")} - {"SP"}
    assert "LOAD" in starts and "UPDATE" in starts
    for word in starts:
        assert word in STATEMENT_STARTS or word in ENGINE_KEYWORDS, word
        if word not in STATEMENT_STARTS:
            with pytest.raises(ReadOnlyError, match=word):
                check_read_only(f"{word} x")


# -- generated texts ---------------------------------------------------------------------------


def forbidden_pieces(canary: str, target: str) -> list[str]:
    """Statements and calls that read ``canary``, write ``target`` or change the session."""
    return [
        f"LOAD FROM '{canary}' (header=false) RETURN *",
        f'LOAD FROM "{canary}" (header=false) RETURN *',
        f"COPY (RETURN 1) TO '{target}.csv'",
        f"EXPORT DATABASE '{target}'",
        f"CALL read_csv_serial('{canary}') RETURN *",
        f"CALL `read_csv_serial`('{canary}') RETURN *",
        f"read_npy('{canary}')",
        "CALL enable_zone_map=false",
        "; CREATE (:X)",
        "UNINSTALL httpfs",
    ]


TRICKS = [
    "/*",
    "*/",
    "**/",
    "***/",
    "//",
    "\n",
    "\r\n",
    "'",
    '"',
    "`",
    "``",
    "\\",
    "\\'",
    '\\"',
    "\\\\",
    "\\u0027",
    "\\x27",
    "*",
    "/",
    " ",
    ";",
]


def query_texts(canary: str = CANARY, target: str = TARGET) -> st.SearchStrategy[str]:
    """A reading query followed by comments, strings and backtick names that wrap forbidden
    statements, with stray quotes, stars, slashes, escapes and semicolons between."""
    inner = st.lists(st.sampled_from(forbidden_pieces(canary, target) + TRICKS), max_size=5).map(
        "".join
    )
    part = st.one_of(
        inner.map(lambda body: f" /*{body}*/ "),
        inner.map(lambda body: f" //{body}\n"),
        inner.map(lambda body: f", '{body}'"),
        inner.map(lambda body: f', "{body}"'),
        inner.map(lambda body: f" AS `{body}`"),
        st.sampled_from(forbidden_pieces(canary, target) + TRICKS),
    )
    prefix = st.sampled_from(["RETURN 1 AS a", "MATCH (s:Service) RETURN s.name AS a"])
    return st.builds(lambda head, parts: head + "".join(parts), prefix, st.lists(part, max_size=4))


# A reference tokeniser written straight from ladybug's lexer rules (Cypher.g4), as regular
# expressions, longest match first; independent of cypher_lexer's hand-written scanner.
_REFERENCE = re.compile(
    r"""
    (?P<comment>/\*(?:[^*]|\*[^/])*\*/|//[^\n\r]*(?:\r?\n|\r?\Z))
  | (?P<string>'(?:[^'\\]|\\(?:[\\'"bBfFnNrRtT]|[xX][0-9a-fA-F]{2}|[uU][0-9a-fA-F]{4}))*'
              |"(?:[^"\\]|\\(?:[\\'"bBfFnNrRtT]|[xX][0-9a-fA-F]{2}|[uU][0-9a-fA-F]{4}))*")
  | (?P<quoted>(?:`[^`]*`)+)
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<number>[0-9]*\.[0-9]+(?:[eE]-?[0-9]+)?|[0-9]+(?:[eE]-?[0-9]+)?)
  | (?P<parameter>\$[A-Za-z0-9_]+)
  | (?P<space>[\t\n\x0b\x0c\r\x1c-\x1f ]+)
  | (?P<punct>[()\[\]{},.:;|=<>+\-*/%^!~])
    """,
    re.VERBOSE,
)


def _reference_tokens(text: str) -> list[tuple[str, str]] | None:
    """(kind, text) of the significant tokens, or None where the grammar would fail."""
    found: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        match = _REFERENCE.match(text, position)
        if match is None or match.end() == position:
            return None
        kind = match.lastgroup or ""
        if kind not in ("comment", "space"):
            found.append((kind, match.group()))
        position = match.end()
    return found


def _ours(text: str) -> list[tuple[str, str]] | None:
    try:
        tokens = tokenize(text)
    except CypherLexError:
        return None
    kinds = {
        WORD: "word",
        QUOTED: "quoted",
        STRING: "string",
        NUMBER: "number",
        PARAMETER: "parameter",
        PUNCT: "punct",
    }
    return [(kinds[t.kind], text[t.start : t.end]) for t in tokens]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(query_texts())
def test_the_lexer_matches_the_grammar_on_generated_texts(text):
    reference = _reference_tokens(text)
    ours = _ours(text)
    if ours is None:
        return  # refused: never unsafe (the engine gets nothing)
    assert reference is not None, text
    assert ours == reference, text
    # Whatever passes the guard has no forbidden word as a keyword and calls nothing forbidden.
    try:
        tokens = check_read_only(text)
    except ReadOnlyError:
        return
    words = {t.upper for t in tokens if t.kind == WORD}
    assert not words & {"LOAD", "COPY", "EXPORT", "CREATE", "UNINSTALL"}, text
    called = {
        token.value.lower()
        for token, following in zip(tokens, tokens[1:], strict=False)
        if token.kind in (WORD, QUOTED) and following.value == "("
    }
    assert not called & {"read_csv_serial", "read_npy"}, text
    settings_changed = [
        token
        for token, following in zip(tokens, tokens[1:], strict=False)
        if token.upper == "CALL" and following.value.lower() == "enable_zone_map"
    ]
    assert not settings_changed, text


def test_refusals_cost_nothing_of_the_graph(hand_store, tmp_path: Path):
    """A refused statement never reaches a connection: the graph's counts are unchanged."""
    before = analysis.info(hand_store)
    for cypher, _named in ATTACKS:
        with pytest.raises(ReadOnlyError):
            hand_store.run_read_only(cypher, None, 10, 5)
    assert analysis.info(hand_store) == before
