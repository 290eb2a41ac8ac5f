#!/usr/bin/env bash
# Cluster mode on one machine: throughput of `distil digest` with 1, 2 and 3 workers of 1 thread each against the
# local run, the coordination cost per item (cluster time per item with 1 worker minus local time per item), and
# fault runs (kill -9 a worker, kill -9 the submitter and resubmit, stop Redis for 5 s), each compared byte for byte
# with the local output. Usage: bench/cluster.sh [ITEMS] [ROUNDS]   (writes bench/results/cluster.md)
set -euo pipefail
cd "$(dirname "$0")/.."
ITEMS=${1:-24}; ROUNDS=${2:-150000}
dotnet build src/Distil.Cli -c Release -v q >/dev/null
CLI=(dotnet src/Distil.Cli/bin/Release/net10.0/linux-x64/Distil.Cli.dll)
W=$(mktemp -d); PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$W"; }
trap cleanup EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL=redis://127.0.0.1:$PORT
redis() { redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$W" >/dev/null & RPID=$!; PIDS+=($RPID); sleep 0.5; }
workers() { for i in $(seq "$1"); do "${CLI[@]}" worker --cluster "$URL" >"$W/w$i.log" 2>&1 & PIDS+=($!); done; }
stopall() { for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done; PIDS=(); sleep 1; }
seq 1 "$ITEMS" | sed 's/^/row /' >"$W/lines.txt"
now() { date +%s.%N; }
t0=$(now); "${CLI[@]}" digest --data "$W/lines.txt" --out "$W/local.bin" --lines-per-item 1 --rounds "$ROUNDS" >/dev/null; t1=$(now)
LOCAL=$(echo "$t1 - $t0" | bc)
source bench/lib/machine.sh
OUT=bench/results/cluster.md
{
  machine_header; echo
  echo "# Cluster mode on one machine (bench/cluster.sh $ITEMS $ROUNDS)"
  echo; echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs), $(nproc) cores (shared with other jobs)."
  echo "Times include process start and cluster join of the submitter (~seconds); $ITEMS items of one line, $ROUNDS SHA-256 rounds each."
  echo; echo "| run | seconds | items/s | output equals local |"; echo "|---|---|---|---|"
  echo "| local (no cluster) | $LOCAL | $(echo "scale=2; $ITEMS / $LOCAL" | bc) | - |"
} >"$OUT"
for n in 1 2 3; do
  redis; workers "$n"; sleep 3
  t0=$(now); "${CLI[@]}" digest --data "$W/lines.txt" --out "$W/c$n.bin" --lines-per-item 1 --rounds "$ROUNDS" --cluster "$URL" --job "tp$n" >"$W/s$n.log"; t1=$(now)
  T=$(echo "$t1 - $t0" | bc); SAME=$(cmp -s "$W/local.bin" "$W/c$n.bin" && echo yes || echo NO)
  echo "| $n worker(s) x 1 thread | $T | $(echo "scale=2; $ITEMS / $T" | bc) | $SAME |" >>"$OUT"
  [ "$n" = 1 ] && OVER=$(echo "scale=1; 1000 * ($T - $LOCAL) / $ITEMS" | bc)
  stopall
done
echo; echo "Coordination cost per item with 1 worker (cluster minus local, incl. submitter start): ${OVER} ms" >>"$OUT"
{ echo; echo "| fault | result | output equals local |"; echo "|---|---|---|"; } >>"$OUT"
# kill -9 a worker once it has committed an item
redis; workers 3; sleep 3
"${CLI[@]}" digest --data "$W/lines.txt" --out "$W/f1.bin" --lines-per-item 1 --rounds "$ROUNDS" --cluster "$URL" --job f1 --lease-seconds 3 >"$W/f1.log" & S=$!
until grep -q committed "$W/w1.log"; do sleep 0.2; done; kill -9 "${PIDS[1]}"
wait $S; echo "| kill -9 a worker mid-job | $(grep -o 'committed [0-9]* of.*' "$W/f1.log") | $(cmp -s "$W/local.bin" "$W/f1.bin" && echo yes || echo NO) |" >>"$OUT"
stopall
# kill -9 the submitter, then resubmit
redis; workers 2; sleep 3
"${CLI[@]}" digest --data "$W/lines.txt" --out "$W/f2.bin" --lines-per-item 1 --rounds "$ROUNDS" --cluster "$URL" --job f2 >"$W/f2a.log" & S=$!
until grep -q "progress [1-9]" "$W/f2a.log"; do sleep 0.2; done; kill -9 $S; sleep 2
"${CLI[@]}" digest --data "$W/lines.txt" --out "$W/f2.bin" --lines-per-item 1 --rounds "$ROUNDS" --cluster "$URL" --job f2 >"$W/f2b.log"
echo "| kill -9 the submitter, resubmit | $(grep -o 'committed [0-9]* of.*' "$W/f2b.log") | $(cmp -s "$W/local.bin" "$W/f2.bin" && echo yes || echo NO) |" >>"$OUT"
stopall
# stop Redis for 5 s mid-job (SIGSTOP, so its memory, the job state, stays)
redis; workers 2; sleep 3
"${CLI[@]}" digest --data "$W/lines.txt" --out "$W/f3.bin" --lines-per-item 1 --rounds "$ROUNDS" --cluster "$URL" --job f3 >"$W/f3.log" & S=$!
until grep -q "progress [1-9]" "$W/f3.log"; do sleep 0.2; done; kill -STOP "$RPID"; sleep 5; kill -CONT "$RPID"
wait $S; echo "| Redis stopped 5 s mid-job | $(grep -o 'committed [0-9]* of.*' "$W/f3.log") | $(cmp -s "$W/local.bin" "$W/f3.bin" && echo yes || echo NO) |" >>"$OUT"
cat "$OUT"
