#!/usr/bin/env python3
"""torch-jet peer figures for the two `jetsharp bench` operators that the shared harness lacks.

The shared harness (/work/shared/peers/torch_baseline.py, imported, not copied) covers the exact and
stochastic Laplacian and the exact biharmonic. This script adds, on the same network, the same
timing (warm-up, minimum over repeats, `time_fn`) and the same least-squares slope (`linfit`):

* weighted_laplacian  tr(σσᵀ∇²f) = Σ_r σ_rᵀ ∇²f σ_r for a constant σ ∈ ℝ^{D×R} (bench cases
                      `weighted-laplacian-r{R}`, D = 50, R ∈ {50, 25, 5}). torch-jet's
                      `Laplacian(f, x, weighting=(apply_S, R))` with apply_S(x, V) = V σᵀ: the
                      exact form feeds V = I_R, so the jets' first coefficients are the R columns
                      of σ. ms per datum = slope over the batch sizes N.
* bilaplacian_stochastic  (1/3S) Σ_s ∂⁴f[v_s, v_s, v_s, v_s] with S Gaussian v_s per datum
                      (E ∂⁴f[v]⁴ = 3Δ²f; bench case `stochastic-biharmonic`, D = 5, N = 256).
                      torch-jet's `Bilaplacian(f, x, randomization=("normal", S))`. ms per sample
                      = slope over the sample counts S at fixed N.

Both are vmapped over the batch (randomness "different" for the stochastic one, as in torch-jet's
own benchmark, jet/exp/exp01_benchmark_laplacian/execute.py) and simplified with
`jet.simplify(mod, pull_sum_vmapped=True)` for the collapsed method ("jet_simplified") or False
for the standard one ("jet_naive").

Conventions as in the shared harness: network D → 768 → 768 → 512 → 512 → 1, tanh, PyTorch
initialisation with seed 0; inputs rand(N, D) with seed 1. σ is randn(D, R) with seed 11 (the
bench draws its own σ from seed 11 with JetSharp's generator; the values do not change the cost of
a dense σ). --nondifferentiable runs under no_grad with parameters not requiring grad, as an
inference-only JetSharp run.

Validation (float64, before timing unless --skip-validation): the weighted Laplacian against the
dense Hessian contraction tr(σσᵀ H) from functorch.hessian (MLP, D = 50, R = 50 / 25 / 5, both
methods, relative error < 1e-9), and the randomized biharmonic, which has no deterministic value,
by unbiasedness: on f(x) = Σ_i sin x_i (closed form Δ²f = Σ sin x_i, per-sample variance
Var ∂⁴f[v]⁴ = 96 Σ sin² x_i for Gaussian v) and on the MLP at D = 5 (against the exact Δ²f as the
trace of the Hessian of the trace of the Hessian; per-sample variance estimated from the nested
∂⁴f[v]⁴ of independent draws), each within 5 standard errors at S = 4096. With --check-jetsharp DIR (written
by tools/peers/export_case.cs), torch-jet's weighted Laplacian also runs on JetSharp's own network, σ and points and
is compared with JetSharp's values (relative error < 1e-9).

Example (the bench's grids are the defaults):
    python3 torchjet_extra.py --dtype float32 --threads 2 --nondifferentiable \
        --torchjet-dir /work/peerenv/torchjet --json-out r.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings

import torch

SHARED = os.environ.get("PEERS_DIR", "/work/shared/peers")
sys.path.insert(0, SHARED)
import torch_baseline as tb  # noqa: E402  (network, inputs, timing, fit, torch-jet import + shims)

METHODS = {"torchjet_standard": False, "torchjet_collapsed": True}  # → pull_sum_vmapped


def make_sigma(dim: int, rank: int, dtype: torch.dtype, seed: int = 11) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(dim, rank, generator=g, dtype=torch.float64).to(dtype)


def weighted_laplacian_single(f, dummy_x, sigma: torch.Tensor, collapsed: bool):
    """x ↦ tr(σσᵀ∇²f(x)) for one datum, as torch-jet's weighted Laplacian module."""
    rank = sigma.shape[1]
    sigma_t = sigma.t().contiguous()  # [R, D]: row r is column σ_r
    in_shape = tuple(dummy_x.shape)   # fx cannot unpack traced shapes: Python constants, as in
                                      # torch-jet's jet/weighted_laplacian.py (its fx_info)

    def apply_s(x, V):  # V [K = R, R] ↦ V σᵀ [K, *x.shape] (torch-jet's convention)
        return (V @ sigma_t).reshape(rank, *in_shape)

    tj = tb.TORCHJET
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mod = tj["Laplacian"](f, dummy_x, randomization=None, weighting=(apply_s, rank))
        mod = tj["simplify"](mod, pull_sum_vmapped=collapsed)
    return lambda x: mod(x)[2]


