"""LTV on the same transactions by the Python `lifetimes` package and by
cdp-ltv (its `ltv_csv` example, release build), in one run: seconds for the
fits alone and end to end, the ratios, the largest parameter difference and
the largest per-customer prediction differences.

Run through ltv_vs_lifetimes.sh, which builds the binary and the venv.

    python ltv_vs_lifetimes.py LTV_CSV_BINARY OUT_DIR CUSTOMERS [TRANSACTIONS_CSV AS_OF]

Without TRANSACTIONS_CSV it simulates CUSTOMERS customers of a BG/NBD +
Gamma-Gamma population (deterministic seed), first purchases spread over two
years before AS_OF (2024-06-30), purchases continuing 60 days past it (which
both sides must ignore), written to OUT_DIR/transactions-<N>.csv with the
columns customer_id,date,amount ordered by date, as an order log is.
"""
import json
import os
import subprocess
import sys
import time
import warnings

import numpy as np
import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.utils import summary_data_from_transaction_data

warnings.simplefilter("ignore")

binary, out_dir = sys.argv[1], sys.argv[2]
customers = int(sys.argv[3])
os.makedirs(out_dir, exist_ok=True)
if len(sys.argv) > 4:
    transactions, as_of = sys.argv[4], sys.argv[5]
else:
    transactions, as_of = os.path.join(out_dir, f"transactions-{customers}.csv"), "2024-06-30"

# CLV as lifetimes computes it by default: 12 monthly steps of 30 days, 1 % a
# month; cdp-ltv's annual rate with the same per-step discount.
MONTHLY_DISCOUNT = 0.01
ANNUAL_DISCOUNT = (1 + MONTHLY_DISCOUNT) ** (365 / 30) - 1
TRUE = dict(r=0.25, alpha=30.0, a=0.8, b=2.5, p=6.0, q=4.0, gamma=15.0)  # days


def simulate(n, path, seed=20240630):
    """BG/NBD purchase times and Gamma-Gamma amounts, one row per purchase."""
    rng = np.random.default_rng(seed)
    end = np.datetime64(as_of)
    first = end - rng.integers(0, 730, n).astype("timedelta64[D]")
    horizon = (end + np.timedelta64(60, "D") - first).astype(float)  # days observed
    lam = rng.gamma(TRUE["r"], 1 / TRUE["alpha"], n)
    drop = rng.beta(TRUE["a"], TRUE["b"], n)
    nu = rng.gamma(TRUE["q"], 1 / TRUE["gamma"], n)
    ids = [np.arange(n)]
    offsets = [np.zeros(n)]
    t = np.zeros(n)
    active = np.arange(n)
    while active.size:
        # Next purchase of the still-alive customers; after it, drop out w.p. p.
        t[active] += rng.exponential(1 / lam[active])
        active = active[t[active] <= horizon[active]]
        ids.append(active)
        offsets.append(t[active].copy())
        active = active[rng.random(active.size) >= drop[active]]
    ids = np.concatenate(ids)
    days = first[ids] + np.floor(np.concatenate(offsets)).astype("timedelta64[D]")
    amounts = np.maximum(np.round(rng.gamma(TRUE["p"], 1 / nu[ids]), 2), 0.01)
    order = np.lexsort((ids, days))
    frame = pd.DataFrame({"customer_id": ids[order] + 1, "date": days[order], "amount": amounts[order]})
    frame.to_csv(path, index=False, date_format="%Y-%m-%d", float_format="%.2f")


if not os.path.exists(transactions):
    print(f"simulating {customers:,} customers → {transactions}", flush=True)
    simulate(customers, transactions)

# ---- lifetimes -------------------------------------------------------------
t0 = time.perf_counter()
df = pd.read_csv(transactions, parse_dates=["date"], date_format="%Y-%m-%d")
py_read = time.perf_counter() - t0

t_start = time.perf_counter()
s = summary_data_from_transaction_data(
    df, "customer_id", "date", monetary_value_col="amount", observation_period_end=as_of, freq="D"
)
py_summary = time.perf_counter() - t_start
t0 = time.perf_counter()
bg = BetaGeoFitter().fit(s["frequency"], s["recency"], s["T"])
py_bg = time.perf_counter() - t0
repeaters = s[s["frequency"] > 0]
t0 = time.perf_counter()
gg = GammaGammaFitter().fit(repeaters["frequency"], repeaters["monetary_value"])
py_gg = time.perf_counter() - t0
t0 = time.perf_counter()
f, r, T, m = s["frequency"], s["recency"], s["T"], s["monetary_value"]
py_pred = pd.DataFrame(index=s.index)
py_pred["p_alive"] = bg.conditional_probability_alive(f, r, T)
py_pred["expected_purchases_90d"] = bg.conditional_expected_number_of_purchases_up_to_time(90, f, r, T)
py_pred["expected_purchases_365d"] = bg.conditional_expected_number_of_purchases_up_to_time(365, f, r, T)
py_pred["expected_average_spend"] = gg.conditional_expected_average_profit(f, m)
py_pred["predicted_clv"] = gg.customer_lifetime_value(
    bg, f, r, T, m, time=12, discount_rate=MONTHLY_DISCOUNT, freq="D"
)
py_predict = time.perf_counter() - t0
py_e2e = time.perf_counter() - t_start

# ---- cdp-ltv ---------------------------------------------------------------
pred_path = os.path.join(out_dir, f"predictions-{customers}.csv")
cmd = [
    binary, "--input", transactions, "--as-of", as_of, "--unit", "day",
    "--clv-horizon-days", "360", "--clv-steps", "12",
    "--annual-discount-rate", repr(ANNUAL_DISCOUNT), "--out", pred_path,
]
t0 = time.perf_counter()
rust = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
rust_process = time.perf_counter() - t0
sec = rust["seconds"]

