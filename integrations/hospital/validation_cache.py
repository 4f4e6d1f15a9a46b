"""Once-per-process caches for fhir_core's per-call overhead: the same validation, less work.

fhir_core re-derives, for every element it validates, facts that depend only on the model
class: which list fields hold complex types (where a null is an error), which primitive
fields are required and under which alias, which fields form a choice ("value[x]") and
whether one is required, and the class a resource type name maps to (`import_string` on a
dotted path, once per contained resource). Profiled on ~10 kB notifications these were about
half of validation. `install()` swaps in versions that compute them once per class; the checks
run on the data and the instance as before and raise the very same errors
(tests/unit/test_validation_cache.py compares them with the originals).

It also validates each nested element in one step (into a new instance, as fhir_core's own
`__init__` does inside pydantic's call, whose "after" checks pydantic then ran a second time)
and swaps fhir_core's per-field `_validate` closure for one that goes there directly
(`fhir_model_validator`, `_model_of`, `model_hooks.element_validator`);
tests/integration/test_validation_equivalence.py compares whole answers with stock fhir.resources.
"""

from __future__ import annotations

import types
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from fhir_core import fhirabstractmodel
from fhir_core import types as fhir_types
from fhir_core.fhirabstractmodel import FHIRAbstractModel
from fhir_core.utils import is_list_type, is_primitive_type
from pydantic.version import version_short
from pydantic_core import InitErrorDetails, PydanticCustomError, ValidationError

from integrations.hospital import model_hooks

# The fields of one choice element (as fhir_core lists them, for its messages), the same as a
# set (None if one has a default: then all are read), and whether one is required.
Choice = tuple[list[str], frozenset[str] | None, bool]
Required = tuple[str, str | None, str | None]  # field name, its alias, its `_field` extension

ORIGINAL_ONE_OF_MANY: Callable[[Any], None] = FHIRAbstractModel._validate_one_of_many
ORIGINAL_REQUIRED: Callable[[Any], None] = FHIRAbstractModel._validate_required_primitive_elements


def _copy_of(function: types.FunctionType) -> types.FunctionType:
    """A copy of one of fhir_core's functions as it is at import, kept for install()/stock()
    and the tests: pydantic compiled a reference to the function into every model's schema,
    so the function itself is changed in place (its code) rather than replaced."""
    return types.FunctionType(function.__code__, function.__globals__, function.__name__)


_REJECT_NULLS: types.FunctionType = vars(FHIRAbstractModel)["reject_null_complex_elements"].__func__
ORIGINAL_REJECT_NULLS = _copy_of(_REJECT_NULLS)  # the "before" validator
_AFTER: types.FunctionType = vars(FHIRAbstractModel)["validate_after_model_construction"]
_AFTER = getattr(_AFTER, "__func__", _AFTER)  # the function pydantic compiled in, as above
ORIGINAL_AFTER = _copy_of(_AFTER)
_INIT: types.FunctionType = vars(FHIRAbstractModel)["__init__"]
ORIGINAL_INIT = _copy_of(_INIT)
_STOCK_MODEL_VALIDATOR = vars(fhir_types.FhirBase)["fhir_model_validator"]  # a classmethod
# FhirBase.__get_pydantic_core_schema__ makes one `_validate` closure per FHIR-typed field:
# its code constant is swapped (for the closures to come) and so is each closure's code.
_SCHEMA_HOOK: types.FunctionType = vars(fhir_types.FhirBase)[
    "__get_pydantic_core_schema__"
].__func__
ORIGINAL_SCHEMA_HOOK_CODE = _SCHEMA_HOOK.__code__
ORIGINAL_VALIDATE_CODE: types.CodeType = next(
    c for c in ORIGINAL_SCHEMA_HOOK_CODE.co_consts if getattr(c, "co_name", "") == "_validate"
)
OUR_VALIDATE_CODE = model_hooks.element_validator(None, None).__code__
assert OUR_VALIDATE_CODE.co_freevars == ORIGINAL_VALIDATE_CODE.co_freevars
OUR_SCHEMA_HOOK_CODE = ORIGINAL_SCHEMA_HOOK_CODE.replace(
    co_consts=tuple(
        OUR_VALIDATE_CODE if c is ORIGINAL_VALIDATE_CODE else c
        for c in ORIGINAL_SCHEMA_HOOK_CODE.co_consts
    )
)
ORIGINAL_MODEL_VALIDATOR: Callable[..., Any] = _STOCK_MODEL_VALIDATOR.__func__
# fhir_core's function → (its own code, ours)
_CODES = (
    (_REJECT_NULLS, ORIGINAL_REJECT_NULLS.__code__, model_hooks.reject_null_complex_elements),
    (_AFTER, ORIGINAL_AFTER.__code__, model_hooks.validate_after_model_construction),
    (_INIT, ORIGINAL_INIT.__code__, model_hooks.model_init),
)
_MISSING = object()
_choices_by_class: dict[type[Any], tuple[Choice, ...]] = {}
_required_by_class: dict[type[Any], tuple[Required, ...]] = {}
_lists_by_class: dict[type[Any], tuple[tuple[str, str | None], ...]] = {}


