"""The network system tables, stored in SQLite, and a small Databricks-SQL-to-SQLite translator that
executes statements over them for real (used by ``statements.py``).

Tables (field-update-2026-12.md §2.2; column names and example values from the docs page
``admin/system-tables/network``):

``system.access.outbound_network``
    account_id STRING, workspace_id STRING, event_id STRING, destination_type STRING (DNS|IP|STORAGE),
    destination STRING, dns_event STRUCT<domain_name: STRING, rcode: INT>,
    storage_event STRUCT<hostname: STRING, path: STRING, rejection_reason: STRING>,
    event_time TIMESTAMP, access_type STRING (DROP|DRY_RUN_DENIAL),
    network_source_type STRING (DBSQL|General Compute|MLServing|ML Build|Apps)

``system.access.inbound_network`` (the docs list the *contents* only: event time, workspace, rule
label, request type, identity, network source, access type DENIED|DRY_RUN_DENIAL; the column names
below are this emulator's, UNCONFIRMED)
    account_id STRING, workspace_id STRING, event_id STRING, event_time TIMESTAMP, rule_label STRING,
    request_type STRING (WORKSPACE_API|WORKSPACE_UI), identity STRUCT<principal_type: STRING,
    principal_id: BIGINT, application_id: STRING>, network_source STRUCT<source_type: STRING,
    ip_address: STRING>, access_type STRING (DENIED|DRY_RUN_DENIAL)

Both tables are regional: a statement sees the rows of the workspaces in its own workspace's region.

Storage: one in-memory SQLite database per model generation (a reset wipes it). Structs are stored as
JSON text (the JSON_ARRAY result format renders a struct as its JSON text too); ``x.field`` on a
struct column is rewritten to ``json_extract``. Timestamps are stored as ISO-8601 UTC strings with
milliseconds (``2026-12-01T10:00:00.000Z``), so they order and compare as text, also against date
literals (``event_time > '2026-11-24'``).

The SQL subset (``translate``): one read-only ``SELECT`` / ``WITH ... SELECT`` statement (a trailing
``;`` is fine) with WHERE, GROUP BY (incl. Databricks' ``GROUP BY ALL``), HAVING, ORDER BY (``NULLS
FIRST|LAST``), LIMIT, DISTINCT, CASE, IN, BETWEEN, LIKE (case-sensitive as in Spark), ILIKE, RLIKE,
sub-queries and CTEs; aggregates count, count_if, min, max, sum, avg, collect_set, collect_list;
functions current_timestamp()/now(), current_date(), date_sub, date_add, datediff, to_date,
to_timestamp, date_trunc, concat, nvl/ifnull/coalesce, lower, upper; ``ts - INTERVAL 7 DAYS`` (also
``INTERVAL '7' DAY``, HOUR(S), MINUTE(S), SECOND(S), WEEK(S)) after a column, literal or function
call; ``TIMESTAMP '...'`` / ``DATE '...'`` literals; ``CAST(x AS TIMESTAMP|DATE|STRING|INT|BIGINT|
DOUBLE)``; backtick identifiers; ``"..."`` is a string literal as in Spark; named parameter markers
``:name``. Anything else fails the way Databricks reports a failed statement (``status.state =
FAILED``, ``status.error``), e.g. ``[PARSE_SYNTAX_ERROR]``, ``[TABLE_OR_VIEW_NOT_FOUND]``,
``[UNRESOLVED_COLUMN.WITH_SUGGESTION]``, ``[UNRESOLVED_ROUTINE]``, ``[UNBOUND_SQL_PARAMETER]``.
"""
from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3

OUTBOUND_COLUMNS = (
    ("account_id", "STRING"), ("workspace_id", "STRING"), ("event_id", "STRING"),
    ("destination_type", "STRING"), ("destination", "STRING"),
    ("dns_event", "STRUCT<domain_name: STRING, rcode: INT>"),
    ("storage_event", "STRUCT<hostname: STRING, path: STRING, rejection_reason: STRING>"),
    ("event_time", "TIMESTAMP"), ("access_type", "STRING"), ("network_source_type", "STRING"),
)
INBOUND_COLUMNS = (
    ("account_id", "STRING"), ("workspace_id", "STRING"), ("event_id", "STRING"),
    ("event_time", "TIMESTAMP"), ("rule_label", "STRING"), ("request_type", "STRING"),
    ("identity", "STRUCT<principal_type: STRING, principal_id: BIGINT, application_id: STRING>"),
    ("network_source", "STRUCT<source_type: STRING, ip_address: STRING>"),
    ("access_type", "STRING"),
)
TABLES = {"outbound_network": OUTBOUND_COLUMNS, "inbound_network": INBOUND_COLUMNS}
COLUMN_TYPES = {name: t for cols in TABLES.values() for name, t in cols}
STRUCT_FIELDS = {
    "dns_event": {"domain_name": "STRING", "rcode": "INT"},
    "storage_event": {"hostname": "STRING", "path": "STRING", "rejection_reason": "STRING"},
    "identity": {"principal_type": "STRING", "principal_id": "BIGINT", "application_id": "STRING"},
    "network_source": {"source_type": "STRING", "ip_address": "STRING"},
}
AGGREGATES = {"count", "count_if", "min", "max", "sum", "avg", "mean", "collect_set", "collect_list",
              "any_value", "first", "last"}


