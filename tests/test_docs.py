"""The documentation stays navigable: every relative link and anchor in README.md and the other Markdown files of
the repository resolves, and the README stays a front door (at most 15,000 bytes, as ``wc -c`` counts them).

Anchors follow GitHub's rule for heading ids (lower case; characters other than letters, digits, ``_``, ``-``
and spaces dropped; spaces become ``-``; a repeated id gets ``-1``, ``-2``...), so a link that works here works
on GitHub. Links inside code blocks and code spans are not links and are not checked.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
README_MAX_BYTES = 15_000
#: Folders that hold generated or installed files, never the project's own documentation.
SKIPPED_DIRS = {
    ".git",
    ".venv",
    "node_modules",
    "cdk.out",
    ".cache",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
}

_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1")
# [text](target) and ![alt](target); the target may be wrapped in <...> and followed by a "title".
_INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE_DEF = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
_HTML_LINK = re.compile(r"<(?:a|img)\s[^>]*?(?:href|src)=\"([^\"]+)\"", re.IGNORECASE)
_HTML_ID = re.compile(r"<[a-z]+\s[^>]*?(?:id|name)=\"([^\"]+)\"", re.IGNORECASE)
_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)


def markdown_files(root: Path = PROJECT_ROOT) -> list[Path]:
    """Every Markdown file of the project, outside installed and generated folders (never walked into)."""
    found = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = [name for name in subfolders if name not in SKIPPED_DIRS]
        found += [Path(folder) / name for name in files if name.endswith(".md")]
    return sorted(found)


def prose_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) outside fenced code blocks, with code spans blanked out."""
    lines, fenced = [], False
    for number, line in enumerate(text.splitlines(), start=1):
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append((number, _CODE_SPAN.sub("", line)))
    return lines


def heading_slug(heading: str) -> str:
    """GitHub's id for a heading's text."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading renders as its text
    text = re.sub(r"<[^>]+>", "", text).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors_of(path: Path) -> set[str]:
    """The ids a link may point to in ``path``: its headings' slugs (numbered like GitHub's) and HTML ids."""
    anchors: set[str] = set()
    seen: dict[str, int] = {}
    text = path.read_text(encoding="utf-8")
    fenced = False
    for line in text.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if fenced:
            continue
        anchors.update(_HTML_ID.findall(line))
        match = _HEADING.match(line)
        if match:
            slug = heading_slug(match.group(2))
            count = seen.get(slug, 0)
            seen[slug] = count + 1
            anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


def links_of(path: Path) -> list[tuple[int, str]]:
    """(line number, target) of every link and image in ``path`` outside code."""
    found = []
    for number, line in prose_lines(path.read_text(encoding="utf-8")):
        for pattern in (_INLINE_LINK, _HTML_LINK):
            found.extend((number, target) for target in pattern.findall(line))
        match = _REFERENCE_DEF.match(line)
        if match:
            found.append((number, match.group(1)))
    return found


def broken_links(path: Path, root: Path = PROJECT_ROOT) -> list[str]:
    """One message per relative link of ``path`` whose file or anchor does not exist."""
    problems = []
    for number, target in links_of(path):
        if not target or _SCHEME.match(target) or target.startswith("//"):
            continue  # a web address: not ours to check offline
        file_part, _, anchor = target.partition("#")
        where = f"{path.relative_to(root)}:{number}: link '{target}'"
        destination = (path.parent / file_part).resolve() if file_part else path
        if not destination.exists():
            problems.append(f"{where}: no such file {destination}")
            continue
        if root.resolve() not in (destination, *destination.parents):
            problems.append(f"{where}: points outside the repository")
            continue
        if anchor:
            if destination.suffix != ".md":
                problems.append(f"{where}: an anchor into a file that is not Markdown")
            elif anchor not in anchors_of(destination):
                problems.append(f"{where}: no heading with id '#{anchor}' in {destination.relative_to(root)}")
    return problems


def test_readme_is_a_front_door_of_at_most_15000_bytes() -> None:
    """A newcomer reads the README in a few screens; the reference lives in docs/."""
    size = len((PROJECT_ROOT / "README.md").read_bytes())
    assert size <= README_MAX_BYTES, f"README.md is {size} bytes; move reference material into docs/"


def test_the_documentation_pages_exist() -> None:
    """The README's map of docs/ names these pages; each is where a reader looks for its subject."""
    for page in (
        "architecture",
        "benchmarks",
        "cli",
        "context-keys",
        "contract",
        "dataset-format",
        "deploy",
        "development",
        "judge",
        "operations",
        "reward-specs",
        "security",
        "troubleshooting",
    ):
        assert (PROJECT_ROOT / "docs" / f"{page}.md").is_file(), page


