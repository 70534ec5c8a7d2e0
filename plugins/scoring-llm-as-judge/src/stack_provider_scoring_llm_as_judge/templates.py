"""The SimpleQA grader: the judge says whether an answer is CORRECT (A), INCORRECT (B) or
NOT_ATTEMPTED (C); scores are counted by category."""

SIMPLEQA_GRADER = """\
Your job is to grade a predicted answer to a question against the gold target, as one of
"CORRECT", "INCORRECT" or "NOT_ATTEMPTED".

- CORRECT: the predicted answer contains the gold target's meaning fully and contradicts nothing.
  Differences of capitalization, punctuation, grammar, word order or hedging do not matter, and a
  number is correct when it matches the gold target to its last significant figure.
- INCORRECT: the predicted answer contradicts the gold target in any way, even while hedging
  ("I think it is X, but I am not sure"), or gives several candidate answers one of which is wrong.
- NOT_ATTEMPTED: the predicted answer neither contains the gold target's meaning nor contradicts
  it (for instance "I don't know", or a refusal).

Question: {input_query}
Gold target: {expected_answer}
Predicted answer: {generated_answer}

Grade the predicted answer as one of:
A: CORRECT
B: INCORRECT
C: NOT_ATTEMPTED

Just return the letter "A", "B" or "C", with no text around it.
""".strip()
