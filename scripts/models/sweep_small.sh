#!/usr/bin/env bash
# Hyper-parameter sweep for headlight-small: trains variants side by side (on a GPU a few minutes for all; on
# 2 CPU cores, hours) and prints each one's scores every 500 steps. This picked the committed recipe's settings
# (build-all.sh); the bundled model comes from train_small.py run with those settings.
# usage: MINUTES=8 bash sweep_small.sh   (work/sweep-*.out, work/sweep-*-log.json)
set -uo pipefail
cd "$(dirname "$0")"
PY=${PY:-/usr/bin/python3}
export PYTHONUNBUFFERED=1 OPENBLAS_NUM_THREADS=1
#  name        env                                                     steps
VARIANTS=(
  "ord256      PMAX=0"                                                  8000
  "ord128      SHORT_UNTIL=99999 PMAX=63"                               8000
  "low128      LOW_IDS=512 LOW_UNTIL=2500 SHORT_UNTIL=99999 PMAX=63"    5000
  "low256      LOW_IDS=512 LOW_UNTIL=2500 PMAX=63"                      5000
  "ord256a50   AUG=0.5 PMAX=63"                                         8000
  "ord128a50   AUG=0.5 SHORT_UNTIL=99999 PMAX=63"                       5000
  "lowmix      AUG=0.5 LOW_IDS=512 LOW_UNTIL=2000 SHORT_UNTIL=2500 PMAX=63" 4000
  "lowmixh8    HEADS=8 AUG=0.5 LOW_IDS=512 LOW_UNTIL=2000 SHORT_UNTIL=2500 PMAX=63" 4000
)
for ((i = 0; i < ${#VARIANTS[@]}; i += 2)); do
  read -r name envs <<< "${VARIANTS[i]}"
  rm -rf "work/sweep-$name-ckpt"
  env RUN="sweep-$name" $envs $PY train_small.py "${MINUTES:-8}" "${VARIANTS[i+1]}" > "work/sweep-$name.out" 2>&1 &
done
wait
for ((i = 0; i < ${#VARIANTS[@]}; i += 2)); do
  read -r name envs <<< "${VARIANTS[i]}"
  echo "== $name: $envs"; grep '"step"' "work/sweep-$name.out" | awk 'NR % 5 == 1' | cut -c1-150; tail -1 "work/sweep-$name.out"
done
