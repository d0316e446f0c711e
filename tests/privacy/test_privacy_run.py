"""One clinic day through the real command line: a subject added by name, then screened, recorded (with
LSL on), exported and reported. No byte the station writes (trial, session, archive, exports, calibration,
de-identified reports) holds the name; files are owner-only; de-identified dates move by one shift per
subject; every action is in the audit log; LSL shows no subject; nothing listens without --lsl."""

from __future__ import annotations

import json
import os
import stat
import threading
import time
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import h5py
import pytest

from station.privacy.identities import IdentityList
from tests.conftest import run_cli_together, start_cli

NAME, BORN = "Zebulon Quillfeather", "1971-03-04"
FORBIDDEN = [b"zebulon", b"quillfeather", BORN.encode(), BORN.replace("-", "").encode()]
RECORD = ("record", "--plate", "sim:hinge", "--drill", "bw_rdl", "--duration", "8")


def _popen(args, env, root):
    """The command left running (its pid's sockets are watched while it records)."""
    return start_cli(*args, cwd=root, env=env)


def _run_all(commands, env, root, timeout=180) -> list:
    """Start every command at once, wait for all (the machine has 2 cores: exports and reports overlap)."""
    return run_cli_together(*(list(map(str, c)) for c in commands), timeout=timeout, cwd=root, env=env)


def _tree(pid: int) -> set[int]:
    parents = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                parents[int(d.name)] = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                pass
    tree, grew = {pid}, True
    while grew:
        kids = {p for p, pp in parents.items() if pp in tree} - tree
        tree |= kids
        grew = bool(kids)
    return tree


def _listening(pid: int) -> set[str]:
    """Network sockets of the process tree that accept from outside: TCP in LISTEN, or any bound UDP."""
    inodes = set()
    for p in _tree(pid):
        try:
            for fd in Path(f"/proc/{p}/fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            pass
    found = set()
    for proto in ("tcp", "tcp6", "udp", "udp6"):
        try:
            lines = Path(f"/proc/net/{proto}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if f[9] in inodes and (proto.startswith("udp") or f[3] == "0A"):
                found.add(f"{proto} {f[1]}")
    return found


def _lsl_stream_xml(deadline_s: float) -> list[str]:
    """Full stream descriptions of the station's outlets, as any machine on the network would read them."""
    import pylsl

    xml: dict[str, str] = {}
    end = time.monotonic() + deadline_s
    while len(xml) < 3 and time.monotonic() < end:
        for info in pylsl.resolve_byprop("source_id", "hinge-station-Force", timeout=1.0) + \
                pylsl.resolve_byprop("source_id", "hinge-station-Hip", timeout=0.5) + \
                pylsl.resolve_byprop("source_id", "hinge-station-Reps", timeout=0.5):
            if info.name() not in xml:
                inlet = pylsl.StreamInlet(info)
                xml[info.name()] = inlet.info(timeout=5.0).as_xml()
    return list(xml.values())


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    root = tmp_path_factory.mktemp("clinic")
    env = {k: v for k, v in os.environ.items() if k not in ("HINGE_IDENTITIES", "HINGE_STATION_CONFIG")}
    env.update(HINGE_DATA_ROOT=str(root), HINGE_ARCHIVE_URL="", QT_QPA_PLATFORM="offscreen")
    ids = IdentityList(root / "hinge-identities.json")

    def added(result: SimpleNamespace) -> str:
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)["subject"]

    a, b = map(added, _run_all([
        ("subject", "add", "--name", NAME, "--born", BORN, "--json", "--operator", "dr-desk"),
        ("subject", "add", "--name", "Other Person", "--json")], env, root))
    while ids.lookup(b).date_shift_days == ids.lookup(a).date_shift_days:  # 1 in ~600: take another
        (b,) = map(added, _run_all([("subject", "add", "--name", "Other Person", "--json")], env, root))
    (root / "open").mkdir()
    os.chmod(root / "open", 0o755)  # a folder made by hand, readable by everyone
    (root / "recordings").mkdir(mode=0o700)
    # A: camera + plate with LSL on; B: the plate alone (light), nothing on the network
    rec_a = _popen([*RECORD, "--camera", "sim:hinge", "--subject", a, "--lsl", "--operator", "dr-rec",
                    "--notes", "felt fine", "--out", "open/A.h5"], env, root)
    rec_b = _popen([*RECORD, "--subject", b, "--out", "recordings/B.h5"], env, root)
    lsl: list[str] = []
    listening: dict[str, set] = {"a": set(), "b": set()}

    def watch() -> None:
        while rec_a.poll() is None or rec_b.poll() is None:
            for key, proc in (("a", rec_a), ("b", rec_b)):
                if proc.poll() is None:
                    listening[key] |= _listening(proc.pid)
            time.sleep(0.3)

    threads = [threading.Thread(target=lambda: lsl.extend(_lsl_stream_xml(30.0)), daemon=True),
               threading.Thread(target=watch, daemon=True)]
    for th in threads:
        th.start()
    # meanwhile: a screening set of A (simulated), and a name given where a code belongs (refused)
    screen, *refusals = _run_all([
        ("screen", "--subject", a, "--sim", "hinge", "--reps", "3", "--drill", "dowel_hinge", "--answers",
         "no,no,no,no", "--operator", "dr-screen"),
        ("record", "--plate", "sim:hinge", "--subject", NAME, "--drill", "bw_rdl", "--out", "refused.h5"),
        ("screen", "--subject", "quillfeather", "--sim", "hinge", "--answers", "no,no,no,no"),
        ("dashboard", "--subject", "Zebulon", "--screenshot", "refused.png", "--seconds", "1")], env, root)
    assert screen.returncode == 0, screen.stderr
    records = [SimpleNamespace(returncode=p.wait(timeout=120), stdout=p.stdout.read(), stderr=p.stderr.read())
               for p in (rec_a, rec_b)]
    for th in threads:
        th.join(30.0)
    for r in records:
        assert r.returncode == 0, r.stderr
    session = next((root / "recordings").glob(f"{a}_*.session.json"))
    later = _run_all([("export", "open/A.h5", "--format", "csv", "--deidentify", "--out",
                       "recordings/A_deid"),
                      ("export", "open/A.h5", "--format", "c3d", "--deidentify", "--out",
                       "recordings/A_deid.c3d"),
                      ("export", "open/A.h5", "--format", "csv", "--out", "recordings/A_plain"),
                      ("export", "recordings/B.h5", "--format", "csv", "--deidentify", "--out",
                       "recordings/B_deid"),
                      ("calibrate", "feet", "--subject", a, "--heel-x", "-0.13", "--foot-length", "0.26"),
                      ("report", session, "--deidentify", "--pdf", "--operator", "dr-report"),
                      ("report", "open/A.h5", "--deidentify", "--out", "reports/A.deid.html"),
                      ("report", session, "--identify", "--out", "identified/A.html")], env, root)
    for r in later:
        assert r.returncode == 0, r.stderr
    return SimpleNamespace(root=root, a=a, b=b, ids=ids, session=session, records=records, lsl=lsl,
                           listening=listening, refusals=refusals)


def _pdf_text(path: Path) -> str:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(path))
    try:
        return "".join(page.get_textpage().get_text_range() for page in pdf)
    finally:
        pdf.close()