class SqlError(Exception):
    """A statement that fails on the warehouse: rendered as ``status.state = FAILED``."""

    def __init__(self, error_class: str, message: str, sql_state: str, error_code: str = "BAD_REQUEST"):
        super().__init__(message)
        self.error_class = error_class
        self.sql_state = sql_state
        self.error_code = error_code
        self.text = f"[{error_class}] {message} SQLSTATE: {sql_state}"


# --- time helpers ------------------------------------------------------------------------------------------

def iso(ts: dt.datetime) -> str:
    ts = ts.astimezone(dt.timezone.utc)
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def parse_ts(value) -> dt.datetime | None:
    """ISO timestamp / date string (``T`` or space, optional fraction and ``Z``/offset) -> aware UTC."""
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return dt.datetime.fromtimestamp(value, dt.timezone.utc)
    text = str(value).strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        ts = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=dt.timezone.utc)
    return ts.astimezone(dt.timezone.utc)


def _is_date(value) -> bool:
    return isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()) is not None


UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 7 * 86400}


def _unit(unit: str) -> str:
    u = unit.lower().rstrip("s")
    if u not in UNITS:
        raise SqlError("INVALID_INTERVAL_FORMAT", f"Unsupported interval unit '{unit}'.", "22006")
    return u


def _ts_add(value, amount, unit):
    ts = parse_ts(value)
    if ts is None:
        return None
    u = _unit(unit)
    out = ts + dt.timedelta(seconds=float(amount) * UNITS[u])
    if _is_date(value) and u in ("day", "week"):
        return out.date().isoformat()
    return iso(out)


def _date_add(value, days):
    ts = parse_ts(value)
    return None if ts is None or days is None else (ts.date() + dt.timedelta(days=int(days))).isoformat()


def _to_date(value, fmt=None):
    ts = parse_ts(value)
    return None if ts is None else ts.date().isoformat()


def _to_timestamp(value, fmt=None):
    ts = parse_ts(value)
    return None if ts is None else iso(ts)


def _date_trunc(unit, value):
    ts = parse_ts(value)
    if ts is None or unit is None:
        return None
    u = unit.lower()
    fields = {"year": dict(month=1, day=1, hour=0, minute=0, second=0, microsecond=0),
              "month": dict(day=1, hour=0, minute=0, second=0, microsecond=0),
              "day": dict(hour=0, minute=0, second=0, microsecond=0),
              "hour": dict(minute=0, second=0, microsecond=0),
              "minute": dict(second=0, microsecond=0), "second": dict(microsecond=0)}
    if u == "week":
        ts = ts - dt.timedelta(days=ts.weekday())
        u = "day"
    if u not in fields:
        raise SqlError("INVALID_PARAMETER_VALUE.DATETIME_UNIT", f"Unsupported unit '{unit}' for date_trunc.",
                       "22023")
    return iso(ts.replace(**fields[u]))


def _datediff(end, start):
    a, b = parse_ts(end), parse_ts(start)
    return None if a is None or b is None else (a.date() - b.date()).days


def _regexp(pattern, value):
    return None if pattern is None or value is None else int(re.search(pattern, str(value)) is not None)


class _CountIf:
    def __init__(self):
        self.n = 0

    def step(self, v):
        if v:
            self.n += 1

    def finalize(self):
        return self.n


class _CollectList:
    distinct = False

    def __init__(self):
        self.items = []

    def step(self, v):
        if v is not None and not (self.distinct and v in self.items):
            self.items.append(v)

    def finalize(self):
        return json.dumps(self.items, separators=(",", ":"))


class _CollectSet(_CollectList):
    distinct = True


