#!/usr/bin/env python3
"""Alternated rounds of JetSharp's collapsed bench cases and torch-jet's collapsed peer, with ratios.

Each round runs, one after the other, `jetsharp_collapsed.cs` (the bench's cases, collapsed strategy only) and
`torchjet_extra.py` (torch-jet collapsed, same operators, networks and grids). Per case and side it reports the
minimum and the median over rounds of the slope (ms per datum, or per sample for the stochastic biharmonic; each
slope is fitted to the per-point minima over repeats, as both harnesses do) and JetSharp / torch-jet of the minima
and of the medians (issue 23's target: ≤ 0.85), and the "envelope" slopes: each grid point's minimum over all
rounds, then the least-squares slope (robust to a load burst hitting one point of one round). Run from the repository root, one command per dtype:

    python3 tools/peers/compare.py --dtype float32 --rounds 3
    python3 tools/peers/compare.py --dtype float64 --rounds 3

The torch-jet side runs with the environment of /work/shared/peers/README.md (OpenBLAS OpenMP build with its
AVX-512 kernels, glibc malloc thresholds that keep freed memory mapped, 2 threads, no_grad). Its validation runs in
the first round only, with the cross-check on JetSharp's own network, σ and points (export_case.cs). Paths: --torchjet-dir, --openblas (or TORCHJET_DIR, OB).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CASES = {  # bench key -> (peer op, peer case)
    "weighted-laplacian-r50": ("weighted_laplacian", {"rank": 50}),
    "weighted-laplacian-r25": ("weighted_laplacian", {"rank": 25}),
    "weighted-laplacian-r5": ("weighted_laplacian", {"rank": 5}),
    "stochastic-biharmonic": ("bilaplacian_stochastic", {"N": 256}),
}


def run_jetsharp(dtype, repeats, keys, build, threads):
    cmd = ["dotnet", "run", "-c", "Release"] + ([] if build else ["--no-build"]) + [
        os.path.join(HERE, "jetsharp_collapsed.cs"), "--", dtype, str(repeats), ",".join(keys)]
    env = dict(os.environ, DOTNET_PROCESSOR_COUNT=str(threads))  # JetSharp's GEMM and kernels use ProcessorCount
    out = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True, env=env).stdout
    return {r["key"]: (r["msPerUnit"], {p["x"]: p["seconds"] for p in r["points"]})
            for r in json.loads(out.strip().splitlines()[-1])}


def export_case(directory):
    """JetSharp's network, σ, points and weighted-Laplacian values for the peer's cross-check (export_case.cs)."""
    subprocess.run(["dotnet", "run", "-c", "Release", os.path.join(HERE, "export_case.cs"), "--", directory],
                   cwd=ROOT, check=True, capture_output=True, text=True)


def run_torchjet(args, keys, validate):
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="4294967296", MALLOC_TRIM_THRESHOLD_="68719476736",
               MALLOC_TOP_PAD_="1073741824", LD_LIBRARY_PATH=args.openblas, OPENBLAS_CORETYPE="SkylakeX",
               OMP_NUM_THREADS=str(args.threads))
    ops = sorted({CASES[k][0] for k in keys})
    ranks = [str(CASES[k][1]["rank"]) for k in keys if "rank" in CASES[k][1]]
    with tempfile.NamedTemporaryFile(suffix=".json") as fh:
        cmd = ["/usr/bin/python3", os.path.join(HERE, "torchjet_extra.py"), "--dtype", args.dtype,
               "--threads", str(args.threads), "--nondifferentiable", "--torchjet-dir", args.torchjet_dir,
               "--ops", ",".join(ops), "--ranks", ",".join(ranks) or "50", "--json-out", fh.name]
        with tempfile.TemporaryDirectory() as case:
            if validate:
                export_case(case)
                cmd += ["--check-jetsharp", case]
            else:
                cmd.append("--skip-validation")
            subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
        res = json.load(open(fh.name))
    out = {}
    for k in keys:
        op, case = CASES[k]
        slope = next(s["min"] for s in res["slopes"] if s["op"] == op and s["case"] == case)
        runs = [r for r in res["runs"] if r["op"] == op and r.get("rank") == case.get("rank")]
        out[k] = (slope, {r["samples"] if "samples" in r else r["N"]: r["min_s"] for r in runs})
    return out


def envelope_slope(points):
    """ms per unit: the slope of each grid point's minimum over all rounds (less sensitive to load bursts)."""
    xs = sorted(points[0])
    ys = [min(p[x] for p in points) for x in xs]
    n, mx, my = len(xs), sum(xs) / len(xs), sum(ys) / len(ys)
    return 1e3 * sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)



