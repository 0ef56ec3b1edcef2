"""Benchmark: the rhythm engine (keepwarm.rhythm) on synthetic BG/NBD data.

    .venv/bin/python bench/bench_rhythm.py [--sizes 10000 100000 1000000] [--runs 5]
        [--baseline-python /tmp/lifetimes-venv/bin/python] [--write-docs]

Data: BG/NBD clients (r = 0.75, alpha = 2.8 weeks, a = 0.8, b = 2.5: CDNOW's dropout with
about three times its purchase rate), first purchases spread over 12 weeks, observed for 78
weeks (to day 545), Gamma-Gamma amounts with CDNOW's spend parameters; about 6.6 activity
records per client, in random order. Generated once per size, outside the timings.

Steps timed (medians over ``--runs``): ``summarise``; ``fit_population(models=("bgnbd",))``
(compress + BG/NBD fit + Gamma-Gamma fit + trust checks), with its BG/NBD and Gamma-Gamma
fits also timed alone; ``score`` (P(alive), expected activities at 30/90/365 days, CLV,
attention dates, trends for every client); and a Pareto/NBD fit on the compressed
statistics (from the default start, compression included). Peak memory of the pipeline is
measured in a fresh subprocess (VmHWM, the peak resident set size, which includes the
interpreter and the input arrays) and with ``tracemalloc`` (peak of the allocations made by
the pipeline itself).

Baseline in the same run: lifetimes 0.11.3 (``BetaGeoFitter``) at 100,000 clients, run with
``--baseline-python`` (a separate virtualenv, since lifetimes needs pandas), fitting the
same per-client (frequency, recency, T) and predicting P(alive) and expected purchases.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
import scipy

from keepwarm.rhythm import (
    BGNBDParams,
    FitDiagnostics,
    compress_summary,
    fit_population,
    gammagamma,
    paretonbd,
    score,
    simulate_activities,
    summarise,
)
from keepwarm.rhythm import bgnbd as bgnbd_model

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "benchmarks.md"
SECTION = "## Rhythm engine"
TRUTH = BGNBDParams(0.75, 2.8, 0.8, 2.5, 0.0, 7.0, FitDiagnostics(True, 0, 0, "", 0, 0, 0, False))
SEED = 20240601

LIFETIMES_SCRIPT = r"""
import json, sys, time
import numpy as np
import lifetimes
from lifetimes import BetaGeoFitter
data = np.load(sys.argv[1])
runs = int(sys.argv[2])
freq, rec, T = data["x"], data["t_x"], data["T"]
fits, preds, params = [], [], None
for _ in range(runs):
    bg = BetaGeoFitter()
    t0 = time.perf_counter()
    bg.fit(freq, rec, T)
    t1 = time.perf_counter()
    bg.conditional_probability_alive(freq, rec, T)
    bg.conditional_expected_number_of_purchases_up_to_time(30 / 7, freq, rec, T)
    t2 = time.perf_counter()
    fits.append(t1 - t0)
    preds.append(t2 - t1)
    params = [float(bg.params_[k]) for k in ("r", "alpha", "a", "b")]
print(json.dumps({"version": lifetimes.__version__, "fit": fits, "predict": preds,
                  "params": params}))