def _choices(cls: type[Any], instance: Any) -> tuple[Choice, ...]:
    """A class's choice elements; computed from its first instance (the method is generated
    per class and returns a constant)."""
    choices: list[Choice] = []
    for prefix, fields in instance.get_one_of_many_fields().items():
        extra = cls.model_fields[fields[0]].json_schema_extra
        assert extra["one_of_many"] == prefix  # the invariant fhir_core asserts on each call
        infos = [cls.model_fields[name] for name in fields]
        # Only set fields can be non-null when every choice field defaults to None.
        unset_null = all(f.default is None and f.default_factory is None for f in infos)
        names = frozenset(fields) if unset_null else None
        choices.append((fields, names, extra["one_of_many_required"] is True))
    _choices_by_class[cls] = result = tuple(choices)
    return result


def validate_one_of_many(self: Any) -> None:
    """fhir_core's `_validate_one_of_many` with the class's choices computed once, looking
    only at the fields the instance has set (a choice field defaults to None, so an unset
    one is null; assignment adds the field to the set before this runs)."""
    cls = type(self)
    choices = _choices_by_class.get(cls)
    if choices is None:
        choices = _choices(cls, self)
    present = self.__pydantic_fields_set__
    for fields, names, required in choices:
        found = 0
        for name in fields if names is None else names & present:
            if getattr(self, name, None) is not None:
                found += 1
        if found > 1:
            raise ValueError(
                f"Any of one field value is expected from this list {fields}, but got multiple!"
            )
        if required and not found:
            raise ValueError(f"Expect any of field value from this list {fields}.")


def _complex_lists(cls: type[Any]) -> tuple[tuple[str, str | None], ...]:
    """(name, alias) of the class's list fields of complex types (not `__ext` siblings)."""
    fields = cls.model_fields.items()
    found = tuple(
        (name, field.alias)
        for name, field in fields
        if is_list_type(field) and not is_primitive_type(field) and not name.endswith("__ext")
    )
    _lists_by_class[cls] = found
    return found


def reject_null_complex_elements(cls: type[Any], data: Any) -> Any:
    """fhir_core's `reject_null_complex_elements` with the class's list fields found once."""
    if not isinstance(data, dict):
        return data
    keys = _lists_by_class.get(cls)
    if keys is None:
        keys = _complex_lists(cls)
    errors: list[InitErrorDetails] = []
    for name, alias in keys:
        key = alias if alias and alias in data else name
        value = data.get(key)
        if isinstance(value, list) and any(item is None for item in value):
            text = "None is not allowed as an element of {field}"
            error = PydanticCustomError("list_type", text, {"field": key})
            errors.append({"type": error, "loc": (key,), "input": value})
    if errors:
        raise ValidationError.from_exception_data(cls.__name__, errors)
    return data


def _required(cls: type[Any], instance: Any) -> tuple[Required, ...]:
    """A class's required primitive fields: (field name, alias, extension field)."""
    pairs = instance.get_required_fields()  # generated per class, returns a constant
    aliases = cls.get_alias_mapping() if pairs else {}
    found = tuple(
        (aliases[name], cls.model_fields[aliases[name]].alias, ext) for name, ext in pairs
    )
    _required_by_class[cls] = found
    return found


def _has_extension(ext_value: Any) -> bool:
    """fhir_core's test for a primitive's `_field` sibling that explains a missing value."""
    if ext_value in (_MISSING, None):
        return False
    if isinstance(ext_value, dict):
        return len(ext_value.get("extension", [])) != 0
    return bool(ext_value.extension and len(ext_value.extension) > 0)


