"""Questionnaire templates: items, options and the rules that grade a result."""
