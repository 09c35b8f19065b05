"""The desk and its command line: the floor that puts the parts together.

- `desk.py`: the pipeline (a stored raw message becomes a submission, an evaluation and a reply);
  `Desk` also carries the desk's intake and the office's actions, from the two modules beside it:
- `accept.py`: what comes in (sources, `nomdesk ingest`, WeCom files) stored before anything reads
  it, the records the desk writes itself (office files, withdrawals), and the pipeline's wake-up.
- `office.py`: the one home of each office action (paper, attach, assign, withdraw, restore,
  retry) that the CLI, the dashboard and the bot all call.
- `stored.py`: a unit's stored submissions read back in order (WeCom runs merged, renumbered).
- `check.py`: `nomdesk check` offline, and its JSON contract (DESIGN.md).
- `service.py`, `app.py`, `wiring.py`: `nomdesk serve` (sources, pipeline, outbox and scheduler in
  threads; one HTTP port the dashboard plugs into), and the parts built from settings once for
  serve and the CLI alike.
- `cli/`: the `nomdesk` command, by purpose (offline, running, office, reports).
- `exports.py`: the roster and the materials tree for the expert review.
"""
