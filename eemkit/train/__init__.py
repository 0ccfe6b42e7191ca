"""Training: the loop, checkpoints and distributed set-up."""
