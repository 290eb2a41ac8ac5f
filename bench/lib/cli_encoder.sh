# Sourced by bench scripts that run the built CLI on the pre-trained MiniLM encoder (bench/tasks.sh, bench/gloss-pairs.sh,
# bench/gloss-metakd.sh): checks DISTIL (the CLI binary) and imports ENCODER when it is missing.
DISTIL=${DISTIL:-src/Distil.Cli/bin/Release/net10.0/linux-x64/Distil.Cli}
[ -x "$DISTIL" ] || { echo "no CLI at $DISTIL: run 'dotnet build -c Release' first (or set DISTIL)"; exit 2; }
ENCODER=${ENCODER:-runs/bench-teacher/encoder}
[ -f "$ENCODER/config.json" ] || dotnet run --project bench/Distil.Bench -c Release -- import-minilm "$ENCODER" >&2