def test_no_byte_the_station_writes_holds_the_name(day):
    identified = day.root / "identified" / "A.html"
    assert b"quillfeather" in identified.read_bytes().lower()  # the clinic's copy has it: the check can see
    checked = []
    for path in sorted(p for p in day.root.rglob("*") if p.is_file()):
        if path == day.ids.path or path == identified:
            continue
        data = path.read_bytes().lower()
        if path.suffix == ".pdf":
            data += _pdf_text(path).lower().encode()
        assert not [w for w in FORBIDDEN if w in data], path
        checked.append(path.relative_to(day.root).as_posix())
    kinds = {Path(c).suffix for c in checked}
    assert {".h5", ".json", ".sqlite", ".csv", ".c3d", ".html", ".pdf"} <= kinds, checked
    assert any(c.startswith("calibration-data/") for c in checked) and len(checked) >= 25


def test_files_are_owner_only_and_the_station_folders_too(day):
    modes = {p.relative_to(day.root).as_posix(): stat.S_IMODE(p.stat().st_mode) for p in day.root.rglob("*")}
    assert {k: oct(m) for k, m in modes.items() if Path(day.root, k).is_file() and m != 0o600} == {}
    for folder in ("calibration-data", "reports", "identified"):
        assert modes[folder] == 0o700, folder
    warned = [ln for ln in day.records[0].stderr.splitlines() if "can be read by every user" in ln]
    assert len(warned) == 1 and "chmod o-rwx open" in warned[0]
    assert not [ln for ln in day.records[1].stderr.splitlines() if "can be read by every user" in ln]


def _trial_day(path: Path) -> date:
    with h5py.File(path, "r") as f:
        return date.fromisoformat(str(f.attrs["start_wall_time"])[:10])