# ---- comparison ------------------------------------------------------------
ours = pd.read_csv(pred_path, index_col="customer_id").sort_index()
theirs = py_pred.sort_index()
assert len(ours) == len(theirs) and (ours.index == theirs.index).all(), "different customers"
summary_cols = {"frequency": "frequency", "recency": "recency", "T": "T", "monetary_value": "monetary_value"}
summary_diff = max(float(np.max(np.abs(ours[c].values - s.sort_index()[c].values))) for c in summary_cols)

params = {
    "r": (rust["bgnbd"]["r"], bg.params_["r"]),
    "alpha": (rust["bgnbd"]["alpha"], bg.params_["alpha"]),
    "a": (rust["bgnbd"]["a"], bg.params_["a"]),
    "b": (rust["bgnbd"]["b"], bg.params_["b"]),
    "p": (rust["gamma_gamma"]["p"], gg.params_["p"]),
    "q": (rust["gamma_gamma"]["q"], gg.params_["q"]),
    "gamma": (rust["gamma_gamma"]["gamma"], gg.params_["v"]),
}
# Log-likelihoods of lifetimes' parameters on the same data, by lifetimes' own
# objective (mean negative log-likelihood × customers).
py_bg_ll = -BetaGeoFitter._negative_log_likelihood(
    np.log(bg.params_[["r", "alpha", "a", "b"]].values), f.values.astype(int), r.values, T.values,
    np.ones(len(s)), 0.0) * len(s)
py_gg_ll = -GammaGammaFitter._negative_log_likelihood(
    np.log(gg.params_.values), repeaters["frequency"].values, repeaters["monetary_value"].values,
    np.ones(len(repeaters)), 0.0) * len(repeaters)

rows = len(df)
py_fits = py_bg + py_gg
rust_fits = sec["bgnbd_fit"] + sec["gamma_gamma_fit"]
print(f"\nLTV benchmark: {len(s):,} customers, {rows:,} transactions ({transactions}), as of {as_of}, "
      f"{os.cpu_count()} cores, cdp-ltv threads {rust['threads']}")
print(f"{'seconds':28} {'lifetimes':>10} {'cdp-ltv':>10} {'ratio':>8}")
for name, py, rs in [
    ("read CSV", py_read, sec["read"]),
    ("summary", py_summary, sec["summary"]),
    ("BG/NBD fit", py_bg, sec["bgnbd_fit"]),
    ("Gamma-Gamma fit", py_gg, sec["gamma_gamma_fit"]),
    ("fits alone", py_fits, rust_fits),
    ("predictions", py_predict, sec["predict"]),
    ("end to end (in memory)", py_e2e, sec["end_to_end"]),
    ("end to end with CSV read", py_e2e + py_read, sec["end_to_end"] + sec["read"]),
]:
    print(f"{name:28} {py:10.3f} {rs:10.3f} {py / rs:7.1f}×")
print(f"(cdp-ltv process wall time incl. start, read and writing {len(ours):,} predictions: {rust_process:.2f} s)")
print(f"cdp-ltv BFGS iterations: BG/NBD {rust['bgnbd']['iterations']}, Gamma-Gamma {rust['gamma_gamma']['iterations']}")

print(f"\n{'parameter':10} {'lifetimes':>14} {'cdp-ltv':>14} {'|diff|':>10} {'relative':>10}"
      + (f" {'true':>8}" if len(sys.argv) <= 4 else ""))
for name, (rs, py) in params.items():
    true = f" {TRUE[name]:8.3f}" if len(sys.argv) <= 4 else ""
    print(f"{name:10} {py:14.6f} {rs:14.6f} {abs(rs - py):10.2e} {abs(rs - py) / abs(py):10.2e}{true}")
# gamma is a spend scale (yuan, in the thousands on a world), so an absolute
# 1e-3 would ask for agreement to 5e-7 of its value, finer than either
# optimiser's tolerance; both criteria are printed.
max_diff = max(abs(rs - py) for rs, py in params.values())
max_rel = max(abs(rs - py) / abs(py) for rs, py in params.values())
print(f"max |parameter difference| {max_diff:.2e} absolute, {max_rel:.2e} relative "
      f"(goal 1e-3): absolute {'OK' if max_diff <= 1e-3 else 'NOT MET'}, relative {'OK' if max_rel <= 1e-3 else 'NOT MET'}")
for name, py_ll, rs_ll in [("BG/NBD", py_bg_ll, rust["bgnbd"]["log_likelihood"]),
                           ("Gamma-Gamma", py_gg_ll, rust["gamma_gamma"]["log_likelihood"])]:
    print(f"log-likelihood {name}: lifetimes {py_ll:.4f}, cdp-ltv {rs_ll:.4f} (cdp-ltv − lifetimes {rs_ll - py_ll:+.2e})")
print(f"summaries: max |difference| of frequency/recency/T/monetary {summary_diff:.2e}")
print("predictions, max |difference| (max relative):")
for col in ["p_alive", "expected_purchases_90d", "expected_purchases_365d", "expected_average_spend", "predicted_clv"]:
    d = np.abs(ours[col].values - theirs[col].values)
    rel = d / np.maximum(np.abs(theirs[col].values), 1e-12)
    print(f"  {col:26} {d.max():.2e} ({rel.max():.2e})")
print(f"\nratios: fits alone {py_fits / rust_fits:.1f}× (goal ≥ 10×), end to end {py_e2e / sec['end_to_end']:.1f}× (goal ≥ 20×)")
