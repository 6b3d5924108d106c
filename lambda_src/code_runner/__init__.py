"""The code sandbox: run untrusted programs against test inputs and decide the tests outside them.

Bundled alone as the code-runner Lambda (``code_runner.handler.lambda_handler``) and imported in-process
by the ``code`` grader in local mode; it imports nothing from the reward library. See ``runner`` for the
request/reply shape and ``harness`` / ``sandbox`` for what the sandbox enforces.
"""

from code_runner.runner import VERSION, Limits, run_batch

__all__ = ["VERSION", "Limits", "run_batch"]
