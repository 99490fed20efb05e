import json, subprocess, sys, itertools
store = sys.argv[1]
T1, T2 = 1747944000, 1747947600
BOX = "41.911122,-71.665630,42.809434,-70.449926"
queries = []
for op in ["intersects", "within", "starts-in", "ends-in"]:
    for win in [(T1, T2), (T1 + 7, T1 + 100), (T1 - 86400, T2 + 3600), (T2 - 5, T2)]:
        for sp in [[], ["--crosses", "--bbox", BOX], ["--within-box", "--bbox", BOX], ["--crosses", "--bbox", BOX, "--min-alt", "1000", "--max-alt", "30000"]]:
            for fw in [[], ["--filter-waypoints"]]:
                for meta in [[], ["--callsign", "DAL*"], ["--orig", "kbos"]]:
                    queries.append(["--from", str(win[0]), "--to", str(win[1]), "--time", op] + sp + fw + meta)
bad = 0
for q in queries:
    t = json.loads(subprocess.run(["/work/main/target/release/tessera", "traj", "query", "--store", store, "--json"] + q + sys.argv[2:], capture_output=True, text=True, check=True).stdout)
    f = json.loads(subprocess.run(["/tmp/feder-venv/bin/python", "/work/main/scripts/feder_query.py", "--store", store, "--json"] + q, capture_output=True, text=True, check=True).stdout)
    def norm(tr):
        out = {}
        for x in tr:
            pts, seen = [], set()
            for p in x["points"]:
                if p[0] in seen: continue
                seen.add(p[0]); pts.append(p)
            if pts: out[x["source_id"]] = (x["callsign"], x["orig"], x["dest"], pts)
        return out
    a, b = norm(t["trajectories"]), norm(f["trajectories"])
    if a != b:
        bad += 1
        print("DIFF", " ".join(q), "tessera-only", sorted(set(a) - set(b)), "feder-only", sorted(set(b) - set(a)), "differing", [k for k in set(a) & set(b) if a[k] != b[k]])
print(len(queries), "queries", bad, "differ")
