#!/usr/bin/env bash
# How the cost of a cluster run grows with its size (issue 9, "how cost grows"): the 24 h scale
# scenario (benches/scale/24h-1000-nodes.yaml) at 1x, 2x, 4x and 8x — node count, Deployment
# replicas, HPA bounds and request rates all multiplied — each run for DURATION of simulated
# time, timed with /usr/bin/time. Writes OUT/growth.csv and draws OUT/growth-cpu.{svg,png} and
# OUT/growth-rate.{svg,png} with the project's own chart code (example `growth-plot`).
#
#   benches/scale/growth.sh                  # DURATION=2h OUT=target/growth SCALES="1 2 4 8"
#   DURATION=30m SCALES="1 2" benches/scale/growth.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-2h}
OUT=${OUT:-target/growth}
SCALES=${SCALES:-1 2 4 8}
BIN=${CARGO_TARGET_DIR:-target}/release
cargo build --release --bin kubesim --example growth-plot
mkdir -p "$OUT"
echo "scale,nodes,pods,requests,events,user_s,sys_s,wall_s,max_rss_kb,load_1m" > "$OUT/growth.csv"
for k in $SCALES; do
  scenario="$OUT/scale-${k}x.yaml"
  # Multiply the sizes and rates; everything else (timings, incidents) stays as it is.
  awk -v k="$k" '
    /count: 1000,/ { sub(/count: 1000,/, "count: " 1000 * k ",") }
    /^  replicas: [0-9]+$/ { $2 = $2 * k; $0 = "  " $1 " " $2 }
    /^  (min|max)Replicas: [0-9]+$/ { $2 = $2 * k; $0 = "  " $1 " " $2 }
    /rate: [0-9]+\/s/ { match($0, /rate: [0-9]+\/s/); r = substr($0, RSTART + 6, RLENGTH - 8);
                         $0 = substr($0, 1, RSTART - 1) "rate: " r * k "/s" substr($0, RSTART + RLENGTH) }
    { print }' benches/scale/24h-1000-nodes.yaml > "$scenario"
  load=$(cut -d' ' -f1 /proc/loadavg)
  /usr/bin/time -f "%U %S %e %M" -o "$OUT/time-${k}x.txt" \
    "$BIN/kubesim" run "$scenario" --duration "$DURATION" --no-report \
      --out "$OUT/run-${k}x" > "$OUT/run-${k}x.log"
  read -r user sys wall rss < "$OUT/time-${k}x.txt"
  events=$(sed -n 's/.*(\([0-9]*\) events.*/\1/p' "$OUT/run-${k}x.log" | head -1)
  pods=$(sed -n 's/.*"pods.created": \([0-9.]*\).*/\1/p' "$OUT/run-${k}x/summary.json" | head -1)
  requests=$(awk -F': ' '/"traffic\.[^"]*\.requests":/ { s += $2 } END { printf "%d", s }' "$OUT/run-${k}x/summary.json")
  echo "$k,$((1000 * k)),${pods%.0},${requests%.0},$events,$user,$sys,$wall,$rss,$load" | tee -a "$OUT/growth.csv"
done
"$BIN/examples/growth-plot" "$OUT/growth.csv" "$OUT"
