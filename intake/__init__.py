"""Intake: raw bytes a unit sent turned into typed files, and a unit's submissions into one dossier.

The ground floor above `config`; nothing here judges a file, it only says what it is.
- Raw input: `sources/` (IMAP, Maildir), `mail` (an .eml streamed to disk), `headers`,
  `tnef`, `htmltext`, `links` (large-file links), `filenames`, `sniff` (real types).
- Unpacking: `archive/` (one reader per format on a shared safe base), `source` (an .eml,
  archive, folder or file to a Submission's files), `package` (one submission end to end).
- Reading: `forms/` (registers, forms, summaries, templates), `media/` (photo and video probes).
- Merging (RULES.md "Resubmissions"): `attribution` (which nominee a file is for),
  `register_merge`, `photoset`, `dossier` (build_dossier), `withdrawal`, `unit`, `nominees`,
  `paper` (a mail saying the stamped paper copy is posted).
- `models`: the data handed to the validators.
"""
