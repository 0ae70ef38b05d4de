"""Performance workarounds over private APIs of BentoML, dvclive and scikit-learn. Each is
guarded: a test fails when the private code it relies on changes (bentoml_fixes also
checks at run time, and stands down on a BentoML it was not written against)."""