# --- tokenizer ---------------------------------------------------------------------------------------------

TOKEN_RE = re.compile(r"""
    (?P<ws>\s+|--[^\n]*|/\*.*?\*/)
  | (?P<str>'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*")
  | (?P<qid>`(?:[^`]|``)*`)
  | (?P<param>:[A-Za-z_][A-Za-z0-9_]*)
  | (?P<num>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<id>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op><=>|<=|>=|<>|!=|==|\|\||::|[-+*/%(),.;=<>!])
  | (?P<bad>.)
""", re.S | re.X)


class Tok:
    __slots__ = ("kind", "text")

    def __init__(self, kind: str, text: str):
        self.kind, self.text = kind, text

    @property
    def word(self) -> str:
        """Lower-cased identifier name (backticks stripped), '' for other tokens."""
        if self.kind == "id":
            return self.text.lower()
        if self.kind == "qid":
            return self.text[1:-1].replace("``", "`").lower()
        return ""

    def is_(self, *texts: str) -> bool:
        return (self.text.lower() if self.kind in ("id", "op") else None) in texts

    def __repr__(self):  # pragma: no cover - debugging
        return f"{self.kind}:{self.text}"


def tokenize(sql: str) -> list[Tok]:
    out = []
    for m in TOKEN_RE.finditer(sql):
        kind = m.lastgroup
        text = m.group()
        if kind == "ws":
            continue
        if kind == "bad":
            raise _syntax(text)
        if kind == "str" and text.startswith('"'):  # Spark: "..." is a string literal
            body = text[1:-1].replace('""', '"').replace('\\"', '"')
            text = "'" + body.replace("'", "''") + "'"
        elif kind == "str":
            body = text[1:-1].replace("\\'", "''")
            text = "'" + body + "'"
        out.append(Tok(kind, text))
    return out


def _syntax(near: str) -> SqlError:
    return SqlError("PARSE_SYNTAX_ERROR", f"Syntax error at or near '{near}'.", "42601")


def _is_ident(t: Tok) -> bool:
    return t.kind in ("id", "qid")


def _match_paren(toks: list[Tok], i: int) -> int:
    """Index of the ``)`` closing the ``(`` at ``i``."""
    depth = 0
    for j in range(i, len(toks)):
        if toks[j].is_("("):
            depth += 1
        elif toks[j].is_(")"):
            depth -= 1
            if depth == 0:
                return j
    raise _syntax("end of input")


def _render(toks: list[Tok]) -> str:
    out = []
    prev = None
    for t in toks:
        if prev is not None and not (t.is_(".", ",", ")") or prev.is_(".", "(")):
            out.append(" ")
        out.append(t.text)
        prev = t
    return "".join(out)


# --- translation -------------------------------------------------------------------------------------------

class Translated:
    def __init__(self, sql: str, params: set[str], type_hints: dict[str, str]):
        self.sql, self.params, self.type_hints = sql, params, type_hints


def translate(statement: str, catalog: str | None = None, schema: str | None = None) -> Translated:
    toks = tokenize(statement)
    while toks and toks[-1].is_(";"):
        toks.pop()
    if not toks:
        raise _syntax("end of input")
    if any(t.is_(";") for t in toks):
        raise SqlError("PARSE_SYNTAX_ERROR", "Syntax error at or near ';': only one statement can be executed "
                       "per request.", "42601")
    if not (toks[0].is_("select", "with") or toks[0].is_("(")):
        raise SqlError("UNSUPPORTED_FEATURE.EMULATOR", f"The local emulator only executes read-only queries "
                       f"(SELECT / WITH), not '{toks[0].text.upper()}'.", "0A000")
    toks = _tables(toks, catalog, schema)
    toks = _literals_and_functions(toks)
    toks = _intervals(toks)
    toks = _structs(toks)
    toks = _ilike(toks)
    toks, hints = _select_lists(toks)
    params = {t.text[1:] for t in toks if t.kind == "param"}
    return Translated(_render(toks), params, hints)