def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--repeats", type=int, default=5, help="JetSharp timed runs per grid point")
    p.add_argument("--only", default=",".join(CASES), help="bench keys")
    p.add_argument("--torchjet-dir", default=os.environ.get("TORCHJET_DIR", "/work/peerenv/torchjet"))
    p.add_argument("--openblas", default=os.environ.get(
        "OB", "/work/peerenv/ob/usr/lib/x86_64-linux-gnu/openblas-openmp"))
    p.add_argument("--threads", type=int, default=2,
                   help="threads of both sides (2: the target's setting; 1: a diagnostic that is less hurt by "
                        "other processes on the cores than OpenMP's barriers are)")
    p.add_argument("--skip-validation", action="store_true")
    p.add_argument("--json-out", default=None)
    args = p.parse_args()
    keys = args.only.split(",")
    js, tj = {k: [] for k in keys}, {k: [] for k in keys}
    jsp, tjp = {k: [] for k in keys}, {k: [] for k in keys}  # per-point minima of each round
    for r in range(args.rounds):
        for k, (v, pts) in run_jetsharp(args.dtype, args.repeats, keys, r == 0, args.threads).items():
            js[k].append(v)
            jsp[k].append(pts)
        for k, (v, pts) in run_torchjet(args, keys, validate=r == 0 and not args.skip_validation).items():
            tj[k].append(v)
            tjp[k].append(pts)
        print(f"round {r + 1}: " + "; ".join(f"{k} {js[k][-1]:.4f} / {tj[k][-1]:.4f}" for k in keys),
              file=sys.stderr, flush=True)
    rows = []
    print(f"| case ({args.dtype}, {args.threads} threads, {args.rounds} rounds) | JetSharp min / median | torch-jet min / median "
          "| ratio of mins | ratio of medians | envelope slopes (ratio) |")
    print("|---|---|---|---|---|---|")
    for k in keys:
        unit = "ms/sample" if k == "stochastic-biharmonic" else "ms/datum"
        a, b = (min(js[k]), statistics.median(js[k])), (min(tj[k]), statistics.median(tj[k]))
        ea, eb = envelope_slope(jsp[k]), envelope_slope(tjp[k])
        rows.append({"case": k, "unit": unit, "jetsharp": js[k], "torchjet": tj[k],
                     "ratio_min": a[0] / b[0], "ratio_median": a[1] / b[1],
                     "jetsharp_points_s": jsp[k], "torchjet_points_s": tjp[k],
                     "envelope": [ea, eb, ea / eb]})
        print(f"| {k} ({unit}) | {a[0]:.4f} / {a[1]:.4f} | {b[0]:.4f} / {b[1]:.4f} "
              f"| {a[0] / b[0]:.2f} | {a[1] / b[1]:.2f} | {ea:.4f} / {eb:.4f} ({ea / eb:.2f}) |")
    if args.json_out:
        with open(args.json_out, "w") as fh:
            json.dump({"dtype": args.dtype, "threads": args.threads, "rounds": args.rounds, "loadavg_end": os.getloadavg(),
                       "rows": rows}, fh, indent=1)


if __name__ == "__main__":
    main()
