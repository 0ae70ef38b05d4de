"""The BentoML model service. It depends only on a bundle (models/bundle/ or the store)."""
