"""``python -m rft.demo``: the ``make demo`` step — ``rft score`` then ``rft probe`` on a dataset.

Scores the dataset's reference answers (the positive control: they should earn the top reward), then
probes the spec with every reward-hacking family. Writes scores, histograms and the probe's plot under
``--out`` (default ``out/demo``). Exit status: the worst of the two commands (1 when a hack pays).
"""

from __future__ import annotations

import argparse
import sys

from rft.cli import main as rft


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rft.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default="reward_specs/gsm8k.toml", help="reward spec (TOML)")
    parser.add_argument("--data", default="data/sample/train.jsonl", help="dataset (Nova RFT JSONL)")
    parser.add_argument("--out", default="out/demo", help="where score and probe write their files")
    args = parser.parse_args(argv)

    print(f"$ rft score --spec {args.spec} --data {args.data} --out {args.out}\n", flush=True)
    scored = rft(["score", "--spec", args.spec, "--data", args.data, "--out", args.out])
    print(f"\n$ rft probe --spec {args.spec} --data {args.data} --out {args.out}\n", flush=True)
    probed = rft(["probe", "--spec", args.spec, "--data", args.data, "--out", args.out])
    return max(scored, probed)


if __name__ == "__main__":
    sys.exit(main())
