#!/bin/bash
# usage (from your worktree): bash benchmarks/own_act_count.sh TAG  -> instructions per own-act step
# (callgrind, 10 runs vs 50 runs of 20 acts, a new script each run; the difference / 800 steps; ±3 k)
TAG=$1; OUT=/tmp/cg.$TAG; mkdir -p $OUT
PY=${PYTHON:-python}
for n in 10 50; do
  PYTHONHASHSEED=0 PYTHONPATH=core:builtin_plugins setarch -R valgrind --tool=callgrind --callgrind-out-file=$OUT/$n.cg $PY benchmarks/own_act_loop.py $n new >/dev/null 2>$OUT/$n.err &
done
wait
a=$(grep -m1 '^summary\|^totals' $OUT/10.cg | awk '{print $2}')
b=$(grep -m1 '^summary\|^totals' $OUT/50.cg | awk '{print $2}')
echo "$TAG per step: $(( (b - a) / 800 ))"
