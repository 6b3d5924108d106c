"""The one event parser: turns Bedrock's RFT event (docs/contract.md §1) into ``Sample`` values.

It never raises. Whatever is wrong with an element is recorded in ``Sample.problem`` so the handler
can still answer that element, in order, with its id echoed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

_MISSING = object()


@dataclass(frozen=True, slots=True)
class Message:
    role: str
    content: str


@dataclass(frozen=True, slots=True)
class Sample:
    """One generated response to grade, with the prompt that produced it and the row's reference."""

    id: Any  # echoed back exactly as received (the service sends a string)
    index: int  # position in the batch
    prompt: tuple[Message, ...] = ()  # the training prompt's messages (without the response)
    response: str | None = None  # the model's reply (last assistant message); None if absent
    reference: Any = None  # metadata.reference_answer, else top-level reference_answer; None if absent
    metadata: Mapping[str, Any] = field(default_factory=dict)
    problem: str = ""  # non-empty when the element could not be read as a sample
    #: The raw last assistant message when it carries tool calls (OpenAI ``tool_calls``, Converse
    #: ``toolUse`` blocks); None otherwise. ``reward.tool_calls`` reads the calls from it.
    response_message: Mapping[str, Any] | None = None

    @property
    def user_text(self) -> str:
        """The last user message of the prompt ('' if none): what the model was asked."""
        for message in reversed(self.prompt):
            if message.role == "user":
                return message.content
        return ""

    @property
    def has_reference(self) -> bool:
        return not _is_empty(self.reference)


def content_text(content: Any) -> str | None:
    """A message's text: a string, or a list of ``{"type": "text", "text": ...}`` blocks joined.

    Returns None when there is no text at all (wrong type, no text blocks).
    """
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for block in content:
            if isinstance(block, str):
                parts.append(block)
            elif isinstance(block, Mapping) and isinstance(block.get("text"), str):
                parts.append(block["text"])
        return "".join(parts) if parts else None
    if isinstance(content, Mapping) and isinstance(content.get("text"), str):
        return content["text"]
    return None


def parse_event(event: Any) -> list[Sample]:
    """Parse a whole event. A non-list event yields no samples (a lone element object is accepted)."""
    if isinstance(event, Mapping) and "messages" in event:
        event = [event]
    if not isinstance(event, list):
        return []
    return [parse_element(element, index) for index, element in enumerate(event)]


def parse_element(element: Any, index: int) -> Sample:
    """Parse one element of the event; never raises."""
    if not isinstance(element, Mapping):
        return Sample(
            id=None, index=index, problem=f"element {index} is {type(element).__name__}, not an object"
        )
    sample_id = element.get("id")
    metadata = element.get("metadata")
    if not isinstance(metadata, Mapping):
        metadata = {}
    reference = metadata.get("reference_answer", _MISSING)
    if reference is _MISSING or _is_empty(reference):
        top = element.get("reference_answer", _MISSING)
        if top is not _MISSING and not _is_empty(top):
            reference = top
    if reference is _MISSING:
        reference = None

    raw_messages = element.get("messages")
    if not isinstance(raw_messages, list) or not raw_messages:
        return Sample(sample_id, index, reference=reference, metadata=metadata, problem="no messages")
    messages: list[Message] = []
    for raw in raw_messages:
        if not isinstance(raw, Mapping):
            continue
        role = raw.get("role")
        text = content_text(raw.get("content"))
        if isinstance(role, str) and text is not None:
            messages.append(Message(role, text))
    last = raw_messages[-1]
    if is_tool_call_message(last):
        # The reply is (or holds) a tool call: ``content`` may be null or only toolUse blocks. Its text
        # (possibly empty) is the response; the calls are read from the raw message by the grader.
        text = content_text(last.get("content")) or ""
        if messages and messages[-1].role == "assistant" and content_text(last.get("content")) is not None:
            messages.pop()
        return Sample(
            sample_id,
            index,
            prompt=tuple(messages),
            response=text,
            reference=reference,
            metadata=metadata,
            response_message=last,
        )
    if (
        isinstance(last, Mapping)
        and last.get("role") == "assistant"
        and content_text(last.get("content")) is None
    ):
        # The reply is there but holds no text (content null, a number, only non-text blocks): an empty
        # response, graded as the response's failure, never an error of ours.
        return Sample(
            sample_id, index, prompt=tuple(messages), response="", reference=reference, metadata=metadata
        )
    if not messages or messages[-1].role != "assistant":
        return Sample(
            sample_id,
            index,
            prompt=tuple(messages),
            reference=reference,
            metadata=metadata,
            problem="no assistant message at the end of messages",
        )
    return Sample(
        sample_id,
        index,
        prompt=tuple(messages[:-1]),
        response=messages[-1].content,
        reference=reference,
        metadata=metadata,
    )


def is_tool_call_message(message: Any) -> bool:
    """True for an assistant message that carries tool calls: an OpenAI ``tool_calls`` key (whatever its
    value: an unreadable one is the response's failure, graded as such) or Converse ``toolUse`` /
    ``tool_use`` content blocks."""
    if not isinstance(message, Mapping) or message.get("role") != "assistant":
        return False
    if "tool_calls" in message and message["tool_calls"] is not None:
        return True
    content = message.get("content")
    return isinstance(content, list) and any(
        isinstance(b, Mapping) and ("toolUse" in b or b.get("type") == "tool_use") for b in content
    )


def _is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, (list, dict, tuple)):
        return len(value) == 0
    return False