def bilaplacian_stochastic_single(f, dummy_x, samples: int, collapsed: bool):
    """x ↦ (1/3S) Σ_s ∂⁴f(x)[v_s]⁴ with S Gaussian v_s drawn on every call."""
    tj = tb.TORCHJET
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mod = tj["Bilaplacian"](f, dummy_x, randomization=("normal", samples))
        return tj["simplify"](mod, pull_sum_vmapped=collapsed)


def make_operator(f, X, op, method, rank=None, samples=None, no_grad=True):
    """A zero-argument callable computing the operator for every row of X (vmapped)."""
    collapsed = METHODS[method]
    if op == "weighted_laplacian":
        single = weighted_laplacian_single(f, X[0], make_sigma(X.shape[1], rank, X.dtype), collapsed)
        batched = tb.ft_vmap(single, randomness="error")
    elif op == "bilaplacian_stochastic":
        single = bilaplacian_stochastic_single(f, X[0], samples, collapsed)
        batched = tb.ft_vmap(single, randomness="different")
    else:
        raise ValueError(op)
    run = lambda: batched(X)  # noqa: E731
    return torch.no_grad()(run) if no_grad else run


# ------------------------------------------------------------------------- validation
def _nested_d4(fs):
    """(x, v) ↦ ∂⁴f(x)[v]⁴ by nested forward mode (jvp of jvp of jvp of jvp)."""
    def d1(x, v):
        return tb.ft_jvp(fs, (x,), (v,))[1]

    def d2(x, v):
        return tb.ft_jvp(lambda y: d1(y, v), (x,), (v,))[1]

    def d3(x, v):
        return tb.ft_jvp(lambda y: d2(y, v), (x,), (v,))[1]

    def d4(x, v):
        return tb.ft_jvp(lambda y: d3(y, v), (x,), (v,))[1]

    return d4


def validate(methods, log=tb.log):
    dt = torch.float64
    report, ok = {}, True

    # 1) weighted Laplacian vs the dense Hessian contraction tr(σσᵀH) = Σ_ij (σσᵀ)_ij H_ij
    D, N = 50, 3
    net = tb.build_mlp(D, dt)
    net.requires_grad_(False)
    X = tb.make_input(N, D, dt)
    H = tb.ft_vmap(tb.ft_hessian(tb.scalar(net)))(X)  # [N, D, D]
    for rank in (50, 25, 5):
        sigma = make_sigma(D, rank, dt)
        ref = torch.einsum("ij,nij->n", sigma @ sigma.t(), H)
        for m in methods:
            val = make_operator(net, X, "weighted_laplacian", m, rank=rank)().reshape(-1)
            err = ((val - ref).abs().max() / ref.abs().max()).item()
            report[f"mlp50/weighted_laplacian/r{rank}/{m}/rel_err"] = err
            ok &= err < 1e-9

    # 2) randomized biharmonic: unbiased within 5 standard errors at S = 4096
    S = 4096
    D, N = 5, 3
    torch.manual_seed(10)
    X = torch.rand(N, D, dtype=dt) * 4 - 2
    w = torch.ones(1, D, dtype=dt)
    f_sin = lambda x: torch.nn.functional.linear(torch.sin(x), w)  # noqa: E731
    exact = torch.sin(X).sum(-1)
    stderr = (96 * (torch.sin(X) ** 2).sum(-1) / S).sqrt() / 3

    def unbiased(f, X, exact, stderr, label):
        """Each method's estimate at S samples within 5 standard errors of the exact value; records the largest z."""
        passed = True
        for m in methods:
            torch.manual_seed(123)
            val = make_operator(f, X, "bilaplacian_stochastic", m, samples=S)().reshape(-1)
            z = ((val - exact).abs() / stderr).max().item()
            report[f"{label}/bilaplacian_stochastic/S{S}/{m}/max_z"] = z
            passed &= z < 5
        return passed

    ok &= unbiased(f_sin, X, exact, stderr, "sin")

    D, N = 5, 2
    net = tb.build_mlp(D, dt)
    net.requires_grad_(False)
    X = tb.make_input(N, D, dt)
    exact = tb.bilaplacian_hessian_trace_functorch(net, X)().reshape(-1)
    torch.manual_seed(321)
    V = torch.randn(N, 512, D, dtype=dt)  # independent draws for the per-sample variance
    d4 = tb.ft_vmap(tb.ft_vmap(_nested_d4(tb.scalar(net)), in_dims=(None, 0)))(X, V) / 3
    stderr = d4.std(dim=1) / S ** 0.5
    report["mlp5/nested_d4/mean_z"] = ((d4.mean(1) - exact).abs() / (d4.std(1) / 512 ** 0.5)).max().item()
    ok &= unbiased(net, X, exact, stderr, "mlp5")
    for k, v in report.items():
        log(f"  validate {k}: {v:.3e}")
    return {"passed": bool(ok), "errors": report}


