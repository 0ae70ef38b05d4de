"""The pipeline: pure functions the stages (shipyard.stages) call, and the bundle that is
its contract with serving."""
