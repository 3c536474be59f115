"""Hypothesis strategies for any protobuf message, driven by its descriptor alone.

Every scalar type (boundary values included), enums with values the schema does not define,
nested messages to a bounded depth, repeated fields, maps, oneofs (at most one member set),
empty, huge, unicode and hostile strings. `known` strings (identifiers that exist in the store
under test, office codes, template names) are mixed in so that requests also reach the code
behind the "not found" checks, and `hints` (field name -> strategy of plausible values) make
most values of a field so named plausible, so that requests also get past validation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from hypothesis import strategies as st

Hints = Mapping[str, st.SearchStrategy[Any]]

MAX_DEPTH = 3
MAX_REPEATED = 3

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
UINT32 = (0, 2**32 - 1)
UINT64 = (0, 2**64 - 1)

RANGES: dict[int, tuple[int, int]] = {
    FieldDescriptor.TYPE_INT32: INT32,
    FieldDescriptor.TYPE_SINT32: INT32,
    FieldDescriptor.TYPE_SFIXED32: INT32,
    FieldDescriptor.TYPE_INT64: INT64,
    FieldDescriptor.TYPE_SINT64: INT64,
    FieldDescriptor.TYPE_SFIXED64: INT64,
    FieldDescriptor.TYPE_UINT32: UINT32,
    FieldDescriptor.TYPE_FIXED32: UINT32,
    FieldDescriptor.TYPE_UINT64: UINT64,
    FieldDescriptor.TYPE_FIXED64: UINT64,
}

HOSTILE_STRINGS = (
    "",
    " ",
    "\t\n",
    "\x00",
    "a\x00b",
    "ADU-2026-000000",
    "00000000-0000-0000-0000-000000000000",
    "../../../etc/passwd",
    "' OR 1=1 --",
    "%s%n%x",
    "{0}{name}",
    "null",
    "-1",
    "9" * 40,
    "\u202e\u200b\ufeff",
    "é" * 3,
    "\U0001d504\U0001d521\U0001d532\U0001d51e\U0001d52b \U0001f642",
    "KANTAH.",
    "PUSAT.",
)

# The largest generated string (characters). Several per request stay under the 4 MiB limit;
# bigger-than-the-limit messages have their own test.
HUGE = 60_000


def integers(low: int, high: int) -> st.SearchStrategy[int]:
    boundaries = [v for v in (low, high, 0, 1, -1, 2, low + 1, high - 1) if low <= v <= high]
    return st.one_of(
        st.sampled_from(boundaries),
        st.integers(max(low, -3), min(high, 60)),
        st.integers(low, high),
    )


def strings(known: Sequence[str]) -> st.SearchStrategy[str]:
    choices: list[st.SearchStrategy[str]] = [
        st.sampled_from(HOSTILE_STRINGS),
        st.text(max_size=40),
        st.integers(1, HUGE).flatmap(
            lambda n: st.sampled_from(["x" * n, "é" * n, ("kata " * n)[:n], "\U0001f600" * n])
        ),
    ]
    if known:
        pool = st.sampled_from(sorted(set(known)))
        # Known values twice: most interesting paths start with an existing resource.
        choices += [pool, pool, pool.map(lambda s: s.lower()), pool.map(lambda s: f" {s} ")]
    return st.one_of(choices)


def scalar(field: FieldDescriptor, known: Sequence[str]) -> st.SearchStrategy[Any]:
    kind = field.type
    if kind in RANGES:
        return integers(*RANGES[kind])
    if kind == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if kind == FieldDescriptor.TYPE_FLOAT:
        return st.floats(width=32)
    if kind == FieldDescriptor.TYPE_DOUBLE:
        return st.floats()
    if kind == FieldDescriptor.TYPE_STRING:
        return strings(known)
    if kind == FieldDescriptor.TYPE_BYTES:
        return st.one_of(st.binary(max_size=64), st.integers(1, HUGE).map(lambda n: b"\xff" * n))
    if kind == FieldDescriptor.TYPE_ENUM:
        defined = [value.number for value in field.enum_type.values]
        # Open (proto3) enums carry any int32: a value from a newer schema, or garbage.
        return st.one_of(st.sampled_from(defined), st.sampled_from(defined), integers(*INT32))
    raise TypeError(f"no strategy for field {field.full_name} of type {kind}")


def _well_known(descriptor: Descriptor) -> st.SearchStrategy[Message] | None:
    """Well-formed values of Timestamp and Duration besides the arbitrary ones, so that the code
    after their conversion runs too."""
    cls = message_factory.GetMessageClass(descriptor)
    if descriptor.full_name == "google.protobuf.Timestamp":
        return st.builds(
            lambda s, n: cls(seconds=s, nanos=n),
            st.integers(0, 253_402_300_799),
            st.integers(0, 999_999_999),
        )
    if descriptor.full_name == "google.protobuf.Duration":
        return st.builds(
            lambda s: cls(seconds=s),
            st.one_of(st.integers(-5, 10), st.integers(-315_576_000_000, 315_576_000_000)),
        )
    return None


def _is_map(field: FieldDescriptor) -> bool:
    return (
        field.type == FieldDescriptor.TYPE_MESSAGE
        and field.message_type.GetOptions().map_entry
        and field.is_repeated
    )


def value_of(field: FieldDescriptor, known: Sequence[str], hints: Hints) -> st.SearchStrategy[Any]:
    generic = scalar(field, known)
    hint = hints.get(field.name)
    if hint is None and field.type == FieldDescriptor.TYPE_ENUM:
        defined = [value.number for value in field.enum_type.values if value.number]
        hint = st.sampled_from(defined) if defined else None
    return generic if hint is None else st.one_of(hint, hint, hint, generic)


@st.composite
def messages(
    draw: st.DrawFn,
    descriptor: Descriptor,
    known: Sequence[str] = (),
    depth: int = 0,
    hints: Hints | None = None,
) -> Message:
    """One message of `descriptor`; each field present or not, oneofs with at most one member."""
    special = _well_known(descriptor)
    if special is not None and draw(st.booleans()):
        return draw(special)
    message = message_factory.GetMessageClass(descriptor)()
    if depth >= MAX_DEPTH:
        return message
    chosen_in_oneof: dict[str, FieldDescriptor | None] = {}
    for oneof in descriptor.oneofs:
        members = list(oneof.fields)
        chosen_in_oneof[oneof.name] = draw(st.one_of(st.none(), st.sampled_from(members)))
    for field in descriptor.fields:
        oneof = field.containing_oneof
        if oneof is not None and chosen_in_oneof.get(oneof.name) is not field:
            continue
        # A field with plausible values is mostly present (requests mostly name their resource).
        likely = field.name in (hints or {}) or field.type == FieldDescriptor.TYPE_ENUM
        if oneof is None and draw(st.integers(0, 4 if likely else 1)) == 0:
            continue
        _set(draw, message, field, known, depth, hints or {})
    return message


def _set(
    draw: st.DrawFn,
    message: Message,
    field: FieldDescriptor,
    known: Sequence[str],
    depth: int,
    hints: Hints,
) -> None:
    name = field.name
    if _is_map(field):
        key_field = field.message_type.fields_by_name["key"]
        value_field = field.message_type.fields_by_name["value"]
        # Keys hinted as "<map field>.key" (e.g. a template's variable names).
        key_hint = hints.get(f"{name}.key")
        key_values = scalar(key_field, known)
        if key_hint is not None:
            key_values = st.one_of(key_hint, key_hint, key_values)
        keys = draw(st.lists(key_values, max_size=MAX_REPEATED, unique=True))
        target = getattr(message, name)
        for key in keys:
            if value_field.type == FieldDescriptor.TYPE_MESSAGE:
                target[key].CopyFrom(
                    draw(messages(value_field.message_type, known, depth + 1, hints))
                )
            else:
                target[key] = draw(value_of(value_field, known, hints))
        return
    if field.is_repeated:
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            items = draw(
                st.lists(
                    messages(field.message_type, known, depth + 1, hints), max_size=MAX_REPEATED
                )
            )
            target = getattr(message, name)
            for item in items:
                target.add().CopyFrom(item)
        else:
            getattr(message, name).extend(
                draw(st.lists(value_of(field, known, hints), max_size=MAX_REPEATED))
            )
        return
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        sub = getattr(message, name)
        sub.SetInParent()
        sub.MergeFrom(draw(messages(field.message_type, known, depth + 1, hints)))
        return
    setattr(message, name, draw(value_of(field, known, hints)))


def string_fields(descriptor: Descriptor, prefix: str = "", depth: int = 0) -> list[str]:
    """Dotted paths of the singular string fields of `descriptor` (nested ones included)."""
    paths: list[str] = []
    for field in descriptor.fields:
        if field.is_repeated:
            continue
        if field.type == FieldDescriptor.TYPE_STRING:
            paths.append(prefix + field.name)
        elif field.type == FieldDescriptor.TYPE_MESSAGE and depth < MAX_DEPTH:
            paths += string_fields(field.message_type, f"{prefix}{field.name}.", depth + 1)
    return paths


def set_path(message: Message, path: str, value: Any) -> None:
    *parents, last = path.split(".")
    target = message
    for part in parents:
        target = getattr(target, part)
    setattr(target, last, value)