"""


def machine() -> dict[str, str]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": str(os.cpu_count()),
        "cpu": model,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
    }


def make_data(n_clients: int) -> dict[str, np.ndarray]:
    sim = simulate_activities(TRUTH, n_clients, np.random.default_rng(SEED + n_clients))
    return {
        "client": sim.client,
        "day": sim.day,
        "amount_cents": sim.amount_cents,
        "n_clients": np.asarray(n_clients),
        "as_of_day": np.asarray(sim.as_of_day),
    }


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def run_once(data: dict[str, np.ndarray]) -> dict[str, float]:
    n, as_of = int(data["n_clients"]), int(data["as_of_day"])
    t_summary, summary = timed(
        lambda: summarise(data["client"], data["day"], data["amount_cents"], n, as_of)
    )
    t_population, population = timed(lambda: fit_population(summary, models=("bgnbd",)))
    t_score, _ = timed(lambda: score(summary, population))
    compressed = compress_summary(summary)
    t_bg, _ = timed(lambda: bgnbd_model.fit(compressed))
    t_gg, _ = timed(lambda: gammagamma.fit(summary.frequency, summary.mean_repeat_spend))
    t_pareto, pareto = timed(lambda: paretonbd.fit(compress_summary(summary)))
    assert not population.fallback, population.reason
    assert pareto.diagnostics.converged, pareto.diagnostics
    return {
        "summary": t_summary,
        "fit_population": t_population,
        "bgnbd_fit": t_bg,
        "gamma_gamma_fit": t_gg,
        "score": t_score,
        "pipeline": t_summary + t_population + t_score,
        "pareto_fit": t_pareto,
        "patterns": float(compressed.n_patterns),
    }


def _peak_rss_kib() -> int:
    """VmHWM: this process's peak resident set size (unlike ``ru_maxrss``, not inherited
    from the parent across fork and exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def memory_child(path: str) -> None:
    """Load saved inputs, run the pipeline once, print peak memory as JSON."""
    loaded = np.load(path)
    data = {k: loaded[k] for k in loaded.files}
    before = _peak_rss_kib()
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    tracemalloc.start()
    n, as_of = int(data["n_clients"]), int(data["as_of_day"])
    summary = summarise(data["client"], data["day"], data["amount_cents"], n, as_of)
    population = fit_population(summary, models=("bgnbd",))
    score(summary, population)
    paretonbd.fit(compress_summary(summary))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(json.dumps({"peak_kib": _peak_rss_kib(), "before_kib": before, "traced_peak": peak}))


