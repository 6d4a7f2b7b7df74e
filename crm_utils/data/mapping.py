"""The mapping file's schema: what a ``mapping.yml`` may hold, checked before any data is read.

A mapping is input from outside, so it is read defensively:

* YAML anchors and aliases are refused: a kilobyte of nested aliases expands to gigabytes
  ("billion laughs"), and a mapping has no need to repeat itself;
* its shape is a pydantic schema: every unknown key and every value of the wrong type is named
  with its place in the file (``tables.orders.file: must be text, got 123``);
* its patterns are compiled on RE2, a linear-time engine, and run on it only (Arrow's RE2 or
  google-re2), so no pattern can hang a run by catastrophic backtracking; look-arounds and
  back-references, which RE2 cannot run, are refused when the mapping is loaded.

The column names a mapping uses are checked against the contract by ``io.TableMapping.validate``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

import re2
import yaml
from pydantic import (BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, ValidationError,
                      model_validator)
from pydantic_core import PydanticCustomError

from crm_utils.data.schema import CONTRACTS, ContractError

#: A mapping file is a few kilobytes; anything far larger is not one.
MAX_MAPPING_BYTES = 1 << 20
#: Errors of one mapping named in one message at most; the rest are counted.
MAX_ERRORS_SHOWN = 5
#: RE2 options for mapping patterns: compile errors are reported by us, not logged to stderr.
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False


def short(value: Any, limit: int = 60) -> str:
    """``repr(value)``, cut to ``limit`` characters: a message must stay one readable line."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ------------------------------------------------------------------------------------------
# Reading YAML without anchors and aliases
# ------------------------------------------------------------------------------------------


class _AliasRefused(yaml.MarkedYAMLError):
    """An anchor (&name) or alias (*name) in a mapping file."""


class NoAliasLoader(yaml.SafeLoader):
    """PyYAML's safe loader refusing anchors and aliases before anything is expanded."""

    def compose_node(self, parent, index):  # noqa: ANN001 - PyYAML's signature
        event = self.peek_event()
        if getattr(event, "anchor", None) is not None:
            raise _AliasRefused(problem="YAML anchors and aliases (&name, *name) are not allowed in a mapping "
                                        "file; write each value out", problem_mark=event.start_mark)
        return super().compose_node(parent, index)


