#!/usr/bin/env bash
# The robust-recipe runs of issue 12 as two queues, one per core (one thread each), for a 2-core machine whose
# sessions end: start both, stop them with Ctrl-C / SIGTERM (each run saves a resumable checkpoint), start them
# again in the next session. A finished run is skipped and an interrupted one resumes
# (benchmarks/reproduce_ferplus.sh), so each queue picks up where it stopped.
#
#   nohup bash benchmarks/queue_robust.sh a > runs/queue-a.log 2>&1 &
#   nohup bash benchmarks/queue_robust.sh b > runs/queue-b.log 2>&1 &
#
# Queue a: the KTN teacher, then the short comparison of cached and online (INT8 ONNX Runtime) teaching, then
# the seed-0 short-schedule ablations. Queue b: the students without a teacher (the baselines), then the seed-1
# ablations. None of the ablations needs a teacher, so they fill the cores while the baselines finish.
# The distilled students are started by hand once the teacher and both baselines have finished: robust-s0 |
# robust-s1 if the KTN alone leads the baseline by 1.5 points (benchmarks/robust_results.py), else the ensemble
# teacher (targets-ensemble: the KTN and the seed-0 baseline; `eemkit train targets --score-only` shows its lead
# first) and robust-ens-s0 | robust-ens-s1; then robust-small. Stop the queues (Ctrl-C) to free the cores.
set -euo pipefail
QUEUE=${1:?usage: queue_robust.sh a|b [DATA]}
DATA=${2:-${EEMKIT_DATA:-../shared/data/ferplus}}
case "$QUEUE" in
  a) LANES="teacher-robust distill-mode-s0 ablation-student-s0 adareg-weight-s0 recipe-items-s0" ;;
  b) LANES="robust-nodistill-s0 robust-nodistill-s1 ablation-student-s1 adareg-weight-s1 recipe-items-s1" ;;
  *) echo "queue must be a or b, got $QUEUE" >&2; exit 2 ;;
esac
for lane in $LANES; do
  echo "== $(date -u +%FT%TZ) lane $lane"
  THREADS=1 bash "$(dirname "$0")/reproduce_ferplus.sh" "$DATA" "$lane"
done
echo "== $(date -u +%FT%TZ) queue $QUEUE done"
