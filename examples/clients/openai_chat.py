"""The official openai SDK against Stack: `python examples/clients/openai_chat.py MODEL`."""

from __future__ import annotations

import sys

from openai import OpenAI

client = OpenAI(base_url="http://127.0.0.1:8321/v1", api_key="none")
model = sys.argv[1] if len(sys.argv) > 1 else client.models.list().data[0].id
for chunk in client.chat.completions.create(
    model=model, messages=[{"role": "user", "content": "Hello!"}], stream=True
):
    if chunk.choices:
        print(chunk.choices[0].delta.content or "", end="", flush=True)
print()