def read_yaml(path: Path) -> Any:
    """The YAML document of a mapping file; a ContractError naming the file when it is not one."""
    size = path.stat().st_size
    if size > MAX_MAPPING_BYTES:
        raise ContractError(path.name, f"is {size:,} bytes; a mapping file is at most {MAX_MAPPING_BYTES:,}")
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=NoAliasLoader)  # noqa: S506 - safe subclass
    except _AliasRefused as exc:
        raise ContractError(path.name, f"line {exc.problem_mark.line + 1}: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise ContractError(path.name, f"is not valid YAML: {' '.join(str(exc).split())}") from None
    except UnicodeDecodeError as exc:
        raise ContractError(path.name, f"is not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    except RecursionError:
        raise ContractError(path.name, "nests too deeply to be a mapping file") from None


# ------------------------------------------------------------------------------------------
# Patterns
# ------------------------------------------------------------------------------------------


def re2_compile(pattern: str):
    """``pattern`` compiled by google-re2; a ValueError with RE2's reason when it cannot run there."""
    try:
        return re2.compile(pattern, _RE2_OPTIONS)
    except re2.error as exc:
        reason = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise ValueError(f"{short(pattern)} is not a valid regular expression for RE2, the linear-time engine "
                         f"mapping patterns run on: {reason} (look-arounds and back-references are not "
                         f"supported)") from None


def compile_pattern(pattern: str, source: str, where: str) -> None:
    """Refuse a pattern RE2 cannot compile (syntax errors, look-arounds, back-references), naming
    the mapping key ``where``: mapping patterns only ever run on RE2, in time linear in the text."""
    try:
        re2_compile(pattern)
    except ValueError as exc:
        raise ContractError(source, f"{where}: {exc}") from None


# ------------------------------------------------------------------------------------------
# The schema
# ------------------------------------------------------------------------------------------

_QUOTE_HINT = "put it in quotes (YAML reads unquoted yes/no/on/off as true/false)"


def _no_bool(value: Any) -> None:
    """YAML reads unquoted yes/no as booleans and a key without a value as null: neither is text."""
    if isinstance(value, bool):
        raise PydanticCustomError("plain", "{value} is not a plain value; " + _QUOTE_HINT, {"value": short(value)})
    if value is None:
        raise PydanticCustomError("empty", "is empty; give a value", {})


def _text(value: Any) -> str:
    """Text only: a file, table or format name."""
    _no_bool(value)
    if not isinstance(value, str):
        raise PydanticCustomError("text", "must be text, got {got}", {"got": short(value)})
    return value


def _value(value: Any) -> str:
    """A plain value (text or a number, as a code or a header written as a number), as text."""
    _no_bool(value)
    if not isinstance(value, (str, int, float)):
        raise PydanticCustomError("value", "must be a plain value (text or a number), got {got}", {"got": short(value)})
    return str(value)


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PydanticCustomError("number", "needs a number, got {got}", {"got": short(value)})
    return value


def _sheet(value: Any) -> str | int:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise PydanticCustomError("sheet", "is a sheet name or number, got {got}", {"got": short(value)})
    return value


def _names(value: Any) -> str | list[str]:
    """One text or a non-empty list of texts (date formats tried in order, order_by columns)."""
    if isinstance(value, list) and value:
        return [_text(v) for v in value]
    if isinstance(value, list):
        raise PydanticCustomError("names", "must not be an empty list", {})
    return _text(value)


def _positive_whole(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise PydanticCustomError("whole", "needs a whole number of at least 1, got {got}", {"got": short(value)})
    return value


Text = Annotated[str, BeforeValidator(_text)]
Value = Annotated[str, BeforeValidator(_value)]
Number = Annotated[float, BeforeValidator(_number)]
Names = Annotated[str | list[str], BeforeValidator(_names)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


#: The keys of each kind of ``derive`` entry: patterns on one column, columns joined, a column copied.
DERIVE_FORMS = {"from": ("from", "rules", "default"), "join": ("join", "sep"), "copy": ("copy",)}
_DERIVE_HELP = ("a derived column is one of {from: C, rules: {value: pattern}, default: V} (the first pattern "
                "found in C names the value), {join: [A, B], sep: \"|\"} (the columns' values joined) or "
                "{copy: C} (C's value as is)")


def _join_columns(value: Any) -> list[str]:
    """The file columns a ``join`` puts together: at least one, none twice."""
    if not isinstance(value, list):
        raise PydanticCustomError("join", "is a list of the file's columns ([A, B]), got {got}", {"got": short(value)})
    if not value:
        raise PydanticCustomError("join", "is an empty list; name the file's columns to join, e.g. "
                                          "[Member_number, Date]", {})
    names = [_value(v) for v in value]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise PydanticCustomError("join", "names {name} twice", {"name": short(twice[0])})
    return names


def _separator(value: Any) -> str:
    """The text between joined values: not empty, or '12'+'3' and '1'+'23' would be one value."""
    text = _text(value)
    if not text:
        raise PydanticCustomError("sep", "is empty; joined values need a separator none of them holds, e.g. \"|\"", {})
    return text


class DeriveSpec(_Strict):
    """``derive.<column>``: a contract column computed from the file's columns, in one of three ways.

    * ``{from: C, rules: {value: pattern}, default: V}``: the first pattern found in C names the value;
    * ``{join: [A, B], sep: "|"}``: the values of A and B joined as text (``io.join_values``; missing
      when any part is missing), e.g. a basket id from a member and a day;
    * ``{copy: C}``: C's value as is, so one file column can feed a second contract column.

    ``copy`` is a key of its own rather than ``from`` without ``rules``: a ``from`` that lost its
    rules is an error, not a copy of the column's text, and ``from`` with ``default`` already reads
    as "every value not found by a rule" (with no rules: every value).
    """

    from_: Value | None = Field(None, alias="from")
    rules: dict[Value, Value] | None = None
    default: Value | None = None
    join: Annotated[list[str], BeforeValidator(_join_columns)] | None = None
    sep: Annotated[str, BeforeValidator(_separator)] | None = None
    copy_: Value | None = Field(None, alias="copy")

    @model_validator(mode="before")
    @classmethod
    def _shape(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not data:
            raise PydanticCustomError("derive", "got {got}; " + _DERIVE_HELP, {"got": short(data)})
        known = [k for keys in DERIVE_FORMS.values() for k in keys]
        unknown = sorted(map(str, set(data) - set(known)))
        if unknown:
            raise PydanticCustomError("derive", "unknown keys {keys}; " + _DERIVE_HELP, {"keys": unknown})
        forms = [f for f, keys in DERIVE_FORMS.items() if set(keys) & set(data)]
        if len(forms) > 1:
            mixed = [k for f in forms for k in DERIVE_FORMS[f] if k in data]
            raise PydanticCustomError("derive", "has {keys}, which belong to different kinds of derived column; "
                                                + _DERIVE_HELP, {"keys": " and ".join(map(repr, mixed))})
        if forms == ["from"] and (not data.get("from") or not isinstance(data.get("rules"), dict)
                                  or not data["rules"]):
            raise PydanticCustomError("derive", "needs 'from' (a column of the file), 'rules' ({value: pattern}) "
                                                "and optionally 'default' (for a column as is, use {copy: C}), "
                                                "got {got}", {"got": short(data)})
        empty = [k for k in ("join", "sep", "copy") if k in data and data[k] is None]
        if empty:
            raise PydanticCustomError("derive", "'{key}' is empty; give a value", {"key": empty[0]})
        if forms == ["join"] and "join" not in data:
            raise PydanticCustomError("derive", "'sep' goes with 'join', the columns it separates; got {got}",
                                      {"got": short(data)})
        return data


class RuleSpec(_Strict):
    """One row rule: every pattern of ``where`` found, then ``quarantine`` the row or ``set`` values."""

    where: dict[Value, Value]
    quarantine: Value | None = None
    set: dict[Value, Value] | None = None

    @model_validator(mode="before")
    @classmethod
    def _shape(cls, data: Any) -> Any:
        if not isinstance(data, dict) or set(data) - {"where", "quarantine", "set"} \
                or not isinstance(data.get("where"), dict) or not data["where"] \
                or (("quarantine" in data) == ("set" in data)):
            raise PydanticCustomError("rule", "needs 'where' ({column: pattern}) and exactly one of 'quarantine' "
                                              "(a reason) or 'set' ({column: value}), got {got}", {"got": short(data)})
        return data


SCALE_RE = r"\s*(-?\d+)\s*-\s*(-?\d+)\s*"


def _scale(value: Any) -> str:
    """An answer scale written low-high ("1-5", "0-10"), low below high."""
    _no_bool(value)
    m = re.fullmatch(SCALE_RE, str(value)) if isinstance(value, str) else None
    if not m or int(m.group(1)) >= int(m.group(2)):
        raise PydanticCustomError("scale", "is an answer scale written low-high, e.g. \"1-5\" or "
                                           "\"0-10\", got {got}", {"got": short(value)})
    return value.strip()


def _items(value: Any) -> list[str] | dict[str, str]:
    """The survey's item columns: a list of the file's names, or {file name: q_name}."""
    if isinstance(value, dict) and value:
        return {_value(k): _text(v) for k, v in value.items()}
    if isinstance(value, list) and value:
        return [_value(v) for v in value]
    raise PydanticCustomError("items", "is a non-empty list of the file's item columns, or a mapping "
                                       "{file column: q_name}, got {got}", {"got": short(value)})


class SurveySpec(_Strict):
    """``survey``: what a surveys export's columns mean (data/README.md, "Survey items").

    ``items`` are the answer columns under any names; each is read as the contract item
    ``q_<name>`` (or the ``q_`` name given). ``not_applicable`` answer codes (0 = "does not
    apply") are read as missing, ``scale`` is checked on every answer, and ``overall`` names the
    column of overall satisfaction that key drivers explain, with ``overall_scores`` turning its
    labels into numbers when it holds text.
    """

    items: Annotated[list[str] | dict[str, str], BeforeValidator(_items)] | None = None
    scale: Annotated[str, BeforeValidator(_scale)] | None = None
    not_applicable: list[Number] = []
    overall: Value | None = None
    overall_scores: dict[Value, Number] = {}

    @model_validator(mode="after")
    def _scores_need_overall(self) -> "SurveySpec":
        if self.overall_scores and not self.overall:
            raise PydanticCustomError("overall", "'overall_scores' needs 'overall', the column whose labels "
                                                 "they score", {})
        return self


class TableSpec(_Strict):
    """One table's entry of a mapping file (data/README.md, "Mapping a foreign export")."""

    file: Text | None = None
    columns: dict[Value, Text] = {}
    date_formats: dict[Text, Names] = {}
    values: dict[Text, dict[Value, Value]] = {}
    constants: dict[Text, Value] = {}
    encoding: Text | None = None
    delimiter: Text | None = None
    sheet: Annotated[str | int, BeforeValidator(_sheet)] | None = None
    multiply: dict[Text, Number] = {}
    derive: dict[Text, DeriveSpec] = {}
    rules: list[RuleSpec] = []
    exact_duplicates: Literal["merge", "keep"] = "merge"
    max_lines_per_record: Annotated[int, BeforeValidator(_positive_whole)] | None = None
    imported_from: Text | None = None
    table: Text | None = None
    query: Text | None = None
    order_by: Names | None = None
    #: surveys only: item columns under any names, their scale and the overall item
    survey: SurveySpec | None = None

    @model_validator(mode="after")
    def _one_relation(self) -> "TableSpec":
        if self.table and self.query:
            raise PydanticCustomError("relation", "has both 'table' and 'query'; a database table is read "
                                                  "from one of them", {})
        return self

    def fields(self) -> dict[str, Any]:
        """The entry as plain values, the way ``io.TableMapping`` and cleaning hold them."""
        return self.model_dump(by_alias=True, exclude_none=True, exclude_unset=True)


#: The keys a table entry may have, for messages.
TABLE_KEYS = [f.alias or name for name, f in TableSpec.model_fields.items()]
#: The keys of a surveys entry's ``survey`` block, for messages.
SURVEY_KEYS = list(SurveySpec.model_fields)


def table_fields(spec: Any, table: str, source: str) -> dict[str, Any]:
    """The checked fields of the entry for ``table`` (a ContractError naming every mistake's place)."""
    try:
        return TableSpec.model_validate({} if spec is None else spec).fields()
    except ValidationError as exc:
        raise ContractError(source, describe(exc, ("tables", table))) from None


#: The keys a mapping document may have at its top: the tables, the currency of its amounts, the
#: public holidays and the retail events that move its demand.
DOCUMENT_KEYS = ("tables", "currency", "holidays", "retail_events")


def currency_code(value: Any, source: str, where: str = "currency") -> str:
    """An ISO 4217 currency code ('GBP'; 'gbp' is read as 'GBP'), or a ContractError naming the
    file and the value: a wrong or misspelt currency would label every amount of the report.
    The list of codes is CLDR's, through Babel (installed with JupyterLab)."""
    from babel.numbers import list_currencies

    if not isinstance(value, str) or value.strip().upper() not in list_currencies():
        raise ContractError(source, f"{where}: {short(value, 40)} is not an ISO 4217 currency code; write the "
                                    f"three letters of the amounts' currency, e.g. EUR, GBP, USD, BRL")
    return value.strip().upper()


def document_currency(doc: Any, source: str) -> str | None:
    """The currency a mapping document declares (``currency: GBP`` at its top), None when it
    declares none: then the report shows amounts without a currency rather than a guessed one."""
    if not isinstance(doc, dict) or doc.get("currency") is None:
        return None
    return currency_code(doc["currency"], source)


def declared_currency(path: str | Path) -> str | None:
    """The currency the mapping file at ``path`` declares (None: none, or no such file)."""
    p = Path(path)
    return document_currency(read_yaml(p), p.name) if p.is_file() else None


class HolidaysSpec(_Strict):
    """``holidays``: which public holidays apply (see crm_utils.demand.series.HolidayCalendar):
    ``{country: GB}``, ``{country: BR, subdivisions: region}`` (the region column holds ISO 3166-2
    codes of BR) or ``{regions_are: countries}``."""

    country: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2}$")] | None = None  # ISO 3166-1 alpha-2
    subdivisions: Literal["region"] | None = None
    regions_are: Literal["countries"] | None = None

    @model_validator(mode="after")
    def _known_calendar(self) -> "HolidaysSpec":
        """A country the holidays package has a calendar for, and one of the three forms: checked
        when the mapping is read, so a run stops before its first notebook, not in notebook 08."""
        import holidays as holidays_lib

        if self.country and self.country.upper() not in holidays_lib.list_supported_countries():
            raise PydanticCustomError("country", "{got} is not a country the holidays package has a calendar for "
                                                 "(ISO 3166-1 alpha-2, e.g. GB, US, DE, BR, CN)",
                                      {"got": short(self.country)})
        if self.regions_are and self.country:
            raise PydanticCustomError("holidays", "give either country (with subdivisions) or regions_are: "
                                                  "countries, not both", {})
        if self.subdivisions and not self.country:
            raise PydanticCustomError("holidays", "subdivisions need the country they belong to, e.g. "
                                                  "country: BR with subdivisions: region", {})
        if not (self.country or self.regions_are):
            raise PydanticCustomError("holidays", "declare a country (country: GB) or that regions are "
                                                  "countries (regions_are: countries)", {})
        return self


def document_holidays(doc: Any, source: str) -> dict[str, str] | None:
    """The holiday calendar a mapping document declares (``holidays: {country: GB}``), checked; None
    when it declares none: then no public-holiday regressors, never a calendar guessed from a code."""
    if not isinstance(doc, dict) or doc.get("holidays") is None:
        return None
    try:
        return HolidaysSpec.model_validate(doc["holidays"]).model_dump(exclude_none=True)
    except ValidationError as exc:
        raise ContractError(source, describe(exc, ("holidays",))) from None


def declared_holidays(path: str | Path) -> dict[str, str] | None:
    """The holiday calendar the mapping file at ``path`` declares (None: none, or no such file)."""
    p = Path(path)
    return document_holidays(read_yaml(p), p.name) if p.is_file() else None


def retail_event_names(value: Any, source: str) -> list[str]:
    """``retail_events``: a list of names of known events (crm_utils.demand.series.KNOWN_RETAIL_EVENTS),
    checked; a ContractError names an unknown one and lists the known ones."""
    from crm_utils.demand.series import KNOWN_RETAIL_EVENTS

    known = ", ".join(KNOWN_RETAIL_EVENTS)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ContractError(source, f"retail_events: must be a list of event names ([singles_day, mid_year_618], "
                                    f"[] for none), got {short(value, 60)}; known events are {known}")
    unknown = [v for v in value if v not in KNOWN_RETAIL_EVENTS]
    if unknown:
        raise ContractError(source, f"retail_events: unknown event(s) {', '.join(short(v, 40) for v in unknown)}; "
                                    f"known events are {known}")
    return list(dict.fromkeys(value))


def document_retail_events(doc: Any, source: str) -> list[str] | None:
    """The retail events a mapping document declares (``retail_events: [spring_festival, singles_day]``),
    checked; ``[]`` declares none; None when the key is absent: then the default list applies
    (crm_utils.demand.series.DEFAULT_RETAIL_EVENTS)."""
    if not isinstance(doc, dict) or "retail_events" not in doc:
        return None
    return retail_event_names([] if doc["retail_events"] is None else doc["retail_events"], source)


def declared_retail_events(path: str | Path) -> list[str] | None:
    """The retail events the mapping file at ``path`` declares (None: no key, or no such file)."""
    p = Path(path)
    return document_retail_events(read_yaml(p), p.name) if p.is_file() else None


def data_retail_events(retail_events: list[str] | str | None, data_dir: str | Path = "") -> list[str]:
    """A notebook's ``retail_events`` parameter resolved like :func:`data_holidays`: None reads the
    data folder's declaration, and without one gives the default list; a list is checked and used
    (from the command line, ``-p retail_events=singles_day,mid_year_618`` arrives as a string)."""
    from crm_utils.config import resolve_data_dir
    from crm_utils.demand.series import DEFAULT_RETAIL_EVENTS

    if isinstance(retail_events, str):
        text = retail_events.strip()
        retail_events = yaml.safe_load(text) if text.startswith("[") else [n.strip() for n in text.split(",") if n.strip()]
    if retail_events is None:
        declared = declared_retail_events(resolve_data_dir(data_dir) / "mapping.yml")
        return list(DEFAULT_RETAIL_EVENTS) if declared is None else declared
    return retail_event_names(list(retail_events), "the retail_events parameter")


def data_currency(currency: str | None, data_dir: str | Path = "") -> str | None:
    """A notebook's ``currency`` parameter resolved: None (a notebook opened in JupyterLab) takes
    what the data folder's ``mapping.yml`` declares (``data_dir`` empty: the default folder, as
    notebook 01 resolves it); ``crm-report run`` passes the data's own, or "" when they declare
    none, which means no currency label."""
    from crm_utils.config import resolve_data_dir

    if currency is None:
        return declared_currency(resolve_data_dir(data_dir) / "mapping.yml")
    return currency or None


def data_holidays(holidays: dict | None, data_dir: str | Path = "") -> dict[str, str] | None:
    """A notebook's ``holidays`` parameter resolved like :func:`data_currency`: None reads the data
    folder's declaration; the runner passes the data's own, or {} when they declare none."""
    from crm_utils.config import resolve_data_dir

    if holidays is None:
        return declared_holidays(resolve_data_dir(data_dir) / "mapping.yml")
    return holidays or None


def check_document(doc: Any, source: str) -> dict[str, Any]:
    """The ``tables`` of a mapping document, checked for shape and table names (and its
    ``currency``, when it declares one, for being an ISO 4217 code)."""
    if doc is None:
        return {}
    if not isinstance(doc, dict) or set(doc) - set(DOCUMENT_KEYS):
        extra = f" (unknown keys {sorted(map(str, set(doc) - set(DOCUMENT_KEYS)))})" if isinstance(doc, dict) else ""
        raise ContractError(source, f"must hold 'tables', with an entry per contract table, and optionally "
                                    f"'currency', 'holidays' and 'retail_events'{extra}")
    document_currency(doc, source)
    document_holidays(doc, source)
    document_retail_events(doc, source)
    tables = doc.get("tables") or {}
    if not isinstance(tables, dict):
        raise ContractError(source, f"tables: must map table names to their entries ({{orders: {{...}}, ...}}), "
                                    f"got a {type(tables).__name__}: {short(tables)}")
    for name in tables:
        if name not in CONTRACTS:
            raise ContractError(source, f"names an unknown table {short(name, 40)}; "
                                        f"the contract has {', '.join(CONTRACTS)}")
    return tables


# ------------------------------------------------------------------------------------------
# Pydantic's errors as one line
# ------------------------------------------------------------------------------------------

_PLAIN = {
    "dict_type": "must map names to values ({{name: value, ...}}), got {got}",
    "list_type": "must be a list, got {got}",
    "model_type": "must be a mapping of keys ({{key: value, ...}}), got {got}",
    "model_attributes_type": "must be a mapping of keys ({{key: value, ...}}), got {got}",
    "literal_error": "is {expected}, got {got}",
    "missing": "is missing",
}


def _place(loc: tuple) -> str:
    """``tables.orders.rules[1].where``: list positions counted from 1, as a reader counts them."""
    out = ""
    for part in loc:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part + 1}]"
        elif part == "[key]":
            out += " (a name)"
        else:
            out += ("." if out else "") + str(part)
    return out


def describe(exc: ValidationError, prefix: tuple = ()) -> str:
    """Every error of a validation as ``place: what is wrong``, unknown keys grouped per place."""
    unknown: dict[tuple, list[str]] = {}
    lines = []
    for err in exc.errors():
        loc = prefix + tuple(err["loc"])
        if err["type"] == "extra_forbidden":
            unknown.setdefault(loc[:-1], []).append(str(loc[-1]))
            continue
        template = _PLAIN.get(err["type"])
        ctx = err.get("ctx") or {}
        text = (template.format(got=short(err.get("input")), expected=ctx.get("expected", "")) if template
                else err["msg"])
        lines.append(f"{_place(loc)}: {text}")
    for loc, keys in unknown.items():  # a table entry or its survey block: the models without a before-validator
        known = (SURVEY_KEYS if loc and loc[-1] == "survey" else
                 list(HolidaysSpec.model_fields) if loc == ("holidays",) else TABLE_KEYS)
        lines.insert(0, f"{_place(loc)}: unknown keys {sorted(keys)}; known keys are {known}")
    more = f"; and {len(lines) - MAX_ERRORS_SHOWN} more" if len(lines) > MAX_ERRORS_SHOWN else ""
    return "; ".join(lines[:MAX_ERRORS_SHOWN]) + more
