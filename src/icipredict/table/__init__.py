"""The patient-table contract: columns, units, ranges, aliases, vocabularies, display names, checks.

- :mod:`~icipredict.table.vocab`: the controlled vocabularies and cut-offs (one place for each);
- :mod:`~icipredict.table.columns`: the column definitions (:data:`~icipredict.table.columns.COLUMNS`);
- :mod:`~icipredict.table.column_names`: header aliases read as canonical columns;
- :mod:`~icipredict.table.labels`: display names and value labels (the one table of display names);
- :mod:`~icipredict.table.values`, :mod:`~icipredict.table.schema`, :mod:`~icipredict.table.checks`:
  one column's cells, a whole table, and the checks over every chunk of a streamed table.

Layer 2 of docs/architecture.md: may import :mod:`icipredict.exceptions` only.
"""