def _tables(toks, catalog, schema):
    out = []
    i = 0
    while i < len(toks):
        t = toks[i]
        prev = out[-1] if out else None
        if prev is not None and prev.is_("from", "join") and _is_ident(t):
            parts = [t.word]
            j = i + 1
            while j + 1 < len(toks) and toks[j].is_(".") and _is_ident(toks[j + 1]):
                parts.append(toks[j + 1].word)
                j += 2
            full = ([catalog or "", schema or ""][: 3 - len(parts)] + parts) if len(parts) < 3 else parts
            full = [p.lower() for p in full[-3:]] if len(full) >= 3 else full
            if len(full) == 3 and full[0] == "system" and full[1] == "access" and full[2] in TABLES:
                out.append(Tok("id", f"__sys_{full[2]}"))
                i = j
                continue
            if len(parts) > 1:
                name = ".".join(f"`{p}`" for p in parts)
                raise SqlError("TABLE_OR_VIEW_NOT_FOUND", f"The table or view {name} cannot be found. Verify "
                               "the spelling and correctness of the schema and catalog.", "42P01")
        out.append(t)
        i += 1
    return out


_FUNC_RENAMES = {"now": "__now", "current_timestamp": "__now", "current_date": "__today",
                 "ifnull": "ifnull", "nvl": "ifnull", "mean": "avg", "dateadd": "date_add"}
_CAST_TYPES = {"timestamp": "to_timestamp", "timestamp_ntz": "to_timestamp", "date": "to_date"}
_SQLITE_CASTS = {"string": "TEXT", "varchar": "TEXT", "int": "INTEGER", "integer": "INTEGER",
                 "bigint": "INTEGER", "long": "INTEGER", "smallint": "INTEGER", "tinyint": "INTEGER",
                 "double": "REAL", "float": "REAL", "decimal": "REAL", "boolean": "INTEGER"}


def _literals_and_functions(toks):
    out = []
    i = 0
    while i < len(toks):
        t = toks[i]
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        prev = out[-1] if out else None
        after_dot = prev is not None and prev.is_(".")
        if t.kind == "id" and not after_dot:
            w = t.word
            if w in ("timestamp", "date") and nxt is not None and nxt.kind == "str":
                out += [Tok("id", _CAST_TYPES[w]), Tok("op", "("), nxt, Tok("op", ")")]
                i += 2
                continue
            if w in ("current_timestamp", "current_date") and not (nxt is not None and nxt.is_("(")):
                out += [Tok("id", _FUNC_RENAMES[w]), Tok("op", "("), Tok("op", ")")]
                i += 1
                continue
            if w == "cast" and nxt is not None and nxt.is_("("):
                end = _match_paren(toks, i + 1)
                inner = toks[i + 2:end]
                depth, as_at = 0, None
                for k, x in enumerate(inner):
                    depth += x.is_("(") - x.is_(")")
                    if depth == 0 and x.is_("as"):
                        as_at = k
                if as_at is None or as_at + 1 >= len(inner):
                    raise _syntax(")")
                expr = _literals_and_functions(inner[:as_at])
                tname = inner[as_at + 1].word
                if tname in _CAST_TYPES:
                    out += [Tok("id", _CAST_TYPES[tname]), Tok("op", "(")] + expr + [Tok("op", ")")]
                elif tname in _SQLITE_CASTS:
                    out += [Tok("id", "CAST"), Tok("op", "(")] + expr + [
                        Tok("id", "AS"), Tok("id", _SQLITE_CASTS[tname]), Tok("op", ")")]
                else:
                    raise SqlError("UNSUPPORTED_DATATYPE", f"Unsupported data type \"{tname.upper()}\".", "0A000")
                i = end + 1
                continue
            if nxt is not None and nxt.is_("(") and w in _FUNC_RENAMES:
                out.append(Tok("id", _FUNC_RENAMES[w]))
                i += 1
                continue
            if w == "rlike":
                out.append(Tok("id", "REGEXP"))
                i += 1
                continue
        out.append(t)
        i += 1
    return out


def _intervals(toks):
    """``<primary> [+|-] INTERVAL n UNIT`` -> ``__ts_add(<primary>, [-]n, 'UNIT')``."""
    out: list[Tok] = []
    i = 0
    while i < len(toks):
        t = toks[i]
        if t.is_("+", "-") and i + 1 < len(toks) and toks[i + 1].is_("interval"):
            amount, unit, j = _interval_at(toks, i + 1)
            if not out:
                raise _syntax(t.text)
            start = _primary_start(out)
            primary = out[start:]
            del out[start:]
            amount_toks = ([Tok("op", "-")] if t.is_("-") else []) + [
                Tok("param" if amount.startswith(":") else "num", amount)]
            out += [Tok("id", "__ts_add"), Tok("op", "(")] + primary + [
                Tok("op", ",")] + amount_toks + [Tok("op", ","), Tok("str", f"'{unit}'"), Tok("op", ")")]
            i = j
            continue
        if t.is_("interval"):
            raise SqlError("UNSUPPORTED_FEATURE.EMULATOR", "The local emulator supports INTERVAL only as "
                           "'<timestamp> - INTERVAL n UNIT' (or +).", "0A000")
        out.append(t)
        i += 1
    return out


