"""Provider toolkits: public building blocks a provider package composes (not API declarations).

- ``openai_compat``: the client and adapter an OpenAI-compatible inference provider is made of;
- ``vector_index``: the ``VectorIndex`` protocol a vector engine implements, with keyword ranking
  and fusion helpers;
- ``vector_adapter``: ``VectorIOAdapter``, a ``VectorIndex`` made into a vector_io provider;
- ``web_search``: ``WebSearchRuntime``, the ``builtin::websearch`` tool runtime over a hosted search
  API, with the request and reply of each service supplied by a ``SearchEngine``.
- ``documents``: text extracted from documents (text, Markdown, PDF) and split into token windows.
"""
