"""Performance workarounds over private APIs of BentoML, dvclive and scikit-learn. Each is
guarded: it checks the version or behaviour it relies on, and a test fails when that
changes."""