def _interval_at(toks, i):
    """Parse ``INTERVAL 7 DAYS`` / ``INTERVAL '7' DAY`` / ``INTERVAL '7 days'`` at ``i``."""
    j = i + 1
    if j >= len(toks):
        raise _syntax("end of input")
    val = toks[j]
    if val.kind in ("num", "param"):
        amount = val.text
        if j + 1 >= len(toks) or toks[j + 1].kind != "id":
            raise _syntax(val.text)
        unit = _unit(toks[j + 1].text)
        return amount, unit, j + 2
    if val.kind == "str":
        body = val.text[1:-1].strip()
        m = re.fullmatch(r"(-?\d+(?:\.\d+)?)\s*([A-Za-z]+)?", body)
        if not m:
            raise SqlError("INVALID_INTERVAL_FORMAT", f"Error parsing interval '{body}'.", "22006")
        if m.group(2):
            return m.group(1), _unit(m.group(2)), j + 1
        if j + 1 >= len(toks) or toks[j + 1].kind != "id":
            raise _syntax(val.text)
        return m.group(1), _unit(toks[j + 1].text), j + 2
    raise _syntax(val.text)


def _primary_start(out: list[Tok]) -> int:
    """Start index of the primary expression ending ``out``: a literal, a (dotted) column, or a
    function call / parenthesised expression."""
    k = len(out) - 1
    if out[k].is_(")"):
        depth = 0
        while k >= 0:
            depth += out[k].is_(")") - out[k].is_("(")
            if depth == 0:
                break
            k -= 1
        if k > 0 and _is_ident(out[k - 1]):
            k -= 1
        return k
    while k >= 2 and out[k - 1].is_(".") and _is_ident(out[k - 2]):
        k -= 2
    return k


def _structs(toks):
    """``[alias.]struct_col.field`` -> ``json_extract([alias.]struct_col, '$.field')``."""
    out: list[Tok] = []
    i = 0
    while i < len(toks):
        t = toks[i]
        if (_is_ident(t) and t.word in STRUCT_FIELDS and i + 2 < len(toks) and toks[i + 1].is_(".")
                and _is_ident(toks[i + 2]) and not (i + 3 < len(toks) and toks[i + 3].is_("("))):
            base = [Tok("id", t.word)]
            if len(out) >= 2 and out[-1].is_(".") and _is_ident(out[-2]):
                base = [out[-2], out[-1]] + base
                del out[-2:]
            field = toks[i + 2].word
            out += [Tok("id", "json_extract"), Tok("op", "(")] + base + [
                Tok("op", ","), Tok("str", f"'$.{field}'"), Tok("op", ")")]
            i += 3
            continue
        out.append(t)
        i += 1
    return out


def _ilike(toks):
    """``a [NOT] ILIKE b`` -> ``lower(a) [NOT] LIKE lower(b)`` (LIKE itself is case-sensitive, as in Spark)."""
    out: list[Tok] = []
    i = 0
    while i < len(toks):
        t = toks[i]
        if t.word == "ilike":
            negate = bool(out) and out[-1].is_("not")
            if negate:
                out.pop()
            if not out or i + 1 >= len(toks):
                raise _syntax(t.text)
            start = _primary_start(out)
            left = out[start:]
            del out[start:]
            j = i + 1
            if toks[j].is_("("):
                end = _match_paren(toks, j)
            elif _is_ident(toks[j]) and j + 1 < len(toks) and toks[j + 1].is_("("):
                end = _match_paren(toks, j + 1)
            else:
                end = j
            right = toks[j:end + 1]
            out += [Tok("id", "lower"), Tok("op", "(")] + left + [Tok("op", ")")]
            out += ([Tok("id", "NOT")] if negate else []) + [Tok("id", "LIKE")]
            out += [Tok("id", "lower"), Tok("op", "(")] + right + [Tok("op", ")")]
            i = end + 1
            continue
        out.append(t)
        i += 1
    return out


def _split_top(toks, sep=","):
    items, cur, depth = [], [], 0
    for t in toks:
        depth += t.is_("(") - t.is_(")")
        if depth == 0 and t.is_(sep):
            items.append(cur)
            cur = []
        else:
            cur.append(t)
    items.append(cur)
    return items


