"""Risk: the assessment tool, assessments, missing episodes, events, flag rules, language."""
