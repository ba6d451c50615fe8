"""The sheets of the board pack: values only, laid out to print one page wide.

:mod:`~leadbook.workbook.pack.page` holds the page and its print setup,
:mod:`~leadbook.workbook.pack.build` puts the sheets in order, and one module holds each group
of sheets: :mod:`~leadbook.workbook.pack.summary` (cover, KPIs, reconciliation, warning signs,
portfolio), :mod:`~leadbook.workbook.pack.trends`, :mod:`~leadbook.workbook.pack.copied` (the
tabs copied as values) and :mod:`~leadbook.workbook.pack.maturity` (maturity, glossary). The
job that exports the pack is :mod:`leadbook.workbook.jobs.pack`.
"""