def validate_required_primitive_elements(self: Any) -> None:
    """fhir_core's `_validate_required_primitive_elements` with the fields found once."""
    cls = type(self)
    required = _required_by_class.get(cls)
    if required is None:
        required = _required(cls, self)
    errors: list[InitErrorDetails] = []
    for name, alias, ext in required:
        value = getattr(self, name, _MISSING)
        if value not in (_MISSING, None):
            continue
        if not _has_extension(getattr(self, ext, _MISSING) if ext is not None else None):
            errors.append(_missing_error(alias, value))
    if errors:
        raise ValidationError.from_exception_data(cls.__name__, errors)


def _missing_error(alias: str | None, value: Any) -> InitErrorDetails:
    text = "Value for the field '{field_name}' is required."
    error = PydanticCustomError("model_field_validation.missing", text, {"field_name": alias})
    return {"type": error, "loc": (alias,), "input": value}  # type: ignore[typeddict-item]


Check = Callable[[Any], None]
_after_checks: dict[type[Any], tuple[Check, ...]] = {}


def _after_plan(instance: Any) -> tuple[Check, ...]:
    """The "after" checks a class needs, in fhir_core's order; none when it has neither
    required primitives nor choices."""
    cls = type(instance)
    checks: list[Check] = []
    if _required(cls, instance):
        checks.append(validate_required_primitive_elements)
    if _choices(cls, instance):
        checks.append(validate_one_of_many)
    _after_checks[cls] = found = tuple(checks)
    return found


def fhir_model_validator(cls: Any, value: Any, model_klass: Any) -> Any:
    """fhir_core's FhirBase.fhir_model_validator for a dict that validates to the expected
    resource type; anything else goes to the original. The common case first: an element
    (no `resourceType` key) of a class with fhir_core's own `__init__` (see `_model_of`)."""
    if value.__class__ is dict:
        plain = _plain_by_class.get(model_klass)
        if plain is None:
            plain = _plain(model_klass)
        if plain and "resourceType" not in value and "resource_type" not in value:
            instance = model_klass.__new__(model_klass)
            validator = model_klass.__pydantic_validator__
            if validator.validate_python(value, self_instance=instance) is not instance:
                _not_self()
            return instance  # of model_klass: the checks below hold
        model = _model_of(model_klass, value)
        if (
            isinstance(model, model_klass)
            and model.__resource_type__ == model_klass.__resource_type__
        ):
            return model
        value = model
    return ORIGINAL_MODEL_VALIDATOR(cls, value, model_klass)


_plain_by_class: dict[type[Any], bool] = {}


def _plain(model_klass: Any) -> bool:
    """Whether `_model_of` takes the one-step way for this class (given no `resource_type`)."""
    plain = model_klass.__resource_type__ is not Ellipsis and model_klass.__init__ is _INIT
    _plain_by_class[model_klass] = plain
    return plain


_one_step_by_type: dict[type[Any], Any] = {}


def _one_step(field_type: Any) -> Any:
    """The model class a FHIR field type validates an element's dict to in one step (in
    `fhir_model_validator`), or False: the type has another validator (resources) or the
    class takes `_model_of`."""
    ours = getattr(field_type.fhir_model_validator, "__func__", None) is fhir_model_validator
    model_klass = field_type.get_model_klass() if ours else None
    found = model_klass if model_klass is not None and _plain(model_klass) else False
    _one_step_by_type[field_type] = found
    return found


def _swap_field_validators(old: types.CodeType, new: types.CodeType) -> None:
    """Every `_validate` closure in the schemas of the FHIR models built so far gets `new`."""
    seen: set[int] = set()
    stack: list[Any] = []
    classes: list[type[Any]] = [FHIRAbstractModel]
    while classes:
        cls = classes.pop()
        classes += cls.__subclasses__()
        schema = vars(cls).get("__pydantic_core_schema__")
        if isinstance(schema, dict):
            stack.append(schema)
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        values = node.values() if isinstance(node, dict) else node
        for value in values:
            if isinstance(value, dict | list):
                stack.append(value)
            elif isinstance(value, types.FunctionType) and value.__code__ is old:
                value.__code__ = new


