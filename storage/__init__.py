"""Storage: the only package that talks SQL. The service's state in a database, files in a blob store.

`repo.Store` is opened once per process and holds one repository per aggregate, each its own
module on the shared plumbing of `base` (engine, lock, sessions, audit rows): `raw` (received
mails, the work queue), `submissions` (and their files), `evaluations` (dossier snapshots,
findings, nominees), `outbox`, `directory` (units, contacts, office users), `state` (mailbox
progress, paper copies, key-values, reminders), `audit`, `wecom_files`, `overview`. Beside
them: `tables` (the rows), `models` (shapes that are not rows), `blobs` (content-addressed
files), `db` and `migrate` (engine and schema), `keys` and `passwords` (hashing).
"""
