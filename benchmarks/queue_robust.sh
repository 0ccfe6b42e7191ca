#!/usr/bin/env bash
# The robust-recipe runs of issue 12 as two queues, one per core (one thread each), for a 2-core machine whose
# sessions end: start both, stop them with Ctrl-C / SIGTERM (each run saves a resumable checkpoint), start them
# again in the next session. A finished run is skipped and an interrupted one resumes
# (benchmarks/reproduce_ferplus.sh), so each queue picks up where it stopped.
#
#   nohup bash benchmarks/queue_robust.sh a > runs/queue-a.log 2>&1 &
#   nohup bash benchmarks/queue_robust.sh b > runs/queue-b.log 2>&1 &
#
# Queue a: the KTN teacher, the ensemble teacher's targets (the KTN and the seed-0 baseline: the KTN alone does
# not lead the ResNet-18 baseline by the 1.5 points issue 12 asks, benchmarks/README.md 7.5), the small students
# without a teacher, the seed-0 ResNet-18 distilled from the ensemble, then the seed-0 Table III ablation, AdaReg
# weights and recipe items, and the comparison of cached and online (INT8 ONNX Runtime) teaching. Queue b: the
# ResNet-18 baselines without a teacher, the small students distilled from the ensemble, the seed-1 distilled
# ResNet-18, then the seed-1 ablations. ShuffleNet v2 x2.0 (x1.0 stayed 4.7 points below the ResNet-18 with its
# teacher) runs distilled in queue a before the ablations, and without a teacher last in queue b (the x2.0 baseline
# answers no target of issue 12). Table III runs 12 epochs (ferplus-table3-student: 8 stayed under 80 % on test);
# the recipe items and distill-mode keep the 8-epoch schedule of their cf-ce baselines (ferplus-ablation-student).
# Priority follows issue 12's targets: the distillation comparisons first (small students first: a teacher at the
# ResNet-18's accuracy can lead them by 1.5 points), then the ablations.
# Each queue needs lane targets-ensemble's file before its distilled lanes: start queue b after queue a has made it.
set -euo pipefail
QUEUE=${1:?usage: queue_robust.sh a|b [DATA]}
DATA=${2:-${EEMKIT_DATA:-../shared/data/ferplus}}
case "$QUEUE" in
  a) LANES="teacher-robust targets-ensemble robust-small-nodistill robust-ens-s0 robust-small-x2 table3-s0 adareg-weight-s0 recipe-items-s0 distill-mode-s0" ;;
  b) LANES="robust-nodistill-s0 robust-nodistill-s1 robust-small robust-ens-s1 table3-s1 adareg-weight-s1 recipe-items-s1 robust-small-x2-nodistill" ;;
  *) echo "queue must be a or b, got $QUEUE" >&2; exit 2 ;;
esac
for lane in $LANES; do
  echo "== $(date -u +%FT%TZ) lane $lane"
  THREADS=1 bash "$(dirname "$0")/reproduce_ferplus.sh" "$DATA" "$lane"
done
echo "== $(date -u +%FT%TZ) queue $QUEUE done"