def test_the_readme_links_every_docs_page() -> None:
    """A page nobody links to is a page nobody finds."""
    readme_targets = {target.partition("#")[0] for _, target in links_of(PROJECT_ROOT / "README.md")}
    for page in sorted((PROJECT_ROOT / "docs").glob("*.md")):
        assert f"docs/{page.name}" in readme_targets, f"README.md does not link docs/{page.name}"


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_every_relative_link_and_anchor_resolves(path: Path) -> None:
    """A link to a moved page or a renamed heading is found here, not by a reader."""
    assert broken_links(path) == []


def test_the_checker_finds_a_missing_file_a_missing_anchor_and_ignores_code(tmp_path: Path) -> None:
    """The link check can fail: each kind of broken link is reported, and code is not mistaken for a link."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "page.md").write_text(
        "# A page\n\n## The job starter (`start_job=true`)\n\n## Twice\n## Twice\n"
    )
    readme = tmp_path / "README.md"
    readme.write_text(
        "# Title\n"
        "[ok](docs/page.md#the-job-starter-start_jobtrue) [ok](docs/page.md#twice-1) [ok](#title)\n"
        "[gone](docs/missing.md) [bad anchor](docs/page.md#nope) ![img](docs/none.png) [self](#nothing)\n"
        "[web](https://example.com/x#y) `[code](docs/not-checked.md)`\n"
        "```\n[in a fence](docs/not-checked-either.md)\n```\n"
    )
    problems = broken_links(readme, root=tmp_path)
    assert len(problems) == 4, problems
    assert any("docs/missing.md" in p and "no such file" in p for p in problems)
    assert any("#nope" in p for p in problems)
    assert any("docs/none.png" in p for p in problems)
    assert any("'#nothing'" in p for p in problems)
    assert all(p.startswith("README.md:3:") for p in problems)


def test_the_dataset_rules_table_is_the_generated_one() -> None:
    """docs/dataset-format.md shows every validator rule, exactly as ``rules_markdown_table()`` writes them."""
    from reward.dataset import rules_markdown_table

    page = (PROJECT_ROOT / "docs" / "dataset-format.md").read_text(encoding="utf-8")
    assert rules_markdown_table().strip() in page


def test_the_grader_table_lists_every_grader() -> None:
    """A grader that is registered but not in docs/reward-specs.md's table is a grader nobody finds."""
    from reward.graders import BUILTIN_GRADERS

    page = (PROJECT_ROOT / "docs" / "reward-specs.md").read_text(encoding="utf-8")
    for name in BUILTIN_GRADERS:
        assert f"\n| `{name}` |" in page, name


def test_the_metrics_table_lists_every_metric_the_lambda_emits() -> None:
    """docs/operations.md names each metric the dashboard and alarms read, as the Lambda spells it."""
    from reward import metric_names

    page = (PROJECT_ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    for name in metric_names.metric_names(["correctness"], judge=True):
        documented = name.replace(".correctness", ".<dimension>")
        if documented.startswith("Status."):
            documented = "Status.<status>"
        assert f"`{documented}`" in page, name


#: How a citation of the team's shared notes looked before the contract moved into docs/contract.md; built
#: from parts so that this file does not match itself.
_OUTSIDE_CITATIONS = re.compile("rft" + r"-contract\.md|" + "shared" + r"/docs/|\.\./" + "shared")
_TEXT_SUFFIXES = {".py", ".md", ".toml", ".json", ".txt", ".cfg", ".ini", ".yaml", ".yml", ".sh", ""}


def test_nothing_cites_a_document_outside_the_repository() -> None:
    """A newcomer's clone has no shared notes: comments, docstrings, messages and docs cite docs/contract.md."""
    found = []
    for folder, subfolders, files in os.walk(PROJECT_ROOT):
        subfolders[:] = [name for name in subfolders if name not in SKIPPED_DIRS and name != "out"]
        for name in files:
            path = Path(folder) / name
            if path.suffix not in _TEXT_SUFFIXES or path.stat().st_size > 2_000_000:
                continue
            try:
                text = path.read_text(encoding="utf-8")
            except (UnicodeDecodeError, OSError):
                continue
            for number, line in enumerate(text.splitlines(), start=1):
                if _OUTSIDE_CITATIONS.search(line):
                    found.append(f"{path.relative_to(PROJECT_ROOT)}:{number}: {line.strip()[:100]}")
    assert found == [], "cite docs/contract.md instead:\n" + "\n".join(found)
