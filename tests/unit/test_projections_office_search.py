"""office_search on in-memory views: a parent's citizen ID found only as a keyed digest, under
the current key or one still read after a rotation."""

from __future__ import annotations

from datetime import date

from domain.kernel.disclosure import DispatchPayload
from domain.kernel.identifiers import make_citizen_id
from projections.office_search import (
    PARENTS,
    InMemoryOfficeSearch,
    OfficeSearchProjection,
    digest,
    parent_ids,
)
from tests.unit.test_projections_support import HUKOU, Story, new_case, new_request

MOTHER_BORN = date(1994, 3, 8)
MOTHER = make_citizen_id("420102", MOTHER_BORN, 124)
FATHER = make_citizen_id("420102", date(1992, 5, 1), 311)


def projection_with(*keys: bytes) -> OfficeSearchProjection:
    view = InMemoryOfficeSearch()
    view.index_keys = keys
    return OfficeSearchProjection(view)


def dispatched_hukou(projection: OfficeSearchProjection, payload: dict[str, str]) -> str:
    story = Story(projection)
    case = new_case()
    hukou = new_request(case, HUKOU)
    hukou.dispatch(DispatchPayload(payload))
    story.feed(case, hukou)
    return str(hukou.id)


def test_each_parent_dispatched_is_found_by_id_and_stored_as_a_digest() -> None:
    projection = projection_with(b"k" * 32)
    request_id = dispatched_hukou(
        projection,
        {"mother.citizen_id": MOTHER, "father.citizen_id": FATHER, "mother.name": "王芳"},
    )
    assert projection.view.requests_of(MOTHER) == [request_id]
    assert projection.view.requests_of(FATHER.lower()) == [request_id]  # as typed, any case
    assert projection.view.requests_of(make_citizen_id("420102", MOTHER_BORN, 125)) == []
    rows = projection.view.dump()[PARENTS.name]
    assert len(rows) == 2
    assert MOTHER not in repr(rows)
    assert {r["digest"] for r in rows} == {digest(b"k" * 32, MOTHER), digest(b"k" * 32, FATHER)}


def test_rows_written_under_an_old_key_are_found_after_a_rotation() -> None:
    projection = projection_with(b"old" * 11)
    request_id = dispatched_hukou(projection, {"mother.citizen_id": MOTHER})
    projection.view.index_keys = (b"new" * 11, b"old" * 11)  # the current key first
    assert projection.view.requests_of(MOTHER) == [request_id]
    projection.view.index_keys = (b"new" * 11,)  # the old key dropped: a rebuild is due
    assert projection.view.requests_of(MOTHER) == []


def test_a_payload_without_parents_ids_indexes_nothing() -> None:
    projection = projection_with(b"k" * 32)
    dispatched_hukou(projection, {"mother.name": "王芳", "mother.phone": "13800000000"})
    assert projection.view.dump()[PARENTS.name] == []
    assert parent_ids({"mother.citizen_id": " 42010219940308124x ", "father.citizen_id": ""}) == [
        "42010219940308124X"
    ]
