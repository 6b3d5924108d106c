"""`rft report`: training curves from the metrics files an RFT job wrote to S3.

The parsers are checked on every layout the module claims to read; the command runs end to end against
Stubber clients (Bedrock GetModelCustomizationJob, S3 ListObjectsV2 / GetObject: requests validated
against the service models) and writes a real PNG.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from botocore.response import StreamingBody

from rft.cli import main
from rft.curves import MetricFile, find_curves, parse_csv, parse_json, warnings_for
from tests.test_cli_remote import JOB_ARN, Clients, job_reply

JOB_ID = JOB_ARN.rsplit("/", 1)[-1]
FOLDER = f"output/model-customization-job-{JOB_ID}/"


def body(text: str) -> StreamingBody:
    data = text.encode()
    return StreamingBody(io.BytesIO(data), len(data))


# A job whose reward rises from 0.1 to 0.7 over 10 steps; min/max bracket it; validation every 5 steps.
WIDE_CSV = "step,critic/rewards/mean,critic/rewards/max,critic/rewards/min,actor/entropy\n" + "".join(
    f"{s},{0.1 + 0.06 * (s - 1):.3f},{0.2 + 0.06 * (s - 1):.3f},{0.06 * (s - 1) - 0.5:.3f},{1.0 - s / 20}\n"
    for s in range(1, 11)
)
VALIDATION_JSONL = "".join(
    json.dumps({"step": s, "data": {"val-score/rewards/mean@1": 0.1 + s / 20}}) + "\n" for s in (0, 5, 10)
)


def test_wide_csv_gives_one_series_per_column() -> None:
    series = parse_csv(WIDE_CSV)
    assert series["critic/rewards/mean"][1.0] == pytest.approx(0.1)
    assert series["critic/rewards/mean"][10.0] == pytest.approx(0.64)
    assert len(series["actor/entropy"]) == 10


def test_long_csv_and_the_documented_sft_columns() -> None:
    long = "step,metric,value\n1,reward_mean,0.2\n1,reward_max,0.9\n2,reward_mean,0.3\n"
    assert parse_csv(long) == {"reward_mean": {1.0: 0.2, 2.0: 0.3}, "reward_max": {1.0: 0.9}}
    sft = "step_number,epoch_number,training_loss,perplexity\n0,0,2.5,12.1\n1,0,2.1,8.2\n"
    assert parse_csv(sft)["training_loss"] == {0.0: 2.5, 1.0: 2.1}


def test_a_csv_without_a_step_column_is_not_metrics() -> None:
    assert parse_csv("id,answer\n1,4\n") == {}


def test_json_layouts() -> None:
    assert parse_json(VALIDATION_JSONL)["val-score/rewards/mean@1"][5.0] == pytest.approx(0.35)
    assert parse_json(json.dumps([{"global_step": 3, "train/reward": 0.5}])) == {"train/reward": {3.0: 0.5}}
    assert parse_json(json.dumps({"step": [1, 2], "reward": [0.1, 0.2]})) == {"reward": {1.0: 0.1, 2.0: 0.2}}
    assert parse_json('{"recordId": "x"}\nnot json\n') == {}


@pytest.mark.parametrize(
    ("name", "role"),
    [
        ("critic/rewards/mean", "train_mean"),
        ("critic/rewards/max", "train_max"),
        ("critic/rewards/min", "train_min"),
        ("val-score/rewards/mean@1", "validation"),
        ("train_mean_reward", "train_mean"),
        ("eval_mean_reward", "validation"),
        ("validation_reward", "validation"),
        ("critic/advantages/mean", None),
        ("reward_std", None),
        ("actor/entropy", None),
        ("training_loss", None),
    ],
)
def test_reward_series_are_recognized_by_name(name: str, role: str | None) -> None:
    curves = find_curves([MetricFile("s3://b/metrics.csv", {name: {0.0: 0.1, 1.0: 0.2}})])
    found = {r: n for r, n in curves.names.items()}
    assert (found.get(role) == name) if role else name in curves.others


def test_documented_names_win_over_look_alikes() -> None:
    curves = find_curves(
        [MetricFile("s3://b/m.csv", {"critic/score/mean": {0.0: 0.9}, "critic/rewards/mean": {0.0: 0.1}})]
    )
    assert curves.names["train_mean"] == "critic/rewards/mean" and "critic/score/mean" in curves.others


def test_rising_training_and_falling_validation_is_flagged() -> None:
    series = {
        "critic/rewards/mean": {float(s): 0.1 * s for s in range(8)},
        "val-score/rewards/mean@1": {float(s): 0.8 - 0.1 * s for s in range(8)},
    }
    notes = warnings_for(find_curves([MetricFile("s3://b/m.csv", series)]))
    assert any("validation reward fell" in n for n in notes)


def stub_job(clients: Clients, objects: dict[str, str], *, folder_has_them: bool = True) -> None:
    bedrock, s3 = clients.stub("bedrock"), clients.stub("s3")
    bedrock.add_response("get_model_customization_job", job_reply("Completed"), {"jobIdentifier": JOB_ARN})
    listing = {"Contents": [{"Key": k, "Size": len(v)} for k, v in objects.items()], "IsTruncated": False}
    empty = {"IsTruncated": False}
    s3.add_response(
        "list_objects_v2", listing if folder_has_them else empty, {"Bucket": "out", "Prefix": FOLDER}
    )
    if not folder_has_them:
        s3.add_response("list_objects_v2", listing, {"Bucket": "out", "Prefix": "output/"})
    for key, text in objects.items():
        if key.endswith((".csv", ".json", ".jsonl")):
            s3.add_response("get_object", {"Body": body(text)}, {"Bucket": "out", "Key": key})


def run(clients: Clients, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err, client_factory=clients)
    clients.assert_done()
    return code, out.getvalue(), err.getvalue()


def test_report_plots_reward_over_steps(tmp_path: Path) -> None:
    clients = Clients()
    stub_job(
        clients,
        {
            f"{FOLDER}training_artifacts/step_wise_training_metrics.csv": WIDE_CSV,
            f"{FOLDER}validation_artifacts/val_metrics.jsonl": VALIDATION_JSONL,
            f"{FOLDER}checkpoints/model.safetensors": "binary",
        },
    )
    code, out, err = run(clients, "report", "--job", JOB_ARN, "--out", str(tmp_path))
    assert code == 0, err
    png = tmp_path / "training_curves.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    lines = {line.split()[0]: line.split() for line in out.splitlines() if line.split()}
    assert lines["train_mean"][1:3] == ["critic/rewards/mean", "1..10"]
    assert float(lines["train_mean"][3]) == pytest.approx(0.1) and float(
        lines["train_mean"][4]
    ) == pytest.approx(0.64)
    assert lines["validation"][1] == "val-score/rewards/mean@1"
    assert "checkpoints" not in out  # not a metrics file: never downloaded (no stub for it either)


def test_report_falls_back_to_the_whole_output_prefix(tmp_path: Path) -> None:
    """An undocumented layout: files keyed by the job id elsewhere under the output prefix are found."""
    clients = Clients()
    stub_job(clients, {f"output/{JOB_ID}/metrics/rewards.csv": WIDE_CSV}, folder_has_them=False)
    code, out, _ = run(clients, "report", "--job", JOB_ARN, "--out", str(tmp_path), "--json")
    reply = json.loads(out)
    assert code == 0 and reply["searched"] == [f"s3://out/{FOLDER}", "s3://out/output/"]
    assert reply["curves"]["train_mean"]["points"] == 10 and reply["png"]


def test_report_says_where_it_looked_when_nothing_is_there(tmp_path: Path) -> None:
    clients = Clients()
    stub_job(clients, {"output/other-job/notes.txt": "x"}, folder_has_them=False)
    code, out, err = run(clients, "report", "--job", JOB_ARN, "--out", str(tmp_path))
    assert code == 1 and "Traceback" not in err
    assert "no training curves" in out and f"s3://out/{FOLDER}" in out and "s3://out/output/" in out
    assert "other objects there (1), not read: output/other-job/notes.txt" in out
    assert not (tmp_path / "training_curves.png").exists()


def test_a_folder_with_only_loss_metrics_leads_to_the_whole_prefix(tmp_path: Path) -> None:
    """The documented folder holds an SFT-style loss file: the search goes on, and reads nothing twice."""
    loss = f"{FOLDER}training_artifacts/step_wise_training_metrics.csv"
    rewards = f"output/{JOB_ID}-metrics/rewards.jsonl"
    sft = "step_number,epoch_number,training_loss\n0,0,2.5\n1,0,2.1\n"
    clients = Clients()
    bedrock, s3 = clients.stub("bedrock"), clients.stub("s3")
    bedrock.add_response("get_model_customization_job", job_reply("Completed"))
    s3.add_response(
        "list_objects_v2",
        {"Contents": [{"Key": loss, "Size": len(sft)}]},
        {"Bucket": "out", "Prefix": FOLDER},
    )
    s3.add_response("get_object", {"Body": body(sft)}, {"Bucket": "out", "Key": loss})
    both = {"Contents": [{"Key": loss, "Size": len(sft)}, {"Key": rewards, "Size": 10}]}
    s3.add_response("list_objects_v2", both, {"Bucket": "out", "Prefix": "output/"})
    s3.add_response("get_object", {"Body": body(VALIDATION_JSONL)}, {"Bucket": "out", "Key": rewards})
    code, out, err = run(clients, "report", "--job", JOB_ARN, "--out", str(tmp_path), "--json")
    reply = json.loads(out)
    assert code == 0, err
    assert [f["uri"] for f in reply["files"]] == [f"s3://out/{loss}", f"s3://out/{rewards}"]
    assert reply["curves"]["validation"]["metric"] == "val-score/rewards/mean@1"
