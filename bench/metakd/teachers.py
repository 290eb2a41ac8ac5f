#!/usr/bin/env python3
"""Teacher rows on the whole test file (all three domains), from `distil eval --metrics-json` of each teacher:
  for t in meta:RUN/meta-metakd/teacher/best mix:/work/teacher-ft s-amazon:RUN/single-tinybert/teacher-amazon/best \
           s-imdb:RUN/single-tinybert/teacher-imdb/best zs-meta:RUN/zs-imdb-meta-metakd/teacher/best; do
    distil eval --model ${t#*:} --data data/uci-sentiment/test.domain.tsv --max-seq-len 64 --threads 1 --metrics-json runs/metakd/teacher-eval/${t%%:*}.json; done
Usage: python3 bench/metakd/teachers.py runs/metakd/teacher-eval  (prints a markdown table)"""
import json, os, sys
d = sys.argv[1]
names = {"meta": "Meta-teacher (prototype weights + domain corruption, all 3 domains)", "mix": "BERT-mix (/work/teacher-ft, all 3 domains)",
         "s-amazon": "BERT-s amazon (amazon only)", "s-imdb": "BERT-s imdb (imdb only)", "zs-meta": "Meta-teacher without imdb (1 epoch, amazon + yelp)"}
print("| Teacher | amazon | imdb | yelp | all |\n|---|---|---|---|---|")
for k, label in names.items():
    p = os.path.join(d, k + ".json")
    if not os.path.exists(p): continue
    m = json.load(open(p))
    print(f"| {label} | " + " | ".join(f"{100*m[f'accuracy_{x}']:.1f}" for x in ("amazon", "imdb", "yelp")) + f" | {100*m['accuracy']:.1f} |")