def _select_lists(toks):
    """Name unaliased select items like Databricks does, expand ``GROUP BY ALL``, collect type hints."""
    hints: dict[str, str] = {}
    out = list(toks)
    i = 0
    while i < len(out):
        if not out[i].is_("select"):
            i += 1
            continue
        depth = 0
        start = i + 1
        if start < len(out) and out[start].is_("distinct", "all"):
            start += 1
        end = start
        while end < len(out):
            x = out[end]
            if x.is_("("):
                depth += 1
            elif x.is_(")"):
                if depth == 0:
                    break
                depth -= 1
            elif depth == 0 and x.is_("from", "where", "group", "having", "order", "limit", "union",
                                      "except", "intersect", "window"):
                break
            end += 1
        items = _split_top(out[start:end])
        new_items, agg_flags = [], []
        for item in items:
            item, name, hint, is_agg = _name_item(item)
            if name and hint:
                hints.setdefault(name, hint)
            new_items.append(item)
            agg_flags.append(is_agg)
        flat = []
        for n, item in enumerate(new_items):
            if n:
                flat.append(Tok("op", ","))
            flat += item
        out[start:end] = flat
        end = start + len(flat)
        # GROUP BY ALL at the same depth
        k, depth = end, 0
        while k < len(out):
            x = out[k]
            if x.is_("("):
                depth += 1
            elif x.is_(")"):
                if depth == 0:
                    break
                depth -= 1
            elif depth == 0 and x.is_("group") and k + 2 < len(out) and out[k + 1].is_("by") \
                    and out[k + 2].is_("all"):
                ords = [str(n + 1) for n, a in enumerate(agg_flags) if not a]
                if not ords:
                    del out[k:k + 3]
                else:
                    repl = []
                    for n, o in enumerate(ords):
                        if n:
                            repl.append(Tok("op", ","))
                        repl.append(Tok("num", o))
                    out[k + 2:k + 3] = repl
                break
            elif depth == 0 and x.is_("select", "union", "except", "intersect"):
                break
            k += 1
        i = start
    return out, hints


_RESERVED = {"end", "asc", "desc", "null", "true", "false", "is", "not", "and", "or", "in", "like", "between",
             "then", "else", "when", "case", "distinct", "as", "on", "from", "select", "regexp", "escape"}


def _item_alias(item):
    """(expression tokens, alias or None) of one select item."""
    if len(item) >= 3 and item[-2].is_("as") and _is_ident(item[-1]):
        return item[:-2], item[-1].word
    if len(item) >= 2 and _is_ident(item[-1]) and item[-1].word not in _RESERVED:
        before = item[-2]
        if before.is_(")") or before.kind in ("str", "num", "qid") or (
                before.kind == "id" and before.word not in _RESERVED):
            return item[:-1], item[-1].word
    return item, None


def _name_item(item):
    """Returns (tokens, output name, type hint, is aggregate)."""
    if not item:
        raise _syntax(",")
    expr, alias = _item_alias(item)
    is_agg = any(_is_ident(t) and t.word in AGGREGATES and k + 1 < len(expr) and expr[k + 1].is_("(")
                 for k, t in enumerate(expr))
    hint = _hint(expr)
    if alias:
        return expr + [Tok("id", "AS"), Tok("qid", f"`{alias}`")], alias, hint, is_agg
    if len(expr) == 1 and expr[0].is_("*") or (len(expr) == 3 and expr[-1].is_("*")):
        return expr, None, None, False
    bare = _bare_column(expr)
    if bare:
        return expr, bare, COLUMN_TYPES.get(bare), is_agg
    js = _json_field(expr)
    if js:
        return expr + [Tok("id", "AS"), Tok("qid", f"`{js[1]}`")], js[1], hint, is_agg
    name = _spark_name(expr)
    return expr + [Tok("id", "AS"), Tok("qid", "`" + name.replace("`", "``") + "`")], name, hint, is_agg


def _bare_column(expr):
    if len(expr) == 1 and _is_ident(expr[0]):
        return expr[0].word
    if len(expr) == 3 and _is_ident(expr[0]) and expr[1].is_(".") and _is_ident(expr[2]):
        return expr[2].word
    return None


def _json_field(expr):
    if expr and expr[0].word == "json_extract" and expr[-1].is_(")") and len(expr) >= 6 \
            and expr[-2].kind == "str" and expr[-2].text.startswith("'$."):
        struct = expr[-4].word
        field = expr[-2].text[3:-1]
        return struct, field
    return None


