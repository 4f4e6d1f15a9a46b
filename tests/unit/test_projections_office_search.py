"""office_search on in-memory views: a parent's citizen ID found only as a keyed digest, under
the current key or one still read after a rotation."""

from __future__ import annotations

from datetime import date

from domain.kernel.disclosure import DispatchPayload
from domain.kernel.identifiers import make_citizen_id
from domain.kernel.results import Result
from projections.office_search import (
    MAX_MATCHES,
    PARENTS,
    InMemoryOfficeSearch,
    OfficeSearchProjection,
    digest,
    parent_ids,
)
from tests.unit.test_projections_support import HUKOU, Story, new_case, new_request, route

MOTHER_BORN = date(1994, 3, 8)
MOTHER = make_citizen_id("420102", MOTHER_BORN, 124)
FATHER = make_citizen_id("420102", date(1992, 5, 1), 311)
CHILD = make_citizen_id("420102", date(2026, 3, 1), 7)
WUHAN_POLICE = ("420102", "public-security")  # HUKOU's deciding office
YUEYANG_POLICE = ("430602", "public-security")  # its receiving window


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
    view = projection.view
    assert view.requests_of(MOTHER, *WUHAN_POLICE) == [request_id]
    assert view.requests_of(FATHER.lower(), *WUHAN_POLICE) == [request_id]  # as typed
    assert view.requests_of(make_citizen_id("420102", MOTHER_BORN, 125), *WUHAN_POLICE) == []
    rows = view.dump()[PARENTS.name]
    assert len(rows) == 4  # each ID for the deciding office and the receiving window
    assert MOTHER not in repr(rows)
    assert {r["digest"] for r in rows} == {digest(b"k" * 32, MOTHER), digest(b"k" * 32, FATHER)}


def test_rows_written_under_an_old_key_are_found_after_a_rotation() -> None:
    projection = projection_with(b"old" * 11)
    request_id = dispatched_hukou(projection, {"mother.citizen_id": MOTHER})
    projection.view.index_keys = (b"new" * 11, b"old" * 11)  # the current key first
    assert projection.view.requests_of(MOTHER, *WUHAN_POLICE) == [request_id]
    projection.view.index_keys = (b"new" * 11,)  # the old key dropped: a rebuild is due
    assert projection.view.requests_of(MOTHER, *WUHAN_POLICE) == []


def test_a_payload_without_parents_ids_indexes_nothing() -> None:
    projection = projection_with(b"k" * 32)
    dispatched_hukou(projection, {"mother.name": "王芳", "mother.phone": "13800000000"})
    assert projection.view.dump()[PARENTS.name] == []
    assert parent_ids({"mother.citizen_id": " 42010219940308124x ", "father.citizen_id": ""}) == [
        "42010219940308124X"
    ]


def test_a_search_reads_only_its_own_office_s_rows() -> None:
    """Another office's requests sent the same ID are neither found nor counted against
    the limit: more of them than MAX_MATCHES leave this office's own request found."""
    projection = projection_with(b"k" * 32)
    story = Story(projection)
    elsewhere = route("household-registration", "public-security", "110101", "110101")
    for n in range(MAX_MATCHES + 5):
        case = new_case(f"MR-B{n:03d}")
        other = new_request(case, elsewhere)
        other.dispatch(DispatchPayload({"mother.citizen_id": MOTHER}))
        story.feed(case, other)
    case = new_case()
    hukou = new_request(case, HUKOU)
    hukou.dispatch(DispatchPayload({"mother.citizen_id": MOTHER}))
    story.feed(case, hukou)
    ours = str(hukou.id)
    view = projection.view
    assert view.requests_of(MOTHER, *WUHAN_POLICE) == [ours]
    assert view.requests_of(MOTHER, *YUEYANG_POLICE) == [ours]  # the window it went through
    assert view.requests_of(MOTHER, "430602", "cdc") == []
    assert len(view.requests_of(MOTHER, "110101", "public-security")) == MAX_MATCHES


def test_a_correction_asked_after_a_decision_indexes_its_new_ids() -> None:
    projection = projection_with(b"k" * 32)
    story = Story(projection)
    case = new_case()
    hukou = new_request(case, HUKOU)
    hukou.dispatch(DispatchPayload({"mother.citizen_id": MOTHER}))
    hukou.receive("officer", "R-1", "2026-03-09", False)
    hukou.approve("officer", Result("citizen_id", CHILD))
    story.feed(case, hukou)
    corrected = DispatchPayload({"mother.citizen_id": FATHER})  # the ID typed wrong, now right
    hukou.request_correction(corrected, ["mother.citizen_id"], "MR-0001-u", "2026-03-16", False)
    story.feed(hukou)
    assert projection.view.requests_of(FATHER, *WUHAN_POLICE) == [str(hukou.id)]
    assert projection.view.requests_of(MOTHER, *WUHAN_POLICE) == [str(hukou.id)]
