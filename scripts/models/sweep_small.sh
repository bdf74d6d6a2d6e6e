#!/usr/bin/env bash
# Hyper-parameter sweep for headlight-small: trains variants side by side (on a GPU a few minutes for all; on
# 2 CPU cores, hours) and prints each one's scores every 500 steps. This picked the committed recipe (train_small.py's
# defaults); the bundled model comes from train_small.py run with them (device_small.sh, build-all.sh).
# usage: MINUTES=8 bash sweep_small.sh   (work/sweep-*.out, work/sweep-*-log.json)
set -uo pipefail
cd "$(dirname "$0")"
PY=${PY:-/usr/bin/python3}
export PYTHONUNBUFFERED=1 OPENBLAS_NUM_THREADS=1
# Each variant starts from OFF (train_small.py's staging switched off: repeats of every ordinary id on CTX-long
# windows from step 0, a quarter of the rows) and changes what its env says.
OFF="AUG=0.25 AUG_LONG=0.25 LOW_IDS=0 LOW_UNTIL=0 SHORT_UNTIL=0"
#  name        env                                                     steps
VARIANTS=(
  "ord256      $OFF PMAX=0"                                                  8000
  "ord128      $OFF SHORT_UNTIL=99999 PMAX=63"                               8000
  "low128      $OFF LOW_IDS=512 LOW_UNTIL=2500 SHORT_UNTIL=99999 PMAX=63"    5000
  "low256      $OFF LOW_IDS=512 LOW_UNTIL=2500 PMAX=63"                      5000
  "ord256a50   $OFF AUG=0.5 AUG_LONG=0.5 PMAX=63"                            8000
  "ord128a50   $OFF AUG=0.5 SHORT_UNTIL=99999 PMAX=63"                       5000
  "lowmix      $OFF AUG=0.5 AUG_LONG=0.5 LOW_IDS=512 LOW_UNTIL=2000 SHORT_UNTIL=2500 PMAX=63" 4000
  "lowmixh8    $OFF HEADS=8 AUG=0.5 AUG_LONG=0.5 LOW_IDS=512 LOW_UNTIL=2000 SHORT_UNTIL=2500 PMAX=63" 4000
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
