"""The ``judge`` grader's parts (the grader itself, registered by name, is ``reward.graders.judge``):

- ``reward.judge.params``: the spec parameters (rubric, scale, concurrency, retries) and their checks;
- ``reward.judge.checks``: what is decided without a call (empty, master-key, echo, injection) and fencing;
- ``reward.judge.prompt``: the system prompt, the fenced user message, the verdict tool and its parsing;
- ``reward.judge.runtime``: the verdict cache and usage metrics over ``reward.bedrock_runtime``.
"""
