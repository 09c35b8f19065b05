"""The desk and its command line: the floor that puts the parts together.

- `desk.py`: the pipeline (a stored raw message becomes a submission, an evaluation and a reply) and
  the one home of each office action (paper, attach, assign, withdraw, restore, retry) that the CLI,
  the dashboard and the bot all call.
- `check.py`: `nomdesk check` offline, and its JSON contract (DESIGN.md).
- `service.py`, `app.py`, `wiring.py`: `nomdesk serve` (sources, pipeline, outbox and scheduler in
  threads; one HTTP port), and the parts built from settings once for serve and the CLI.
- `cli/`: the `nomdesk` command, by purpose (offline, running, office, reports).
- `exports.py`: the roster and the materials tree for the expert review.
"""