def read_safetensors(path):
    """{name: float64 tensor} of a safetensors file (8-byte little-endian header length, JSON header, raw data)."""
    import struct

    with open(path, "rb") as fh:
        (size,) = struct.unpack("<Q", fh.read(8))
        header = json.loads(fh.read(size))
        data = fh.read()
    dtypes = {"F64": torch.float64, "F32": torch.float32}
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        lo, hi = info["data_offsets"]
        t = torch.frombuffer(bytearray(data[lo:hi]), dtype=dtypes[info["dtype"]])
        out[name] = t.reshape(info["shape"]).to(torch.float64)
    return out


def check_jetsharp(directory, methods, log=tb.log):
    """torch-jet on JetSharp's own network, σ and points (tools/peers/export_case.cs) against JetSharp's values."""
    case = json.load(open(os.path.join(directory, "case.json")))
    weights = read_safetensors(os.path.join(directory, "weights.safetensors"))
    widths = case["widths"]
    layers = []
    for i, (a, b) in enumerate(zip(widths, widths[1:])):
        lin = torch.nn.Linear(a, b).to(torch.float64)
        lin.weight.data.copy_(weights[f"layers.{i}.weight"])  # PyTorch layout [out, in]
        lin.bias.data.copy_(weights[f"layers.{i}.bias"])
        layers += [lin, torch.nn.Tanh()]
    net = torch.nn.Sequential(*layers[:-1]).requires_grad_(False)
    X = torch.tensor(case["x"], dtype=torch.float64)
    report, ok = {}, True
    for c in case["cases"]:
        sigma = torch.tensor(c["sigma"], dtype=torch.float64)
        ref = torch.tensor(c["value"], dtype=torch.float64)
        for m in methods:
            single = weighted_laplacian_single(net, X[0], sigma, METHODS[m])
            val = tb.ft_vmap(single)(X).reshape(-1)
            err = ((val - ref).abs().max() / ref.abs().max()).item()
            report[f"jetsharp/weighted_laplacian/r{c['rank']}/{m}/rel_err"] = err
            ok &= err < 1e-9
    for k, v in report.items():
        log(f"  check {k}: {v:.3e}")
    return {"passed": bool(ok), "errors": report}


