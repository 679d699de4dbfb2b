"""Check-in rounds: a catalyst asks one question, everyone answers where they are.

`models` holds the tables, `rounds` the logic (opening, answering, closing, reminding),
`commands` the command language and message handlers, `series` recurring rounds, `export` the
CSV/JSON/Markdown files and their download links. `router` wires them into the core.
"""
