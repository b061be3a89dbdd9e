"""Reading YAML/JSON documents and text files with errors that point at a line and a field.

Every read of an input file (a journal, a plan, an issues file, run facts, a key) goes through
:func:`read_text` or :func:`text_lines`, the one place that turns a missing file, a directory, a
permission problem or bytes that are not UTF-8 into a one-line :class:`DmctInputError`.

Loading is fast (libyaml when present, ``json`` for ``.json``); only when validation fails do we compose
the document a second time to find the line of the offending field, so good files pay nothing for
good error messages.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

from harness.errors import DmctInputError

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

M = TypeVar("M", bound=BaseModel)


def _os_error(path: Path, exc: OSError) -> DmctInputError:
    if isinstance(exc, FileNotFoundError):
        return DmctInputError(str(path), "file not found")
    if isinstance(exc, IsADirectoryError):
        return DmctInputError(str(path), "is a directory, not a file")
    return DmctInputError(str(path), f"cannot read: {exc.strerror or exc}")


def read_text(path: Path) -> str:
    """The whole of a UTF-8 text file, or a one-line :class:`DmctInputError` naming it."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise _os_error(path, exc) from None
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise DmctInputError(str(path), "not UTF-8 text", line=line) from None


def read_bytes(path: Path) -> bytes:
    """The bytes of a file (a key, a bundle), or a one-line :class:`DmctInputError` naming it."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise _os_error(path, exc) from None


def text_lines(path: Path) -> Iterator[tuple[int, str]]:
    """The non-blank lines of a UTF-8 text file (a results journal) with their 1-based numbers,
    streamed; a file that cannot be opened or a line that is not UTF-8 is one line naming file:line."""
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise _os_error(path, exc) from None
    number = 0
    with handle:
        try:
            for number, text in enumerate(handle, start=1):
                if text and not text.isspace():
                    yield number, text
        except UnicodeDecodeError:
            raise DmctInputError(str(path), "not UTF-8 text", line=number + 1) from None
        except OSError as exc:
            raise _os_error(path, exc) from None


def read_document(path: Path) -> Any:
    """Parse a YAML or JSON file into plain Python data, or raise a one-line :class:`DmctInputError`."""
    text = read_text(path)
    if path.suffix == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise DmctInputError(str(path), f"invalid JSON: {exc.msg}", line=exc.lineno) from None
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise DmctInputError(str(path), f"invalid YAML: {exc.problem}", line=line) from None
    except yaml.YAMLError as exc:
        raise DmctInputError(str(path), f"invalid YAML: {exc}") from None


def read_json_object(path: Path) -> dict[str, Any] | None:
    """A JSON object file a run writes (``run.json``, ``verdict.json``): ``None`` when it is absent,
    a one-line :class:`DmctInputError` naming the file (and line) when it is broken or not an object."""
    if not path.exists():
        return None
    try:
        data = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise DmctInputError(str(path), f"broken JSON: {exc.msg}", line=exc.lineno) from None
    if not isinstance(data, dict):
        raise DmctInputError(str(path), "must be a JSON object")
    return data


def field_path(loc: Sequence[int | str]) -> str:
    """Render a pydantic error location as ``rigs[0].devices[1].role``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(document)"


def line_of(path: Path, loc: Sequence[int | str]) -> int | None:
    """Best-effort 1-based line of the node at ``loc`` (or its nearest existing parent) in ``path``."""
    try:
        node = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == str(part):
                    child = value
                    line = key.start_mark.line + 1
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            child = node.value[part]
            line = child.start_mark.line + 1
        if child is None:
            break
        node = child
    return line


def _message(err: dict[str, Any]) -> str:
    msg = str(err.get("msg", "invalid value"))
    if err.get("type") == "extra_forbidden":
        return "unknown field"
    if err.get("type") == "missing":
        return "required field is missing"
    return msg.removeprefix("Value error, ")


def validate(model: type[M] | TypeAdapter[Any], data: Any, path: Path) -> Any:
    """Validate ``data`` read from ``path`` into ``model``; the first error becomes one line."""
    try:
        if isinstance(model, TypeAdapter):
            return model.validate_python(data)
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
        raise DmctInputError(
            str(path), _message(dict(err)), field=field_path(loc), line=line_of(path, loc)
        ) from None


def load_model(model: type[M], path: Path) -> M:
    """Read and validate a YAML/JSON document in one step."""
    result: M = validate(model, read_document(path), path)
    return result


def fail_at(path: Path, loc: Sequence[int | str], message: str) -> DmctInputError:
    """An error for a rule that spans records (a duplicate id), pointing at the record's field."""
    return DmctInputError(str(path), message, field=field_path(loc), line=line_of(path, loc))


#: Dates dmct accepts on its command line: a testing programme's, with room for deadlines after them
#: (60 Working Days past 2199 still fits in :class:`datetime.date`).
DATE_RANGE = (date(2000, 1, 1), date(2199, 12, 31))


def checked_date(text: str, option: str) -> date:
    """A ``YYYY-MM-DD`` option within :data:`DATE_RANGE`, or one line naming the option."""
    try:
        value = date.fromisoformat(text)
    except ValueError:
        raise DmctInputError(option, f"not a date (YYYY-MM-DD): {text!r}") from None
    low, high = DATE_RANGE
    if not low <= value <= high:
        raise DmctInputError(option, f"{text}: out of range ({low} to {high})")
    return value
