#!/usr/bin/env python3
"""For runs of run.sh that did not finish (the shared 2-core machine ran out of time), measures what did finish with
`distil eval`: each finished student (students/<domain>/done.json) on its domain's test rows, and the teacher of that
domain on the same rows. Writes <run>/results-partial.json in the schema of results.json; table.py marks those rows.
BERT-s students may also come from single-tinybert-<domain> runs (the same distillation started per domain:
--domains <domain> --teacher-mode mix --teacher single-tinybert/teacher-<domain>/best, which is BERT-s -> TinyBERT-KD).
Usage: python3 bench/metakd/collect-partial.py OUT_DIR SEED"""
import glob, json, os, subprocess, sys

out, seed = sys.argv[1], sys.argv[2]
distil = os.environ.get("DISTIL", "dotnet run --project src/Distil.Cli -c Release --no-build --").split()
base = os.path.join(out, f"s{seed}")
data_dir = os.path.join(out, "test-by-domain")
os.makedirs(data_dir, exist_ok=True)
lines = open("data/uci-sentiment/test.domain.tsv", encoding="utf-8").read().rstrip("\n").split("\n")
header, rows = lines[0], lines[1:]
col = header.split("\t").index("domain")
for d in sorted({r.split("\t")[col] for r in rows}):
    open(os.path.join(data_dir, f"{d}.tsv"), "w", encoding="utf-8").write("\n".join([header] + [r for r in rows if r.split("\t")[col] == d]) + "\n")

cache = {}
def accuracy(model, domain):
    key = (os.path.abspath(model), domain)
    if key not in cache:
        tmp = os.path.join(data_dir, f"eval-{abs(hash(key))}.json")
        subprocess.run(distil + ["eval", "--model", model, "--data", os.path.join(data_dir, f"{domain}.tsv"), "--max-seq-len", "64",
                                 "--threads", "1", "--metrics-json", tmp], check=True, stdout=subprocess.DEVNULL)
        cache[key] = json.load(open(tmp))["accuracy"]
    return cache[key]

RUNS = {  # run -> (teacher name, teacher folder per domain, student name, student run folders)
    "meta-metakd": ("Meta-teacher", lambda d: f"{base}/meta-metakd/teacher/best", "Meta-teacher → Meta-distillation (Meta-KD)", ["meta-metakd"]),
    "meta-tinybert": ("Meta-teacher", lambda d: f"{base}/meta-metakd/teacher/best", "Meta-teacher → TinyBERT-KD", ["meta-tinybert"]),
    "mix-tinybert": ("BERT-mix", lambda d: os.environ.get("MIX_TEACHER", "/work/teacher-ft"), "BERT-mix → TinyBERT-KD", ["mix-tinybert"]),
    "single-tinybert": ("BERT-s", lambda d: f"{base}/single-tinybert/teacher-{d}/best", "BERT-s → TinyBERT-KD",
                        ["single-tinybert", "single-tinybert-amazon", "single-tinybert-imdb", "single-tinybert-yelp"]),
    "zs-imdb-meta-metakd": ("Meta-teacher", lambda d: f"{base}/zs-imdb-meta-metakd/teacher/best", "Meta-teacher → Meta-distillation (Meta-KD)", ["zs-imdb-meta-metakd"]),
    "zs-imdb-mix-tinybert": ("BERT-mix", lambda d: f"{base}/zs-imdb-mix-tinybert/teacher/best", "BERT-mix → TinyBERT-KD", ["zs-imdb-mix-tinybert"]),
}
for run, (tname, tdir, sname, sources) in RUNS.items():
    if os.path.exists(os.path.join(base, run, "results.json")): continue
    students = {}
    for src in sources:
        for done in glob.glob(os.path.join(base, src, "students", "*", "done.json")):
            d = os.path.basename(os.path.dirname(done))
            students.setdefault(d, (os.path.join(os.path.dirname(done), "best"), json.load(open(done))["seconds"]))
    if not students: continue
    domains = sorted(students)
    teacher = {d: accuracy(tdir(d), d) for d in domains if os.path.isdir(tdir(d))}
    student = {d: accuracy(students[d][0], d) for d in domains}
    result = {"Domains": domains, "Partial": True,
              "Teacher": {"Name": tname, "Kind": "teacher", "Accuracy": teacher, "Seconds": 0},
              "Student": {"Name": sname, "Kind": "student", "Accuracy": student, "Seconds": sum(s for _, s in students.values())},
              "Settings": {"seed": int(seed)}, "Labels": {"teacher_mode": run.split("-")[0], "teacher_source": tdir(domains[0]), "distill": run.split("-")[-1]},
              "TotalSeconds": 0}
    json.dump(result, open(os.path.join(base, run, "results-partial.json"), "w"), indent=1, ensure_ascii=False)
    print(run, "teacher", teacher, "student", student)
