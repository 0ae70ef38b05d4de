"""The raw table ingest writes (data/raw/dataset.parquet) and validate reads: the source's
rows as they are, plus what the source could not read, carried in the frame's attrs
(pandas keeps attrs in the Parquet file). Apart from the sources, so that a change in how
a source reads reruns ingest, and validate only if the table changes."""

READ_PROBLEMS = "shipyard_read_problems"  # [{"column", "check", "rows", "detail"}]
FILE = "<file>"  # the column name for problems with the file as a whole
