"""Reading the forms units fill in: what a document file is and what its fields say.

- `document`: the entry point: a file is a register, a form or a work summary (content decides).
- `register`: 附表2 / 附表4, the registration tables, found by their header labels.
- `word`: 附表1 / 附表3, the Word forms, read as label and value cells.
- `summary`: work summaries (工作总结), their text and length.
- `fields`: the four forms' fields, one list the readers, the validators and the templates share.
- `grid`, `values`: spreadsheets and Word tables as grids of cells; cell values as typed.
- `convert`: legacy .doc/.wps/.rtf/.odt/.ods converted with LibreOffice, when installed (a package's at once).
- `templates`: the blank forms the office publishes (`nomdesk templates`).
"""