_REVERSE = {"__now": "current_timestamp", "__today": "current_date", "to_timestamp": "to_timestamp"}


def _spark_name(expr):
    text = _render(expr)
    text = re.sub(r"(?i)\bcount\s*\(\s*\*\s*\)", "count(1)", text)
    text = re.sub(r"\b([A-Za-z_][A-Za-z0-9_]*)\s*\(", lambda m: _REVERSE.get(m.group(1), m.group(1).lower()) + "(",
                  text)
    return text


def _hint(expr):
    if not expr:
        return None
    head = expr[0].word
    if len(expr) > 1 and expr[1].is_("("):
        inner = expr[2:-1] if expr[-1].is_(")") else []
        if head in ("count", "count_if"):
            return "BIGINT"
        if head in ("min", "max", "first", "last", "any_value"):
            return _hint(inner[1:] if inner and inner[0].is_("distinct") else inner)
        if head in ("to_date", "date_sub", "date_add", "__today", "date"):
            return "DATE"
        if head in ("__now", "to_timestamp", "date_trunc"):
            return "TIMESTAMP"
        if head == "__ts_add":
            args = _split_top(inner)
            return _hint(args[0]) or "TIMESTAMP"
        if head in ("collect_set", "collect_list"):
            sub = _hint(inner[1:] if inner and inner[0].is_("distinct") else inner) or "STRING"
            return f"ARRAY<{sub}>"
        if head == "datediff":
            return "INT"
        if head == "json_extract":
            js = _json_field(expr)
            if js and js[0] in STRUCT_FIELDS:
                return STRUCT_FIELDS[js[0]].get(js[1])
        if head in ("lower", "upper", "concat", "substr", "substring", "trim"):
            return "STRING"
        return None
    bare = _bare_column(expr)
    if bare:
        return COLUMN_TYPES.get(bare)
    return None


# --- the store ---------------------------------------------------------------------------------------------

TYPE_NAMES = {"STRING": "STRING", "INT": "INT", "BIGINT": "LONG", "DOUBLE": "DOUBLE", "TIMESTAMP": "TIMESTAMP",
              "DATE": "DATE", "BOOLEAN": "BOOLEAN"}


def type_name(type_text: str) -> str:
    if type_text.startswith("STRUCT"):
        return "STRUCT"
    if type_text.startswith("ARRAY"):
        return "ARRAY"
    return TYPE_NAMES.get(type_text, "STRING")


