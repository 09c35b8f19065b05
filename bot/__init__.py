"""The WeCom application (floor beside `notify`): contacts ask and send files, the office acts.

- `crypto.py`: WeCom's callback signature and AES scheme (checked against Tencent's vectors).
- `callback.py`: the callback endpoint: every request's signature checked, answered within WeCom's
  five seconds, slow work handed to the desk.
- `answers.py`, `commands.py`: what a contact's message means and the Chinese answer (status of
  their own unit's dossier only, withdrawals after a confirmation, office commands).
- `files.py`, `token_store.py`, `wecom_client.py`: files sent to the app, the access token kept in the
  store, and the WeCom HTTP API (wechatpy) with its pitfalls handled.
"""
