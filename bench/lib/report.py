# SPDX-License-Identifier: MIT
"""report.py: turns a bench run's rows (results.tsv) into a markdown report with ratios to a baseline.

Usage: report.py OUT_DIR REPORT_FILE TITLE
  OUT_DIR/results.tsv   SYSTEM<TAB>KEY<TAB>VALUE rows (bench/lib/measure.sh)
  OUT_DIR/meta.env      KEY=VALUE lines: machine (bench_machine_meta) and method (the bench);
                        'systems' (order of the columns) and 'baseline' (the ratio reference)
  OUT_DIR/systems.tsv   SYSTEM<TAB>description
  OUT_DIR/versions.tsv  package<TAB>version
Writes REPORT_FILE and prints the main table on stdout. Standard library only.
"""
import collections
import os
import statistics
import sys


def read_meta(path):
    meta = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("=")
            if k:
                meta[k] = v
    return meta


def read_tsv(path):
    rows = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                if len(parts) >= 2:
                    rows.append(parts + [""] * (3 - len(parts)))
    return rows


def num(v):
    try:
        return float(v)
    except ValueError:
        return None


def fmt_mbit(v):
    return "%.0f" % v if v >= 100 else "%.1f" % v


def fmt_kpps(v):
    return "%.1f k" % (v / 1000)


def fmt_ms(v):
    return "%.3f" % v


def fmt_pct(v):
    return "%.1f" % v


def fmt_s(v):
    return "%.2f" % v


def fmt_mib(v):
    return "%.1f" % v


# (key, label, formatter, with ratio). Keys are computed by figures() below.
FIGURES = [
    ("tcp1_up", "TCP 1 flow up, Mbit/s", fmt_mbit, True),
    ("tcp1_down", "TCP 1 flow down, Mbit/s", fmt_mbit, True),
    ("tcp4_up", "TCP 4 flows up, Mbit/s", fmt_mbit, True),
    ("tcp4_down", "TCP 4 flows down, Mbit/s", fmt_mbit, True),
    ("UDP", None, None, None),  # one block per payload length found: udp_figures()
    ("rtt_med", "ping RTT median, ms", fmt_ms, True),
    ("rtt_p99", "ping RTT p99, ms", fmt_ms, True),
    ("cpu_all_per_gb", "CPU s per GB moved, client + server", fmt_s, True),
    ("cpu_client_per_gb", "CPU s per GB moved, client", fmt_s, True),
    ("cpu_server_per_gb", "CPU s per GB moved, server", fmt_s, True),
    ("rss_server_mib", "server VmRSS at the end, MiB", fmt_mib, True),
    ("hwm_server_mib", "server VmHWM (peak RSS), MiB", fmt_mib, True),
    ("rss_client_mib", "client VmRSS at the end, MiB", fmt_mib, True),
]


def udp_figures(lengths):
    out = []
    for n in sorted(lengths):
        for d in ("up", "down"):
            out.append((f"udp{n}_{d}_pps", f"UDP {n} B {d}, packets/s received", fmt_kpps, True))
            out.append((f"udp{n}_{d}_loss", f"UDP {n} B {d}, loss %", fmt_pct, False))
    return out


def figure_list(figs):
    lengths = set()
    for f in figs.values():
        for key in f:
            if key.startswith("udp") and key.endswith("_pps"):
                lengths.add(int(key[3:].split("_")[0]))
    out = []
    for entry in FIGURES:
        out.extend(udp_figures(lengths) if entry[0] == "UDP" else [entry])
    return out


def figures(rows):
    """Per system: {key: value} after aggregation, the per-run lists, and the status lines."""
    raw = collections.defaultdict(lambda: collections.defaultdict(list))
    notes = collections.defaultdict(list)
    for sys_, key, value in rows:
        if key == "status":
            notes[sys_].append(value)
            continue
        if key == "error":
            notes[sys_].append(f"error: {value}")
            continue
        v = num(value)
        if v is not None:
            raw[sys_][key].append(v)
    out = {}
    for sys_, keys in raw.items():
        f = {}
        for key, vals in keys.items():
            if key.startswith(("tcp1_", "tcp4_", "udp")):
                f[key] = statistics.median(vals)
            elif key in ("rtt_med", "rtt_p99", "ping_lost", "load_start") or key.startswith(
                    ("rss_", "hwm_")):
                f[key] = vals[-1]
        gb = sum(keys.get("tcp_bytes", [])) / 1e9
        if gb > 0:
            total = 0.0
            for role in ("client", "server"):
                if f"cpu_{role}_s" in keys:
                    s = sum(keys[f"cpu_{role}_s"])
                    f[f"cpu_{role}_per_gb"] = s / gb
                    total += s
            f["cpu_all_per_gb"] = total / gb
        for role in ("client", "server"):
            for kind in ("rss", "hwm"):
                if f"{kind}_{role}_kib" in f:
                    f[f"{kind}_{role}_mib"] = f[f"{kind}_{role}_kib"] / 1024
        out[sys_] = f
    return out, raw, notes


