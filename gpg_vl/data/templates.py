"""Prompt templates: how a record's problem becomes the user turn.

A template is a name below or any format string with `{question}`. Choices, when a record
has them and its problem does not already list them, are appended as "(A) ..." lines.
"""

from __future__ import annotations

from .record import Record

TEMPLATES = {
    "plain": "{question}",
    "r1": "{question}  Output the thinking process in <think> </think> and final answer in <answer> </answer> tags.",
    "r1_number": "{question}  Output the thinking process in <think> </think> and final answer (number) in <answer> </answer> tags.",
    "r1_option": "{question}  Output the thinking process in <think> </think> and final answer (option) in <answer> </answer> tags.",
    "rec": "{question} First output the thinking process in <think> </think> tags and then output the final answer in <answer> </answer> tags. Output the final answer in JSON format.",
    "boxed": "{question}  Think step by step inside <think> </think> tags, then give the final answer in \\boxed{{}}.",
}


def resolve_template(spec: str) -> str:
    if spec in TEMPLATES:
        return TEMPLATES[spec]
    if "{question}" in spec:
        return spec
    raise ValueError(f"unknown template {spec!r}; use one of {', '.join(TEMPLATES)} "
                     "or a format string containing {question}")


def question_text(record: Record) -> str:
    text = record.problem.replace("<image>", "").strip()
    if record.choices and "(A)" not in text:
        letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
        text += "\nChoices:\n" + "\n".join(f"({letters[i]}) {c}" for i, c in enumerate(record.choices))
    return text


def build_messages(record: Record, template: str) -> list[dict]:
    """Chat messages: every image of the record, then the templated question."""
    content = [{"type": "image"} for _ in record.images]
    content.append({"type": "text", "text": template.format(question=question_text(record))})
    return [{"role": "user", "content": content}]