def measure_memory(data: dict[str, np.ndarray], workdir: Path) -> dict[str, float]:
    path = workdir / "inputs.npz"
    np.savez(path, **data)
    out = subprocess.run(
        [sys.executable, __file__, "--memory-child", str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def lifetimes_baseline(
    data: dict[str, np.ndarray], python: str, runs: int, workdir: Path
) -> dict[str, object] | None:
    n, as_of = int(data["n_clients"]), int(data["as_of_day"])
    summary = summarise(data["client"], data["day"], data["amount_cents"], n, as_of)
    path = workdir / "rfm.npz"
    np.savez(path, x=summary.frequency.astype(float), t_x=summary.t_x, T=summary.T)
    script = workdir / "lifetimes_bench.py"
    script.write_text(LIFETIMES_SCRIPT)
    try:
        out = subprocess.run(
            [python, str(script), str(path), str(runs)], check=True, capture_output=True, text=True
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"lifetimes baseline failed: {exc}", file=sys.stderr)
        return None
    result = json.loads(out.stdout.strip().splitlines()[-1])
    ours = bgnbd_model.fit(compress_summary(summary))
    result["ours"] = [ours.r, ours.alpha, ours.a, ours.b]
    return result


def fmt(seconds: float) -> str:
    return f"{seconds:.3f}"


def table(results: dict[int, dict[str, float]], activities: dict[int, int]) -> list[str]:
    sizes = sorted(results)
    head = "| step (median seconds) | " + " | ".join(f"{n:,} clients" for n in sizes) + " |"
    lines = [head, "|---" * (len(sizes) + 1) + "|"]
    rows = [
        ("activity records", lambda n: f"{activities[n]:,}"),
        ("distinct (x, t_x, T) patterns", lambda n: f"{int(results[n]['patterns']):,}"),
        ("`summarise`", lambda n: fmt(results[n]["summary"])),
        ("`fit_population` (BG/NBD + Gamma-Gamma)", lambda n: fmt(results[n]["fit_population"])),
        ("&nbsp;&nbsp;of which BG/NBD fit alone", lambda n: fmt(results[n]["bgnbd_fit"])),
        (
            "&nbsp;&nbsp;of which Gamma-Gamma fit alone",
            lambda n: fmt(results[n]["gamma_gamma_fit"]),
        ),
        ("`score` (every client)", lambda n: fmt(results[n]["score"])),
        ("**summary + fits + scoring**", lambda n: f"**{fmt(results[n]['pipeline'])}**"),
        ("Pareto/NBD fit (with compression)", lambda n: fmt(results[n]["pareto_fit"])),
    ]
    for label, cell in rows:
        lines.append(f"| {label} | " + " | ".join(cell(n) for n in sizes) + " |")
    return lines


def write_docs(section: str) -> None:
    text = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
    start = text.find(SECTION + "\n")
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + len(SECTION))
        text = text[:start] + section + ("" if end < 0 else text[end + 1 :])
    DOCS.parent.mkdir(exist_ok=True)
    DOCS.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--baseline-python", default="/tmp/lifetimes-venv/bin/python")
    parser.add_argument("--baseline-size", type=int, default=100_000)
    parser.add_argument("--baseline-runs", type=int, default=3)
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_child)
        return

    info = machine()
    print(json.dumps(info))
    results: dict[int, dict[str, float]] = {}
    activities: dict[int, int] = {}
    memory: dict[str, float] = {}
    baseline = None
    with tempfile.TemporaryDirectory() as tmp:
        for n in sorted(args.sizes):
            data = make_data(n)
            activities[n] = int(data["client"].size)
            runs = [run_once(data) for _ in range(args.runs)]
            results[n] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            print(n, json.dumps(results[n]), flush=True)
            if n == max(args.sizes):
                memory = measure_memory(data, Path(tmp))
                print("memory", json.dumps(memory), flush=True)
            if n == args.baseline_size and Path(args.baseline_python).exists():
                baseline = lifetimes_baseline(
                    data, args.baseline_python, args.baseline_runs, Path(tmp)
                )
                print("baseline", json.dumps(baseline), flush=True)

    command = ".venv/bin/python bench/bench_rhythm.py " + " ".join(sys.argv[1:])
    lines = [
        SECTION,
        "",
        f"Machine: {info['nproc']} cores ({info['cpu']}), Python {info['python']}, numpy "
        f"{info['numpy']}, scipy {info['scipy']}; shared with other jobs, so figures are "
        "medians.",
        "",
        f"Command: `{command.strip()}`",
        "",
        "Data: synthetic BG/NBD clients (r = 0.75, alpha = 2.8 weeks, a = 0.8, b = 2.5), first "
        "purchases over 12 weeks, observed to week 78, Gamma-Gamma amounts (p = 6.25, q = 3.74, "
        "gamma = 15.44 dollars), about 6.6 activity records per client in random order. "
        "`score` computes, for every client, P(alive), expected activities in 30/90/365 days, "
        "expected spend, 12-month CLV, revenue at risk, attention date and trend tests.",
        "",
        *table(results, activities),
        "",
    ]
    big = max(results)
    if big >= 1_000_000:
        budget = [
            ("summary + fits + scoring < 3 s", results[big]["pipeline"] < 3.0,
             f"{results[big]['pipeline']:.2f} s"),
            ("Pareto/NBD fit < 5 s", results[big]["pareto_fit"] < 5.0,
             f"{results[big]['pareto_fit']:.2f} s"),
        ]  # fmt: skip
        if memory:
            peak = memory["peak_kib"] / 1024
            budget.append(("peak memory < 1.5 GiB", peak < 1536, f"{peak:.0f} MiB"))
        lines += [
            f"Budgets at {big:,} clients: "
            + "; ".join(f"{name}: {'met' if ok else 'NOT met'} ({v})" for name, ok, v in budget)
            + ".",
            "",
        ]
    if memory:
        lines += [
            f"Peak memory at {big:,} clients (summary + fits + scoring + Pareto/NBD fit, in a "
            f"fresh process): peak RSS {memory['peak_kib'] / 1024:.0f} MiB, which includes the "
            f"interpreter, numpy/scipy and the input arrays ({memory['before_kib'] / 1024:.0f} "
            f"MiB before the pipeline started); tracemalloc peak of the pipeline's own "
            f"allocations {memory['traced_peak'] / 2**20:.0f} MiB.",
            "",
        ]
    if baseline:
        fit = statistics.median(baseline["fit"])
        pred = statistics.median(baseline["predict"])
        n = args.baseline_size
        ours = results[n]["bgnbd_fit"] + results[n]["score"]
        lines += [
            f"Baseline, same run: lifetimes {baseline['version']} `BetaGeoFitter` at {n:,} "
            f"clients on the same per-client (frequency, recency, T) rows (its usual input, "
            f"uncompressed): fit {fmt(fit)} s, P(alive) + "
            f"expected purchases {fmt(pred)} s (median of {len(baseline['fit'])}); keepwarm's "
            f"BG/NBD fit + full scoring {fmt(ours)} s. Parameters (r, alpha, a, b): lifetimes "
            + ", ".join(f"{v:.4f}" for v in baseline["params"])
            + "; keepwarm "
            + ", ".join(f"{v:.4f}" for v in baseline["ours"])
            + ".",
            "",
        ]
    section = "\n".join(lines)
    print(section)
    if args.write_docs:
        write_docs(section)


if __name__ == "__main__":
    main()
