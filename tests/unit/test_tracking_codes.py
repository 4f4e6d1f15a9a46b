"""Family tracking codes: 12 letters of Crockford's base32, every letter in every place."""

from __future__ import annotations

from collections import Counter

from domain.kernel.applicants import TRACKING_ALPHABET, TRACKING_LENGTH, new_tracking_code

DRAWS = 20_000


def test_codes_are_twelve_letters_of_the_alphabet_and_do_not_repeat() -> None:
    codes = [new_tracking_code() for _ in range(DRAWS)]
    assert all(len(code) == TRACKING_LENGTH for code in codes)
    assert set("".join(codes)) <= set(TRACKING_ALPHABET)
    assert len(set(codes)) == DRAWS  # 60 bits: a repeat in 20,000 draws has p < 2e-10


def test_every_letter_turns_up_in_every_place_about_equally() -> None:
    codes = [new_tracking_code() for _ in range(DRAWS)]
    expected = DRAWS / len(TRACKING_ALPHABET)  # 625 per letter and place
    for place in range(TRACKING_LENGTH):
        counts = Counter(code[place] for code in codes)
        assert set(counts) == set(TRACKING_ALPHABET)
        # ±40% of 625 is more than 9 standard deviations (~24.6): never by chance
        assert all(0.6 * expected < n < 1.4 * expected for n in counts.values())
