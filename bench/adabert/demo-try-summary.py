"""One JSON line per try of bench/adabert/demo-try.sh, from the run's result.json and /usr/bin/time's figures."""
import json
import sys

out, name, wall, user, sys_, flags = sys.argv[1:]
r = json.load(open(out + "/result.json"))
t, s = r["teacher"], r["student"]
print(json.dumps({
    "name": name, "flags": flags, "wall_s": float(wall), "cpu_s": round(float(user) + float(sys_), 1),
    "test": round(100 * s["Test"]["accuracy"], 2), "dev": round(100 * s["Dev"]["accuracy"], 2),
    "of_teacher": round(100 * s["Test"]["accuracy"] / t["Test"]["accuracy"], 1),
    "params": s["Parameters"], "non_embedding": s["NonEmbeddingParameters"],
    "latency_ms": s["LatencyMs"], "teacher_latency_ms": t["LatencyMs"], "speedup": round(t["LatencyMs"] / s["LatencyMs"], 1),
    "genotype": r["genotype_text"], "search_s": round(r["search_seconds"], 1), "retrain_s": round(r["retrain_seconds"], 1),
    "search_steps": r["search_step"]}))
