"""Every file the station writes is its owner's only (0600, folders it makes 0700); with [privacy] group
they are that group's to read (0640 / 0750 + setgid). Writers are called in-process with a permissive
umask (022), so the modes come from station.owner_files, not from the command line's umask."""

from __future__ import annotations

import grp
import json
import os
import stat
from pathlib import Path

import pytest

from station import owner_files as files
from station.config import StationConfig, load_config
from station.errors import StationError
from tests.support.archive_files import rep, write_session


@pytest.fixture(autouse=True)
def open_umask():
    old = os.umask(0o022)
    files.set_group("")
    yield
    os.umask(old)
    files.set_group("")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_every_writer_makes_owner_only_files_and_folders(tmp_path, monkeypatch):
    from calibration.feet import save_feet, typed_feet
    from station.archive.audit import audit
    from station.archive.store import open_archive
    from station.commands.shared import write_stats
    from station.export.c3d_file import export_c3d
    from station.export.csv_files import export_csv
    from station.privacy.identities import IdentityList
    from station.recording.reader import read_trial
    from station.report import build_report_model, load_for_report, render_to
    from tests.support.trial_fixtures import write_synthetic_trial

    trial = tmp_path / "t.h5"
    write_synthetic_trial(trial, duration_s=1.0)  # TrialWriter
    recorded = read_trial(trial)
    (tmp_path / "csv").mkdir()
    export_csv(recorded, tmp_path / "csv" / "t")
    export_c3d(recorded, tmp_path / "made" / "t.c3d")
    session = write_session(tmp_path / "sessions", "S01", "2026-01-05",
                            [("dowel_hinge", None, [rep(i) for i in range(3)])])  # save_session
    model = build_report_model(load_for_report(session, StationConfig()), session)
    render_to(model, tmp_path / "reports" / "r.html")
    render_to(model, tmp_path / "reports" / "r.pdf")
    config = StationConfig()
    config.calibration_dir = str(tmp_path / "calibration-data")
    save_feet(typed_feet("S01", -0.13, 0.26), config)
    open_archive(f"sqlite:///{tmp_path / 'archive.sqlite'}").dispose()
    IdentityList(tmp_path / "ids" / "identities.json").add("Ada Lovelace", "1960-12-10")
    monkeypatch.setenv("HINGE_DATA_ROOT", str(tmp_path / "root"))
    (tmp_path / "root").mkdir()
    assert "entry kept in" in audit("record", "S01", config=config, db="postgresql://u@127.0.0.1:1/x")
    write_stats(str(tmp_path / "stats.json"), {"frames": 1})
    made = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    assert len(made) >= 15
    assert {p.relative_to(tmp_path).as_posix(): oct(mode(p)) for p in made if mode(p) != 0o600} == {}
    for folder in ("made", "sessions", "reports", "calibration-data", "ids"):  # made by the station
        assert mode(tmp_path / folder) == 0o700, folder
    assert mode(tmp_path / "csv") == 0o755  # a folder that existed is left as it was


def test_an_existing_readable_file_is_made_private_when_rewritten(tmp_path):
    from station.screening.session import load_session, save_session

    path = write_session(tmp_path, "S02", "2026-01-05", [("dowel_hinge", None, [rep(0)])])
    os.chmod(path, 0o644)  # as the station wrote sessions before
    save_session(load_session(path), path)
    assert mode(path) == 0o600


def test_a_configured_group_may_read(tmp_path):
    name = grp.getgrgid(os.getegid()).gr_name  # the user's own group: always allowed
    toml = tmp_path / "station.toml"
    toml.write_text(f'[privacy]\ngroup = "{name}"\n')
    config = load_config(toml)
    assert config.privacy.group == name and "privacy" not in config.to_dict()  # not stored in trials
    f = files.write_text(tmp_path / "new" / "deeper" / "x.txt", "x")
    assert mode(f) == 0o640 and f.stat().st_gid == os.getegid()
    for folder in (tmp_path / "new", tmp_path / "new" / "deeper"):
        assert mode(folder) == 0o2750 and folder.stat().st_gid == os.getegid()
    load_config(None)  # a station without the setting: owner-only again
    assert mode(files.prepare(tmp_path / "y.bin")) == 0o600


def test_an_unknown_group_is_one_line_at_config_load(tmp_path):
    toml = tmp_path / "station.toml"
    toml.write_text('[privacy]\ngroup = "no-such-group-hinge"\n')
    with pytest.raises(StationError, match=r"station\.toml: \[privacy\] group = 'no-such-group-hinge': "
                                           r"no such group on this machine$"):
        load_config(toml)


def test_a_recordings_folder_others_can_read_gets_one_line(tmp_path):
    folder = tmp_path / "rec"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    line = files.exposed_warning(folder)
    assert line is not None and "\n" not in line and f"chmod o-rwx {folder}" in line
    os.chmod(folder, 0o750)
    assert files.exposed_warning(folder) is None


def test_the_identity_list_is_json_with_codes_only_as_keys(tmp_path):
    from station.privacy.identities import IdentityList

    ids = IdentityList(tmp_path / "identities.json")
    a = ids.add("Ada  Lovelace", "1960-12-10")
    doc = json.loads((tmp_path / "identities.json").read_text())
    assert doc["subjects"][a.code]["name"] == "Ada Lovelace"
    assert list(tmp_path.iterdir()) == [tmp_path / "identities.json"]  # no lock or temp file left