def main_table(systems, base, figs):
    head = "| figure | " + " | ".join(
        s + (" (baseline)" if s == base else f" (× {base})") for s in systems) + " |"
    lines = [head, "|---|" + "---:|" * len(systems)]
    for key, label, fmt, with_ratio in figure_list(figs):
        if not any(key in figs.get(s, {}) for s in systems):
            continue
        cells = []
        b = figs.get(base, {}).get(key)
        for s in systems:
            v = figs.get(s, {}).get(key)
            if v is None:
                cells.append("-")
                continue
            cell = fmt(v)
            if with_ratio and s != base and b:
                cell += " (%.2f×)" % (v / b)
            cells.append(cell)
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def targets(figs, base):
    ours, ref = figs.get("slirpvpn"), figs.get(base)
    if not ours or not ref:
        return []
    out = []

    def ratio_line(key, what):
        if key in ours and ref.get(key):
            r = ours[key] / ref[key]
            out.append(f"- {what}: ≥ 1.5 × {base}: {r:.2f}× "
                       f"({fmt_mbit(ours[key])} vs {fmt_mbit(ref[key])} Mbit/s): "
                       + ("**met**" if r >= 1.5 else "not met"))

    ratio_line("tcp1_up", "TCP 1 flow up")
    ratio_line("tcp1_down", "TCP 1 flow down")
    if "rtt_med" in ours and "rtt_med" in ref:
        ok = ours["rtt_med"] <= ref["rtt_med"]
        out.append(f"- ping RTT median ≤ {base}'s: {ours['rtt_med']:.3f} vs {ref['rtt_med']:.3f} ms: "
                   + ("**met**" if ok else "not met"))
    return out


def main():
    out_dir, report, title = sys.argv[1:4]
    meta = read_meta(os.path.join(out_dir, "meta.env"))
    rows = read_tsv(os.path.join(out_dir, "results.tsv"))
    descr = {r[0]: r[1] for r in read_tsv(os.path.join(out_dir, "systems.tsv"))}
    versions = read_tsv(os.path.join(out_dir, "versions.tsv"))
    systems = meta.get("systems", "").split()
    base = meta.get("baseline", "wireguard-go")
    figs, raw, notes = figures(rows)
    table = main_table(systems, base, figs)

    md = [f"# {title}", ""]
    md.append(f"Produced by `{meta.get('command', 'bench')}`; it overwrites this file. "
              "See bench/README.md.")
    md.append("")
    md.append(f"- Date: {meta.get('date', '?')} to {meta.get('finished', '?')}")
    md.append(f"- Machine: {meta.get('nproc', '?')} CPUs, {meta.get('cpu', '?')} "
              f"(AES-NI flag: {meta.get('aes', '?')}), {meta.get('mem', '?')} RAM, "
              f"kernel {meta.get('kernel', '?')}, {meta.get('os', '?')}")
    md.append(f"- Load: load average {meta.get('load', '?')} at the start, "
              f"{meta.get('load_end', '?')} at the end. {meta.get('note', '')}".rstrip())
    md.append(f"- Build: slirpvpn {meta.get('build', '?')}")
    md.append(f"- Method: {meta.get('method', '?')}")
    md.append("")
    md.append("## Results")
    md.append("")
    md.append(f"Each cell: the figure, and in parentheses its ratio to {base} (for loss no ratio). "
              "Throughput and packets/s: higher is better; RTT, CPU and memory: lower is better.")
    md.append("")
    md.append(table)
    md.append("")
    t = targets(figs, base)
    if t:
        md.append("### Targets (slirpvpn against " + base + ")")
        md.append("")
        md.extend(t)
        md.append("")
    md.append("## Details")
    md.append("")
    md.append("Per-run throughput in Mbit/s, in the order run; load: the 1-minute load average when "
              "the system's measurements began (2 cores).")
    md.append("")
    md.append("| system | TCP 1 flow up runs | down runs | TCP 4 flows up runs | down runs | "
              "ping lost | load | status |")
    md.append("|---|---|---|---|---|---|---|---|")
    for s in systems:
        r = raw.get(s, {})

        def runs(key):
            return ", ".join(fmt_mbit(v) for v in r.get(key, [])) or "-"

        lost = figs.get(s, {}).get("ping_lost")
        load = figs.get(s, {}).get("load_start")
        md.append(f"| {s} | {runs('tcp1_up')} | {runs('tcp1_down')} | {runs('tcp4_up')} | "
                  f"{runs('tcp4_down')} | {'-' if lost is None else '%d' % lost} | "
                  f"{'-' if load is None else '%.2f' % load} | "
                  f"{'; '.join(notes.get(s, [])) or '-'} |")
    md.append("")
    md.append("## Systems")
    md.append("")
    for s in systems:
        md.append(f"- **{s}**: {descr.get(s, '')}")
    md.append("")
    if meta.get("notes_file") and os.path.exists(meta["notes_file"]):
        md.append("## Notes")
        md.append("")
        md.append(open(meta["notes_file"]).read().rstrip())
        md.append("")
    if versions:
        md.append("## Package versions")
        md.append("")
        md.append("| package | version |")
        md.append("|---|---|")
        for p, v, *_ in versions:
            md.append(f"| {p} | {v} |")
        md.append("")
    with open(report, "w") as f:
        f.write("\n".join(md))
    print(table)
    if t:
        print()
        print("\n".join(t))


if __name__ == "__main__":
    main()