def _model_of(model_klass: Any, data: dict[str, Any]) -> Any:
    """`model_klass.model_validate(data)`, as pydantic runs it for a FHIR model, in one step.

    pydantic validates a dict for a class with its own `__init__` by calling the class
    (`model_init`), which validates the data into the new instance and runs the "after"
    checks; then it runs the "after" checks a second time on the finished instance. They only
    read the instance, which has not changed, so the second run answers as the first did:
    this is the first run alone, with `model_init`'s handling of `resourceType` inline. A
    `resource_type` key, an abstract class or another `__init__` takes pydantic's way."""
    if "resource_type" in data or not _plain(model_klass):
        return model_klass.__pydantic_validator__.validate_python(data)
    if "resourceType" in data and "resourceType" not in model_klass.__pydantic_fields__:
        named = data["resourceType"]
        if named is not None and named != model_klass.__resource_type__:
            return model_klass.__pydantic_validator__.validate_python(data)
        data = {key: value for key, value in data.items() if key != "resourceType"}
    instance = model_klass.__new__(model_klass)
    if model_klass.__pydantic_validator__.validate_python(data, self_instance=instance) is not (
        instance
    ):
        _not_self()
    return instance


def _not_self() -> None:
    """pydantic's BaseModel.__init__ warning when a validator returns another object."""
    warnings.warn(
        "A custom validator is returning a value other than `self`.\n"
        "Returning anything other than `self` from a top level model validator isn't "
        "supported when validating via `__init__`.\n"
        "See the `model_validator` docs (https://pydantic.dev/docs/validation/"
        f"{version_short()}/concepts/validators/#model-validators) for more details.",
        stacklevel=3,
    )


def _globals() -> dict[str, Any]:
    """What model_hooks' functions find in fhir_core's module globals."""
    return {
        "_newborn_ledger_after_checks": _after_checks,
        "_newborn_ledger_after_plan": _after_plan,
        "_newborn_ledger_init": ORIGINAL_INIT,
        "_newborn_ledger_not_self": _not_self,
        "_newborn_ledger_lists": _lists_by_class,
        "_newborn_ledger_complex_lists": _complex_lists,
        "_newborn_ledger_reject_nulls": reject_null_complex_elements,
    }


def install() -> None:
    """Swap in the cached versions (idempotent; affects every FHIR model in the process)."""
    module = vars(fhir_types)  # fhir_core calls its module-level import_string per resource
    if not hasattr(module["import_string"], "cache_info"):
        module["import_string"] = cache(module["import_string"])
    vars(fhirabstractmodel).update(_globals())
    module["_newborn_ledger_one_step"] = _one_step_by_type
    module["_newborn_ledger_one_step_plan"] = _one_step
    module["_newborn_ledger_not_self"] = _not_self
    for function, _, ours in _CODES:
        function.__code__ = ours.__code__
    if _SCHEMA_HOOK.__code__ is not OUR_SCHEMA_HOOK_CODE:
        _SCHEMA_HOOK.__code__ = OUR_SCHEMA_HOOK_CODE
        _swap_field_validators(ORIGINAL_VALIDATE_CODE, OUR_VALIDATE_CODE)
    fhir_types.FhirBase.fhir_model_validator = classmethod(fhir_model_validator)  # type: ignore[assignment]
    FHIRAbstractModel._validate_one_of_many = validate_one_of_many  # type: ignore[method-assign]
    FHIRAbstractModel._validate_required_primitive_elements = (  # type: ignore[method-assign]
        validate_required_primitive_elements
    )


def installed() -> bool:
    return _AFTER.__code__ is model_hooks.validate_after_model_construction.__code__


@contextmanager
def stock() -> Iterator[None]:
    """fhir_core's own validators for the duration (the bench's validation-only baseline)."""
    was_installed = installed()
    module = vars(fhir_types)
    import_string = module["import_string"]
    for function, original, _ in _CODES:
        function.__code__ = original
    if _SCHEMA_HOOK.__code__ is OUR_SCHEMA_HOOK_CODE:
        _SCHEMA_HOOK.__code__ = ORIGINAL_SCHEMA_HOOK_CODE
        _swap_field_validators(OUR_VALIDATE_CODE, ORIGINAL_VALIDATE_CODE)
    fhir_types.FhirBase.fhir_model_validator = _STOCK_MODEL_VALIDATOR  # type: ignore[method-assign]
    module["import_string"] = getattr(import_string, "__wrapped__", import_string)
    FHIRAbstractModel._validate_one_of_many = ORIGINAL_ONE_OF_MANY  # type: ignore[method-assign]
    FHIRAbstractModel._validate_required_primitive_elements = ORIGINAL_REQUIRED  # type: ignore[method-assign]
    try:
        yield
    finally:
        module["import_string"] = import_string
        if was_installed:
            install()
