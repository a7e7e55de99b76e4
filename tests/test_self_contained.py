"""The repository is self-contained: nothing at run or test time reads a file outside it.

(a) no code, test, benchmark, Makefile, CI or infra file points to the sibling ``shared``
    folder of the development machines (a plain ``git clone`` does not have it);
(b) every requirements / lock / pyproject / constraints file names packages and versions only
    (hashes allowed): no ``file://``, no local path, no local wheel or source archive;
(c) the test material in ``tests/fixtures`` stays under 10 MB;
(d) the schemas used at run time (CAP XSD, any SHACL shapes) live inside their package and
    are declared as package data, so an installed wheel carries them.

Each check is a helper function; the ``*_can_fail`` tests feed it a bad file to prove that it
does catch what it is meant to catch.
"""

from __future__ import annotations

import fnmatch
import re
import subprocess
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
SELF = Path(__file__).resolve()
MAX_FIXTURES_BYTES = 10_000_000

# -- file inventory ---------------------------------------------------------------------------
SKIP_DIRS = {".git", "node_modules", "__pycache__", "bench-results"}


def repo_files() -> list[Path]:
    """Tracked files plus new, not ignored ones (so an uncommitted file is checked too)."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
        names = [n for n in out.decode("utf-8", "surrogateescape").split("\0") if n]
        return sorted({ROOT / n for n in names if (ROOT / n).is_file()})
    except (OSError, subprocess.CalledProcessError):  # not a git checkout (e.g. an archive)
        return sorted(
            p
            for p in ROOT.rglob("*")
            if p.is_file()
            and not any(
                part in SKIP_DIRS or part.startswith(".venv") or part == "data"
                for part in p.relative_to(ROOT).parts[:-1]
            )
        )


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


# -- (a) references to the sibling shared folder ----------------------------------------------
CODE_SUFFIXES = {".py", ".sh", ".bash"}
CODE_FOLDERS = ("tests", "benchmarks", ".ci", "infra")
SIBLING = "sha" + "red"  # the sibling folder's name, spelled so this file does not match itself
SHARED_PATTERNS = [
    re.compile(r"\.\./" + SIBLING + r"\b"),  # ../<sibling>, ../../<sibling>
    re.compile(r"/work/" + SIBLING + r"\b"),  # absolute path of the dev machines
    re.compile(r"parents?\s*(\[\s*\d+\s*\])?\s*/\s*[\"']" + SIBLING + r"[\"']"),  # .parent / "<sibling>"
    re.compile(r"[\"']" + SIBLING + r"[\"']\s*/\s*[\"']"),  # "<sibling>" / "standards"
    re.compile(r"[\"']\.\.[\"']\s*,\s*[\"']" + SIBLING + r"[\"']"),  # os.path.join(root, "..", "<sibling>")
]


def is_code_file(path: Path) -> bool:
    rel = path.relative_to(ROOT)
    if _inside(path, FIXTURES) or path == SELF:
        return False
    return path.suffix in CODE_SUFFIXES or rel.name == "Makefile" or rel.parts[0] in CODE_FOLDERS


def shared_references(path: Path) -> list[str]:
    """Lines of ``path`` that point to the sibling ``shared`` folder."""
    try:
        text = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return []  # binary file
    return [
        f"{path.name}:{number}: {line.strip()}"
        for number, line in enumerate(text.splitlines(), 1)
        if any(p.search(line) for p in SHARED_PATTERNS)
    ]


def test_no_code_points_to_the_shared_folder():
    files = [p for p in repo_files() if is_code_file(p)]
    assert any(p.name == "Makefile" for p in files) and any(p.suffix == ".py" for p in files)
    found = {str(p.relative_to(ROOT)): hits for p in files if (hits := shared_references(p))}
    assert not found, f"références au dossier voisin {SIBLING}/ (absent d'un simple clone) : {found}"


def test_shared_reference_check_can_fail(tmp_path):
    bad = tmp_path / "bad.py"
    for line in (
        f'SHARED = ROOT.parent / "{SIBLING}"',
        f'X = Path(__file__).parents[2] / "{SIBLING}" / "standards"',
        f'DATA = "../{SIBLING}/data/real"',
        f'P = base / "{SIBLING}" / "data"',
        f'os.path.join(root, "..", "{SIBLING}")',
    ):
        bad.write_text(f"from pathlib import Path\n{line}\n", encoding="utf-8")
        assert shared_references(bad), line
    bad.write_text('conf.get("shared", {})\nSHARED = {"mart_a"}\n', encoding="utf-8")
    assert shared_references(bad) == []


# -- (b) requirements: names and versions only ------------------------------------------------
LOCAL_REQUIREMENT = [
    (re.compile(r"file:", re.I), "URL file:"),
    (re.compile(r"@\s*file", re.I), "référence « @ file »"),
    (re.compile(r"(^|[\s\"'=@(,\[])(/|~/|[A-Za-z]:\\)[\w.~-]"), "chemin absolu"),
    (re.compile(r"/tmp\b"), "chemin /tmp"),
    (re.compile(r"(?<![\w.])\.\.?[/\\]"), "chemin relatif ./ ou ../"),
    (re.compile(r"\.whl\b|\.tar\.gz\b|\.tgz\b|\.zip\b", re.I), "archive locale (.whl, .tar.gz)"),
    (re.compile(r"^\s*(-e|--editable)\b"), "installation éditable"),
]


def is_requirements_file(path: Path) -> bool:
    name = path.name.lower()
    if _inside(path, FIXTURES):
        return False
    return (
        name == "pyproject.toml"
        or name.endswith(".lock")
        or (("requirements" in name or "constraints" in name) and path.suffix in {".txt", ".in"})
    )


def requirement_problems(path: Path) -> list[str]:
    """Lines of a requirements-like file that are not a plain name + version (+ hash)."""
    problems = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        reasons = [reason for pattern, reason in LOCAL_REQUIREMENT if pattern.search(line)]
        if reasons:
            problems.append(f"{path.name}:{number}: {', '.join(reasons)} : {line.strip()}")
    return problems


def test_requirements_name_packages_and_versions_only():
    files = [p for p in repo_files() if is_requirements_file(p)]
    expected = {
        "pyproject.toml",
        "requirements.lock",
        "superset/requirements.txt",
        "governance/openmetadata-requirements.txt",
        "infra/requirements-checks.txt",
    }
    assert expected <= {str(p.relative_to(ROOT)) for p in files}
    found = {str(p.relative_to(ROOT)): hits for p in files if (hits := requirement_problems(p))}
    assert not found, f"dépendances qui ne sont pas « nom==version » : {found}"


def test_requirement_check_can_fail(tmp_path):
    bad = tmp_path / "requirements.txt"
    for line in (
        "psycopg2-binary @ file:///tmp/dl/psycopg2_binary-2.9.10-cp311-cp311-manylinux_2_17_x86_64.whl",
        "pkg @ file:vendor/pkg",
        "/opt/wheels/pkg-1.0-py3-none-any.whl",
        "./vendor/pkg-1.0.tar.gz",
        "../pkg",
        "-e .",
        "pkg-1.0-py3-none-any.whl",
        "pkg @ https://example.org/pkg-1.0.tar.gz",
        "C:\\wheels\\pkg.whl",
        "--find-links /tmp/wheels",
    ):
        bad.write_text(f"rich==15.0.0\n{line}\n", encoding="utf-8")
        assert requirement_problems(bad), line
    bad.write_text(
        "rich==15.0.0 \\\n    --hash=sha256:0123abcd\n# via dagster\napache_superset==6.1.0\n"
        'requires = ["setuptools>=77", "wheel"]\nurl: "http://creativecommons.org/licenses/by/3.0/"\n',
        encoding="utf-8",
    )
    assert requirement_problems(bad) == []


# -- (c) size of the test material ------------------------------------------------------------
def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def test_fixtures_stay_under_10_mb():
    size = folder_bytes(FIXTURES)
    assert 0 < size <= MAX_FIXTURES_BYTES, f"tests/fixtures pèse {size / 1e6:.1f} Mo (maximum 10 Mo)"
    assert (FIXTURES / "README.md").is_file()


def test_size_check_can_fail(tmp_path):
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "big.bin").write_bytes(b"\0" * 1000)
    (tree / "small.txt").write_bytes(b"x" * 24)
    assert folder_bytes(tree) == 1024


# -- (d) run-time schemas inside the package, declared as package data ------------------------
def package_data_patterns(package: str) -> list[str]:
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    data = conf.get("tool", {}).get("setuptools", {}).get("package-data", {})
    return [*data.get("*", []), *data.get(package, [])]


def packaging_problems(files: list[Path], package_dir: Path) -> list[str]:
    """Files missing, outside ``package_dir`` or not matched by the package-data patterns.

    With setuptools' package discovery (namespaces allowed), each folder is its own package,
    so a pattern applies to the file name within its folder, as setuptools does.
    """
    problems = []
    package_dir = package_dir.resolve()
    for file in files:
        file = Path(file).resolve()
        if not file.is_file():
            problems.append(f"{file} : fichier absent")
            continue
        if not _inside(file, package_dir):
            problems.append(f"{file} : hors du paquet {package_dir}")
            continue
        folder = file.parent.relative_to(package_dir.parent)
        patterns = package_data_patterns(".".join(folder.parts))
        if not any(fnmatch.fnmatch(file.name, pattern) for pattern in patterns):
            problems.append(f"{file} : non déclaré dans [tool.setuptools.package-data]")
    return problems


def runtime_schema_files() -> dict[str, list[Path]]:
    """Schema files each package needs at run time, with the licence texts next to them."""
    import alerting
    import alerting.cap as cap
    import opendata

    out = {}
    cap_dir = Path(alerting.__file__).parent
    out[str(cap_dir)] = [
        *cap.XSD_FILES.values(),
        *sorted(cap.SCHEMA_DIR.glob("LICENSE*")),
        cap.SCHEMA_DIR / "README.md",
    ]
    shapes = Path(opendata.__file__).parent / "shapes"  # only if the catalog is validated at publish time
    if shapes.is_dir():
        out[str(Path(opendata.__file__).parent)] = sorted(p for p in shapes.rglob("*") if p.is_file())
    return out


def test_runtime_schemas_ship_inside_their_package():
    import alerting.cap as cap

    groups = runtime_schema_files()
    assert sum(len(files) for files in groups.values()) >= 5
    problems = [msg for package_dir, files in groups.items() for msg in packaging_problems(files, Path(package_dir))]
    assert not problems, problems
    assert {p.name for p in cap.SCHEMA_DIR.glob("LICENSE*")} == {"LICENSE-IBM_cap", "LICENSE-google_cap-library"}
    for namespace in cap.XSD_FILES:  # they load, offline
        cap.schema.cache_clear()
        assert cap.schema(namespace) is not None


def test_packaging_check_can_fail(tmp_path):
    import alerting

    package_dir = Path(alerting.__file__).parent
    outside = tmp_path / "CAP-v1.2.xsd"
    outside.write_text("<schema/>", encoding="utf-8")
    assert "hors du paquet" in packaging_problems([outside], package_dir)[0]
    assert "absent" in packaging_problems([package_dir / "schemas" / "cap" / "missing.xsd"], package_dir)[0]
    fake = tmp_path / "alerting" / "schemas" / "cap"  # same layout, in a throw-away folder
    fake.mkdir(parents=True)
    (fake / "CAP-v1.2.xsd").write_text("<schema/>", encoding="utf-8")
    (fake / "NOTICE.txt").write_text("x", encoding="utf-8")
    assert packaging_problems([fake / "CAP-v1.2.xsd"], tmp_path / "alerting") == []
    assert "non déclaré" in packaging_problems([fake / "NOTICE.txt"], tmp_path / "alerting")[0]
