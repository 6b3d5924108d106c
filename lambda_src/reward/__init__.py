"""The reward library: parse an RFT event, grade each sample on the spec's dimensions, compose a reward.

Nothing here imports boto3, sympy or math-verify at import time: graders load their heavy
dependencies lazily, so a spec that does not use them keeps the Lambda's cold start small.
"""