class SystemTables:
    """The SQLite database behind ``system.access.*`` (one per model generation)."""

    def __init__(self):
        self.db = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA case_sensitive_like = ON")
        for name, cols in TABLES.items():
            self.db.execute(f"CREATE TABLE __store_{name} ({', '.join(c for c, _ in cols)}, _region TEXT)")
        self._now = dt.datetime.now(dt.timezone.utc)
        f = self.db.create_function
        f("__now", 0, lambda: iso(self._now))
        f("__today", 0, lambda: self._now.date().isoformat())
        f("__ts_add", 3, _ts_add)
        f("date_sub", 2, lambda d, n: _date_add(d, -int(n)) if n is not None else None)
        f("date_add", 2, _date_add)
        f("to_date", 1, _to_date)
        f("to_date", 2, _to_date)
        f("to_timestamp", 1, _to_timestamp)
        f("to_timestamp", 2, _to_timestamp)
        f("date_trunc", 2, _date_trunc)
        f("datediff", 2, _datediff)
        f("regexp", 2, _regexp)
        f("concat", -1, lambda *a: None if any(x is None for x in a) else "".join(str(x) for x in a))
        self.db.create_aggregate("count_if", 1, _CountIf)
        self.db.create_aggregate("collect_set", 1, _CollectSet)
        self.db.create_aggregate("collect_list", 1, _CollectList)

    def insert(self, table: str, row: dict, region: str) -> None:
        cols = [c for c, _ in TABLES[table]]
        values = [json.dumps(row[c], separators=(",", ":")) if isinstance(row.get(c), dict) else row.get(c)
                  for c in cols]
        self.db.execute(f"INSERT INTO __store_{table} ({', '.join(cols)}, _region) VALUES "
                        f"({', '.join('?' * (len(cols) + 1))})", values + [region])

    def execute(self, statement: str, params: dict, region: str, catalog=None, schema=None,
                row_limit: int | None = None):
        """Run one statement; returns (columns [{name, type_text, type_name, position}], rows of
        strings/None, truncated). Raises SqlError for statements that fail on the warehouse."""
        tr = translate(statement, catalog, schema)
        missing = sorted(tr.params - set(params))
        if missing:
            raise SqlError("UNBOUND_SQL_PARAMETER", f"Found the unbound parameter: {missing[0]}. Please, fix "
                           "`args` and provide a mapping of the parameter to either a SQL literal or collection "
                           "constructor functions such as `map()`, `array()`, `struct()`.", "42P02")
        self._now = dt.datetime.now(dt.timezone.utc)
        for name, cols in TABLES.items():
            self.db.execute(f"DROP VIEW IF EXISTS temp.__sys_{name}")
            self.db.execute(f"CREATE TEMP VIEW __sys_{name} AS SELECT {', '.join(c for c, _ in cols)} "
                            f"FROM main.__store_{name} WHERE _region = {_quote(region)}")
        self.db.set_authorizer(_read_only)
        try:
            cur = self.db.execute(tr.sql, {k: v for k, v in params.items() if k in tr.params})
            rows = cur.fetchmany(row_limit + 1) if row_limit is not None else cur.fetchall()
            names = [d[0] for d in cur.description or ()]
        except SqlError:
            raise
        except sqlite3.Error as e:
            raise _map_sqlite_error(e, tr) from None
        finally:
            self.db.set_authorizer(None)
        truncated = row_limit is not None and len(rows) > row_limit
        rows = rows[:row_limit] if truncated else rows
        columns = []
        for pos, name in enumerate(names):
            t = tr.type_hints.get(name.lower()) or COLUMN_TYPES.get(name.lower()) or _infer(
                [r[pos] for r in rows])
            columns.append({"name": name, "type_text": t, "type_name": type_name(t), "position": pos})
        data = [[_cell(v, columns[k]["type_name"]) for k, v in enumerate(r)] for r in rows]
        return columns, data, truncated


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _read_only(action, arg1, arg2, dbname, source):
    if action in (sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION,
                  getattr(sqlite3, "SQLITE_RECURSIVE", 33)):
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


def _infer(values):
    for v in values:
        if v is None:
            continue
        if isinstance(v, bool):
            return "BOOLEAN"
        if isinstance(v, int):
            return "BIGINT"
        if isinstance(v, float):
            return "DOUBLE"
        return "STRING"
    return "STRING"


def _cell(v, tname):
    if v is None:
        return None
    if tname == "BOOLEAN":
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer() and tname in ("LONG", "INT"):
        return str(int(v))
    return str(v)


def _map_sqlite_error(e: sqlite3.Error, tr: Translated) -> SqlError:
    msg = str(e)
    m = re.search(r'near "(.*?)": syntax error', msg)
    if m:
        return _syntax(m.group(1))
    if "incomplete input" in msg or msg == "syntax error":
        return _syntax("end of input")
    m = re.search(r"no such table: (\S+)", msg)
    if m:
        name = m.group(1).split(".")[-1]
        return SqlError("TABLE_OR_VIEW_NOT_FOUND", f"The table or view `{name}` cannot be found. Verify the "
                        "spelling and correctness of the schema and catalog.", "42P01")
    m = re.search(r"no such column: (\S+)", msg)
    if m:
        return SqlError("UNRESOLVED_COLUMN.WITH_SUGGESTION", f"A column, variable, or function parameter with "
                        f"name `{m.group(1).split('.')[-1]}` cannot be resolved.", "42703")
    m = re.search(r"no such function: (\S+)", msg)
    if m:
        return SqlError("UNRESOLVED_ROUTINE", f"Cannot resolve routine `{m.group(1)}` on search path "
                        "[`system`.`builtin`, `system`.`session`].", "42883")
    m = re.search(r"wrong number of arguments to function (\S+)\(\)", msg)
    if m:
        return SqlError("WRONG_NUM_ARGS.WITHOUT_SUGGESTION", f"The `{m.group(1)}` requires a different number "
                        "of parameters.", "42605")
    if "not authorized" in msg:
        return SqlError("UNSUPPORTED_FEATURE.EMULATOR", "The local emulator only executes read-only queries.",
                        "0A000")
    if "misuse of aggregate" in msg or "GROUP BY" in msg:
        return SqlError("MISSING_AGGREGATION", f"The query is not a valid aggregation ({msg}).", "42803")
    return SqlError("INTERNAL_ERROR.EMULATOR", f"SQLite: {msg}", "XX000", error_code="BAD_REQUEST")
