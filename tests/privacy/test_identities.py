"""Subject codes are random, a name is refused where a code belongs, dates move by a per-subject shift."""

from __future__ import annotations

import re

import pytest

from station.archive.identity_list import check_notes, check_subject
from station.config import StationConfig
from station.errors import StationError
from station.privacy.dates import shift_dates_in
from station.privacy.identities import SHIFT_MAX_DAYS, SHIFT_MIN_DAYS, IdentityList, name_like


@pytest.fixture
def config(tmp_path, monkeypatch):
    monkeypatch.setenv("HINGE_DATA_ROOT", str(tmp_path))
    monkeypatch.delenv("HINGE_IDENTITIES", raising=False)
    return StationConfig()


def test_codes_are_random_not_made_from_the_name(tmp_path):
    ids = IdentityList(tmp_path / "identities.json")
    same = [ids.add("Jane Doe", "1980-02-03") for _ in range(5)]
    codes = [i.code for i in same]
    assert len(set(codes)) == 5 and all(re.fullmatch(r"H[2-9A-Z]{7}", c) for c in codes)
    assert all(SHIFT_MIN_DAYS <= abs(i.date_shift_days) <= SHIFT_MAX_DAYS for i in same)
    assert ids.lookup(codes[0]).born == "1980-02-03" and ids.lookup("HNOPE234") is None
    with pytest.raises(StationError, match="YYYY-MM-DD"):
        ids.add("Jane Doe", "03/02/1980")


def test_a_name_is_refused_where_a_code_belongs(config):
    from station.archive.identity_list import identity_list

    identity_list(config).add("Zebulon Quillfeather")
    for value in ("Jane Doe", "quillfeather", "ZEBULON", "Zebulon Quillfeather"):
        with pytest.raises(StationError) as err:
            check_subject(value, config)
        assert "\n" not in str(err.value) and value not in str(err.value)  # the name is not repeated
    assert check_subject("S01", config) == "S01"
    assert not name_like("HK7Q2M9X", ["Zebulon Quillfeather"])
    with pytest.raises(StationError, match="--notes: holds a name"):
        check_notes("zebulon   QUILLFEATHER felt fine", config)
    assert check_notes("felt fine, S01", config)


def test_the_date_shift_is_kept_per_subject(config):
    from station.archive.identity_list import identity_list

    ids = identity_list(config)
    a = ids.add("Ann Example")
    assert ids.date_shift_days(a.code) == a.date_shift_days  # the stored one, every time
    first = ids.date_shift_days("S99")  # a code made before the list: gets a shift, kept
    assert first == ids.date_shift_days("S99") and ids.lookup("S99").name is None


def test_dates_move_wherever_they_stand():
    text = "visit 2026-11-21T10:05:00+00:00, file S01_bw_rdl_20261121-100500.h5, 3/8 reps, 2026-02-30"
    assert shift_dates_in(text, 10) == ("visit 2026-12-01T10:05:00+00:00, "
                                        "file S01_bw_rdl_20261201-100500.h5, 3/8 reps, 2026-02-30")
    assert shift_dates_in("2024-03-01", -1) == "2024-02-29"
