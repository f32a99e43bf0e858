"""Each feature's mapping between its legacy rows and its clean records (standard library only).

One module per feature, named after it, built from the generic codecs of
`domain.records`. Import-linter keeps Django, SQLAlchemy and the proxy out of this package.
"""