# ------------------------------------------------------------------------------- main
def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dtype", choices=list(tb.DTYPES), default="float32")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--ops", default="weighted_laplacian,bilaplacian_stochastic")
    p.add_argument("--methods", default="torchjet_collapsed",
                   help="comma-separated: torchjet_collapsed, torchjet_standard")
    p.add_argument("--dim", type=int, default=50, help="D of the weighted Laplacian")
    p.add_argument("--ranks", default="50,25,5")
    p.add_argument("--batch-sizes", default="16,32,64,128", help="N grid (weighted Laplacian)")
    p.add_argument("--bi-dim", type=int, default=5, help="D of the stochastic biharmonic")
    p.add_argument("--samples", default="4,8,16,32", help="S grid (stochastic biharmonic)")
    p.add_argument("--stochastic-batch", type=int, default=256, help="fixed N (stochastic biharmonic)")
    p.add_argument("--nondifferentiable", action="store_true",
                   help="no_grad, parameters without grad (inference, as --no-training runs)")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--min-repeats", type=int, default=3)
    p.add_argument("--max-repeats", type=int, default=20)
    p.add_argument("--budget-s", type=float, default=4.0)
    p.add_argument("--torchjet-dir", default=os.environ.get("TORCHJET_DIR"))
    p.add_argument("--skip-validation", action="store_true")
    p.add_argument("--validate-only", action="store_true")
    p.add_argument("--check-jetsharp", default=None, metavar="DIR",
                   help="also compare with JetSharp's values on its own network (tools/peers/export_case.cs)")
    p.add_argument("--json-out", default=None)
    return p.parse_args(argv)


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    if not args.torchjet_dir:
        sys.exit("torch-jet is required: --torchjet-dir or TORCHJET_DIR")
    tb.import_torchjet(args.torchjet_dir)
    methods = args.methods.split(",")
    result = {"environment": tb.environment_info(), "settings": vars(args),
              "torchjet_compat_shims": tb.TORCHJET_SHIMS}
    if not args.skip_validation:
        tb.log("== validation (float64)")
        result["validation"] = validate(methods)
        tb.log(f"   passed: {result['validation']['passed']}")
        if not result["validation"]["passed"]:
            print(json.dumps(result, indent=1))
            sys.exit(1)
    if args.check_jetsharp:
        tb.log("== torch-jet on JetSharp's network, σ and points (float64)")
        result["jetsharp_check"] = check_jetsharp(args.check_jetsharp, methods)
        tb.log(f"   passed: {result['jetsharp_check']['passed']}")
        if not result["jetsharp_check"]["passed"]:
            print(json.dumps(result, indent=1))
            sys.exit(1)
    if args.validate_only:
        print(json.dumps(result, indent=1))
        return

    dt = tb.DTYPES[args.dtype]
    runs, summary = [], []

    def measure(op, m, dim, n, **kw):
        net = tb.build_mlp(dim, dt, seed=0)
        if args.nondifferentiable:
            net.requires_grad_(False)
        X = tb.make_input(n, dim, dt, seed=1)
        torch.manual_seed(2)
        fn = make_operator(net, X, op, m, no_grad=args.nondifferentiable, **kw)
        t = tb.time_fn(fn, args.warmup, args.min_repeats, args.max_repeats, args.budget_s)
        rec = {"op": op, "method": m, "dim": dim, "N": n, **kw, "dtype": args.dtype, **t,
               "loadavg1": os.getloadavg()[0]}
        runs.append(rec)
        tb.log(f"   {op:23s} {m:18s} {kw} N={n:4d} min={t['min_s'] * 1e3:9.2f} ms "
               f"med={t['median_s'] * 1e3:9.2f} ms (x{t['repeats']}, load {rec['loadavg1']:.1f})")
        return t

    for op in args.ops.split(","):
        for m in methods:
            if op == "weighted_laplacian":
                for rank in [int(r) for r in args.ranks.split(",")]:
                    Ns = [int(n) for n in args.batch_sizes.split(",")]
                    ts = [measure(op, m, args.dim, n, rank=rank) for n in Ns]
                    summary.append(fit(op, m, {"rank": rank}, "ms_per_datum", Ns, ts))
            elif op == "bilaplacian_stochastic":
                Ss = [int(s) for s in args.samples.split(",")]
                ts = [measure(op, m, args.bi_dim, args.stochastic_batch, samples=s) for s in Ss]
                summary.append(fit(op, m, {"N": args.stochastic_batch}, "ms_per_sample", Ss, ts))
            else:
                raise ValueError(op)
    for s in summary:
        tb.log(f"== {s['op']} {s['method']} {s['case']}: {s['unit']} min {s['min']:.4f}, median {s['median']:.4f}")
    result["runs"], result["slopes"] = runs, summary
    txt = json.dumps(result, indent=1)
    if args.json_out:
        with open(args.json_out, "w") as fh:
            fh.write(txt + "\n")
    print(txt)


def fit(op, method, case, unit, xs, ts):
    """Slopes (ms per unit of x) of the per-point minima and of the per-point medians."""
    smin, _ = tb.linfit(xs, [t["min_s"] for t in ts])
    smed, _ = tb.linfit(xs, [t["median_s"] for t in ts])
    return {"op": op, "method": method, "case": case, "unit": unit, "x": xs,
            "min": smin * 1e3, "median": smed * 1e3}


if __name__ == "__main__":
    main()