def _csv_info(path: Path) -> dict[str, str]:
    rows = [ln.split(",", 1) for ln in path.read_text().splitlines()[1:]]
    return {k: v.strip('"') for k, v in rows}


def test_deidentified_dates_move_by_one_shift_per_subject(day):
    import ezc3d

    root = day.root
    shift_a, shift_b = (day.ids.lookup(c).date_shift_days for c in (day.a, day.b))
    real_a, real_b = _trial_day(root / "open" / "A.h5"), _trial_day(root / "recordings" / "B.h5")
    csv_a = _csv_info(root / "recordings" / "A_deid_trial.csv")
    c3d_a = ezc3d.c3d(str(root / "recordings" / "A_deid.c3d"))["parameters"]["HINGE_TRIAL"]
    csv_b = _csv_info(root / "recordings" / "B_deid_trial.csv")
    moved = {"A csv": (date.fromisoformat(csv_a["date"]) - real_a).days,
             "A c3d": (date.fromisoformat(c3d_a["DATE"]["value"][0]) - real_a).days,
             "B csv": (date.fromisoformat(csv_b["date"]) - real_b).days}
    session_day = date.fromisoformat(json.loads(day.session.read_text())["date"])
    (report,) = (root / "recordings").glob(f"{day.a}_*.session.deidentified.html")
    shown = report.read_text().split("<span id='date'>")[1][:10]
    moved["A report"] = (date.fromisoformat(shown) - session_day).days
    assert moved == {"A csv": shift_a, "A c3d": shift_a, "B csv": shift_b, "A report": shift_a}
    assert shift_a != shift_b and 0 not in (shift_a, shift_b)
    assert csv_a["deidentified"].startswith("yes") and "notes" not in csv_a and "command" not in csv_a
    plain = _csv_info(root / "recordings" / "A_plain_trial.csv")
    assert plain["notes"] == "felt fine" and date.fromisoformat(plain["date"]) == real_a
    moved_day = date.fromordinal(session_day.toordinal() + shift_a).isoformat()
    assert report.name == f"{day.a}_{moved_day}.session.deidentified.html"  # not the real date either


def test_every_action_is_in_the_audit_log(day):
    from station.archive.audit import audit_entries
    from station.archive.store import open_archive

    archive = open_archive(f"sqlite:///{day.root / 'hinge-archive.sqlite'}", write=False)
    rows = audit_entries(archive)
    archive.dispose()
    by_subject = {c: sorted(r["action"] for r in rows if r["subject"] == c) for c in (day.a, day.b)}
    assert by_subject[day.a] == ["export", "export", "export", "identity_lookup", "record", "report",
                                 "report", "report", "screen", "subject_add"]
    assert by_subject[day.b][-3:] == ["export", "record", "subject_add"]
    who = {(r["action"], r["operator"]) for r in rows if r["subject"] == day.a}
    assert {("subject_add", "dr-desk"), ("screen", "dr-screen"), ("record", "dr-rec"),
            ("report", "dr-report")} <= who
    assert all(r["at"] and r["station_id"] for r in rows)
    assert not (day.root / "hinge-audit.jsonl").exists()


def test_lsl_streams_name_the_station_never_the_subject(day):
    assert len(day.lsl) == 3, "the station's LSL outlets were not resolved while recording"
    for xml in day.lsl:
        assert "<name>HingeStation-" in xml
        low = xml.lower()
        assert day.a.lower() not in low and not [w for w in FORBIDDEN if w.decode() in low]
        assert "subject" not in low


def test_nothing_listens_on_the_network_without_lsl(day):
    assert day.listening["a"], "the socket check saw nothing even with --lsl on: it checks nothing"
    assert day.listening["b"] == set()


def test_a_name_where_a_code_belongs_is_refused_in_one_line(day):
    for r in day.refusals:
        assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
        assert "looks like a name, not a subject code" in r.stderr and "uillfeather" not in r.stderr
    assert not (day.root / "refused.h5").exists() and not (day.root / "refused.png").exists()


def test_a_deidentified_report_shows_no_picture_of_the_person_and_no_making_date(day):
    import pypdfium2 as pdfium

    html = (day.root / "reports" / "A.deid.html").read_text()
    assert "stick figure from the markers (camera still left out" in html  # A.h5 kept stills: replaced
    assert "camera still of rep" not in html
    (pdf_path,) = (day.root / "recordings").glob("*.deidentified.pdf")
    pdf = pdfium.PdfDocument(str(pdf_path))
    try:
        assert not pdf.get_metadata_dict().get("CreationDate")
    finally:
        pdf.close()
