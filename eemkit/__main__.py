"""`python -m eemkit ...` (also what torchrun runs: `torchrun --nproc_per_node N -m eemkit train ...`)."""

from eemkit.cli import main

main()
