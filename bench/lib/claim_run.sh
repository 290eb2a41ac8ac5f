# Sourced by bench scripts that several copies may run at once (bench/tasks.sh, bench/gloss-pairs.sh, bench/gloss-metakd.sh).
# run NAME OUT COMMAND...: runs COMMAND --out OUT > OUT.log (its wall seconds in OUT.seconds) unless OUT/result.json
# exists. Several copies of a script may run at once (e.g. one per seed, to use both cores): a run is claimed by creating OUT.lock (holding the claimer's pid); another copy that meets a claimed run
# waits for its result.json, or takes it over when the claimer is gone. With SKIP_CLAIMED=1 a copy skips a run that a live
# copy holds and goes on to its next one (copies with the same SEEDS and METHODS then never wait on each other).
# An unfinished run (no result.json, but a finished stage or a checkpoint: the copy was killed, the machine went away) is
# continued with --resume from its finished stages and last checkpoint; FRESH=1 deletes it and starts over instead.
# With ARCHIVE set (and WORK, the folder OUT lies under), a finished run's result.json and OUT.seconds are copied to the
# same place under ARCHIVE, a folder the repository keeps: runs/ is gone on a fresh checkout, the tables need not be.
archive_run() { # out folder
  [ -n "${ARCHIVE:-}" ] || return 0
  local rel=${1#"$WORK"/}
  [ "$rel" != "$1" ] || { echo "archive_run: $1 is not under WORK=$WORK" >&2; exit 2; }
  mkdir -p "$ARCHIVE/$rel"
  cp "$1/result.json" "$ARCHIVE/$rel/result.json.tmp" && mv "$ARCHIVE/$rel/result.json.tmp" "$ARCHIVE/$rel/result.json"
  if [ -f "$1.seconds" ]; then cp "$1.seconds" "$ARCHIVE/$rel.seconds"; fi
}
run() { # name, out folder, command...
  local name=$1 out=$2; shift 2
  mkdir -p "$(dirname "$out")"
  while :; do
    if [ -f "$out/result.json" ]; then echo "== $name: done ($out)"; archive_run "$out"; return; fi
    if mkdir "$out.lock" 2>/dev/null; then echo $$ > "$out.lock/pid"; break; fi
    local owner; owner=$(cat "$out.lock/pid" 2>/dev/null || true)
    if [ -n "$owner" ] && ! kill -0 "$owner" 2>/dev/null; then rm -rf "$out.lock"; continue; fi
    if [ -n "${SKIP_CLAIMED:-}" ]; then echo "== $name: claimed by process $owner, skipped"; return; fi
    sleep 20
  done
  local resume=() start; start=$(date +%s)
  # Something to go on from: a finished stage (done.json) or a checkpoint. A command without stages (baseline) starts over.
  if [ -z "${FRESH:-}" ] && [ -f "$out/config.resolved.json" ] && [ -n "$(find "$out" \( -name done.json -o -name checkpoints \) -print -quit)" ]; then
    resume=(--resume); echo "== $name: continues the unfinished run in $out"
    # OUT.seconds counts every part: the interrupted one ran from OUT.started to its log's last write.
    if [ -f "$out.started" ] && [ -f "$out.log" ]; then start=$(( start - ($(stat -c %Y "$out.log") - $(cat "$out.started")) )); fi
    [ -f "$out.log" ] && mv "$out.log" "$out.log.$(date +%s)" # the interrupted part's log, kept beside
  else
    rm -rf "$out"; echo "== $name"
  fi
  echo "$start" > "$out.started"
  "$@" --out "$out" "${resume[@]}" > "$out.log" 2>&1 || { echo "$name failed: see $out.log" >&2; tail -20 "$out.log" >&2; rm -rf "$out.lock"; exit 1; }
  echo $(( $(date +%s) - start )) > "$out.seconds"
  rm -f "$out.started" # only an unfinished run needs its start
  archive_run "$out"
  rm -rf "$out.lock"
}
