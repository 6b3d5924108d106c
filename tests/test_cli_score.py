"""`rft score`: the reference answers and given responses graded through the real handler."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from rft.cli import main
from rft.stats import percentile, summarize, text_histogram
from rft.ui import progress_bar

ROOT = Path(__file__).resolve().parents[1]
TRAIN = str(ROOT / "data" / "sample" / "train.jsonl")
GSM8K = str(ROOT / "reward_specs" / "gsm8k.toml")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def rows_by_line() -> dict[int, dict]:
    return {i: json.loads(line) for i, line in enumerate(Path(TRAIN).read_text().splitlines(), start=1)}


def test_reference_answers_score_at_the_top(capsys, tmp_path, monkeypatch):
    monkeypatch.delenv("REWARD_SPEC", raising=False)
    code = main(["score", "--spec", GSM8K, "--data", TRAIN, "--out", str(tmp_path)])
    assert "REWARD_SPEC" not in os.environ  # the spec travels as a value, not through the environment
    out = capsys.readouterr().out
    assert code == 0
    assert "250 reference answers (positive control)" in out
    table = {line.split()[0]: line.split() for line in out.splitlines() if line[:1].isalpha()}
    assert table["correctness"][1:3] == ["250", "+1.000"]
    assert table["correctness"][-2:] == ["ok", "250"]
    assert table["aggregate"][1:3] == ["250", "+1.000"]
    assert "[+0.8, +1.0] " + "█" * 40 + " 250" in out

    scores = [json.loads(line) for line in (tmp_path / "scores.jsonl").read_text().splitlines()]
    assert len(scores) == 250
    assert scores[0] == {
        "line": 1,
        "task_id": "gsm-sample-train-0001",
        "aggregate": 1.0,
        "rewards": {"correctness": 1.0, **{k: 1.0 for k in scores[0]["rewards"] if k != "correctness"}},
        "statuses": dict.fromkeys(scores[0]["rewards"], "ok"),
        "reasons": dict.fromkeys(scores[0]["rewards"], ""),
    }
    assert (tmp_path / "histograms.png").read_bytes()[:8] == PNG_MAGIC


def test_responses_are_matched_by_task_id_and_by_line(capsys, tmp_path):
    rows = rows_by_line()
    answer = rows[3]["reference_answer"]["final_answer"]
    responses = tmp_path / "responses.jsonl"
    responses.write_text(
        "\n".join(
            json.dumps(r)
            for r in [
                {"task_id": rows[3]["task_id"], "response": f"Adding up.\n#### {answer}"},
                {"line": 3, "response": f"Adding up.\n#### {int(answer) + 1}"},
                {"line": 5, "response": ""},
            ]
        )
        + "\n"
    )
    code = main(
        ["score", "--spec", GSM8K, "--data", TRAIN, "--responses", str(responses), "--out", str(tmp_path)]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert f"3 responses from {responses}" in out
    scores = [json.loads(line) for line in (tmp_path / "scores.jsonl").read_text().splitlines()]
    assert [(s["line"], s["responses_line"], s["aggregate"]) for s in scores] == [
        (3, 1, 1.0),
        (3, 2, -1.0),
        (5, 3, -1.0),
    ]
    assert scores[2]["statuses"]["correctness"] == "unscorable"
    assert "unscorable 1" in out


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"task_id": "no-such-task", "response": "#### 1"}, "task_id 'no-such-task' matches no valid row"),
        ({"line": 9999, "response": "#### 1"}, "line 9999 is not a valid"),
        ({"response": "#### 1"}, 'say which row the response answers: "task_id"'),
        ({"line": 1, "response": 7}, "`response` must be a string, got int"),
    ],
)
def test_unmatched_or_bad_responses_name_the_line(capsys, tmp_path, record, message):
    responses = tmp_path / "responses.jsonl"
    responses.write_text(json.dumps({"line": 1, "response": "#### 1"}) + "\n" + json.dumps(record) + "\n")
    code = main(["score", "--spec", GSM8K, "--data", TRAIN, "--responses", str(responses)])
    err = capsys.readouterr().err
    assert code == 1
    assert f"{responses}:2: {message}" in err


def test_a_broken_spec_is_a_usage_error_naming_the_field(capsys, tmp_path):
    spec = tmp_path / "bad.toml"
    spec.write_text('[[dimensions]]\nname = "c"\ngrader = "numerik"\n')
    code = main(["score", "--spec", str(spec), "--data", TRAIN])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{spec}: dimensions[0] (c).grader: unknown grader 'numerik' (did you mean 'numeric'?)" in err
    assert main(["score", "--spec", str(tmp_path / "none.toml"), "--data", TRAIN]) == 2
    assert main(["score", "--spec", GSM8K, "--data", str(tmp_path / "none.jsonl")]) == 2


def test_invalid_rows_are_skipped_and_fail_the_run_unless_skip_invalid(capsys, tmp_path):
    """A CI log must not end green with rows silently left out: exit 1, the count and the first line in
    the last line; --skip-invalid grades the rest and exits 0."""
    data = tmp_path / "data.jsonl"
    lines = Path(TRAIN).read_text().splitlines()[:3]
    data.write_text("\n".join([lines[0], "{broken", lines[2]]) + "\n")
    code = main(["score", "--spec", GSM8K, "--data", str(data)])
    captured = capsys.readouterr()
    assert code == 1
    assert "2 reference answers" in captured.out
    last = captured.err.strip().splitlines()[-1]
    assert "1 invalid record(s)" in last and "line 2" in last and "--skip-invalid" in last
    assert main(["score", "--spec", GSM8K, "--data", str(data), "--skip-invalid"]) == 0
    assert "line(s) 2 are skipped. Run `rft validate-data" in capsys.readouterr().err


def test_statistics_and_histogram_helpers():
    assert percentile([0.0, 1.0], 50) == 0.5
    s = summarize([-1.0, 0.0, 1.0, 1.0])
    assert (s.n, s.mean, s.min, s.p50, s.max) == (4, 0.25, -1.0, 0.5, 1.0)
    assert s.std == pytest.approx(0.8291561975)
    lines = text_histogram([-1.0, 1.0, 1.0], bins=2, width=4).splitlines()
    assert lines == ["  [-1.0, +0.0) ██   1", "  [+0.0, +1.0] ████ 2"]


def test_progress_draws_only_on_a_terminal_after_a_delay():
    class Tty:
        def __init__(self):
            self.text = ""

        def write(self, s):
            self.text += s

        def flush(self):
            pass

        def isatty(self):
            return True

    tty = Tty()
    bar = progress_bar(10, "scoring", err=tty, enabled=True)
    bar.update(10)
    bar.close()
    assert "scoring" not in tty.text  # done within its 1 s delay: nothing drawn, nothing left behind
    hidden = io.StringIO()
    bar = progress_bar(10, "scoring", err=hidden, enabled=True)
    bar.update(10)
    bar.close()
    assert hidden.getvalue() == ""  # not a terminal
