"""The monitoring loop: drift of logged requests from the training rows (drift.py, pure
statistics; report.py, `shipyard monitor`). Feedback, decisions and the retraining pull
request come next."""
