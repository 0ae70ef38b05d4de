"""The monitoring loop (prediction logs, feedback, drift, retraining decisions): its home,
to be filled by the monitoring work."""
