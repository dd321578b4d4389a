"""The project cites its own references: every [Sxx] source tag used anywhere is listed in
docs/references.md, and nothing points at documents outside the repository."""

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REFERENCES = REPO / "docs" / "references.md"
TAG = re.compile(r"\[(S\d+[a-z]?)\]")
# Written in two parts so that this file does not match itself.
OUTSIDE = re.compile("|".join(("\\.\\./" + "shared", "/work/" + "shared", "domain" + "-facts")))


def tracked_texts():
    names = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True,
                           check=True).stdout.decode().split("\0")
    for name in filter(None, names):
        try:
            yield name, (REPO / name).read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError):  # binary, or deleted but not staged
            continue


def test_no_file_points_outside_the_project():
    found = ["%s: %s" % (name, line.strip())
             for name, text in tracked_texts()
             for line in text.splitlines() if OUTSIDE.search(line)]
    assert not found, "cite docs/references.md instead:\n" + "\n".join(found)


def test_every_source_tag_is_listed_in_the_references():
    sources = REFERENCES.read_text().split("\n## 7. Sources\n", 1)[1]
    listed = set(TAG.findall(sources))
    used = {(tag, name) for name, text in tracked_texts() for tag in TAG.findall(text)}
    assert {"S3", "S54", "S64", "S97"} <= {tag for tag, _name in used}
    missing = sorted("%s (%s)" % pair for pair in used if pair[0] not in listed)
    assert not missing, "add these sources to docs/references.md §7:\n" + "\n".join(missing)


def test_cited_sections_exist():
    headings = set(re.findall(r"^#{2,3} (\d+(?:\.\d+)?)\.? ", REFERENCES.read_text(), re.M))
    cited = {(section, name) for name, text in tracked_texts()
             for section in re.findall(r"references\.md §(\d+(?:\.\d+)?)", text)}
    assert cited
    missing = sorted("§%s (%s)" % pair for pair in cited if pair[0] not in headings)
    assert not missing, "no such section in docs/references.md:\n" + "\n".join(missing)
