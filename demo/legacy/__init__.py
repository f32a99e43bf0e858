"""Oakridge General's patient access system: the sample legacy monolith Ficus strangles.

It is written the way such systems were: a hand-rolled WSGI dispatcher, hand-written SQL with
UPPER_CASE names, server-rendered HTML and a little plain JavaScript. It knows nothing of Ficus
(an import-linter contract enforces that), so the toolkit has to work around it, not with it.
"""
