"""What every results schema shares: a strict frozen base model whose dump is the JSON it was validated from,
JSON numbers kept as written (an int stays an int), and one-line errors naming the file and the field."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict, PlainValidator, ValidationError, WithJsonSchema

from mmdlm.errors import MmdlmError


def _real(value: Any) -> float | int:
    """A finite JSON number as written: int or float, never bool, str or NaN."""
    if type(value) not in (int, float):
        raise ValueError(f"a number is needed, not {type(value).__name__}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("a finite number is needed (undefined values are null)")
    return value


#: a finite JSON number, kept as written (1 stays 1, 1.0 stays 1.0: a dump is byte-identical to its input)
Real = Annotated[float, PlainValidator(_real), WithJsonSchema({"type": "number"})]


class ResultModel(BaseModel):
    """Base of every results schema: unknown keys are errors, values are not coerced, instances are frozen.

    Optional keys are left out of `dump` when the input had none, so `dump(validate(d)) == d` for a file
    written by the stage (key order is the order the fields are declared in, which is the order written)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, protected_namespaces=())
    #: what the errors call a file of this schema
    file_kind: ClassVar[str] = "results"

    def dump(self) -> dict[str, Any]:
        """The plain JSON-ready dict of this value, as it is written to disk."""
        return self.model_dump(mode="python", exclude_unset=True)


M = TypeVar("M", bound=BaseModel)


def json_safe(obj: Any) -> Any:
    """Plain JSON values: NaN/inf -> None, numpy scalars -> int/float, tuples -> lists, keys -> str."""
    if isinstance(obj, BaseModel):
        return obj.model_dump(mode="python", exclude_unset=True)
    if isinstance(obj, Mapping):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, (float, np.floating)):
        return float(obj) if np.isfinite(obj) else None
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def field_path(loc: tuple[str | int, ...]) -> str:
    """A validation error's location as a dotted field (list indices as [i]; union tags left out)."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not part.startswith("<"):
            out += f".{part}" if out else part
    return out or "(top level)"


def validate(model: type[M], data: Any, file: str | Path | None = None) -> M:
    """`data` as a `model`, or one MmdlmError naming the file, the first bad field and how many there are."""
    if isinstance(data, model):
        return data
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        first = errors[0]
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        what = getattr(model, "file_kind", model.__name__)
        msg = first["msg"].removeprefix("Value error, ")
        raise MmdlmError(f"not a valid {what} file: {msg}{more}", file=file,
                         field=field_path(first["loc"])) from None
