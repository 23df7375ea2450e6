#!/usr/bin/env python3
"""globus-app against the Python globus-sdk 4.10, on this machine, in one run.

Run it through `benches/compare.sh`, which finds or makes a Python with globus-sdk
4.10 and then runs:

    PYTHON benches/compare.py [--quick] [--json OUT]

This script builds the release binaries once (`cargo bench --no-run` for the
benchmarks, `cargo build --release` for the `cli` and `quickstart` examples), runs
each Rust benchmark executable directly, runs the Python halves in `benches/python/`, and
prints every figure with its ratio, then a Markdown table for `benches/README.md`.

Measured:
  hot path      `get_authorizer(rs)` / a header String for a valid cached token,
                1 and 2 threads (adapters/blocking/benches/hot_path.rs) against
                `app.get_authorizer(rs).get_authorization_header()`
  cold start    a fresh process reads GlobusApp's default JSON token file and prints
                a header: `cli header` (release) against a UserApp script; hyperfine
                if installed, else a timing loop here
  login cost    HTTP requests per first login and per dependent-scope check, counted
                in the fake Globus Auth's log (adapters/blocking/benches/login_requests.rs)
  refresh storm 1000 threads / tokio tasks on an expired token (refresh_storm.rs)
  storage       get/store per backend (storage/benches/storage.rs) against the
                reference's JSONTokenStorage and SQLiteTokenStorage
  peak RSS      quickstart and `cli header` (release), and the reference's script,
                with GNU time (/usr/bin/time -f %M) if present, else VmHWM from /proc

Nothing here reaches the internet: the fake Globus Auth runs on 127.0.0.1, and the
cold-start commands point GLOBUS_SDK_SERVICE_URL_AUTH at a closed local port, so a
request, if one were made, would fail instead of leaving the machine.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYDIR = os.path.join(ROOT, "benches", "python")
sys.path.insert(0, PYDIR)
from common import NATIVE_CLIENT_ID, TRANSFER_ALL, TRANSFER_RS  # noqa: E402

CLOSED_PORT_URL = "http://127.0.0.1:9/"


def log(message):
    print(f"== {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- build


def build(target_dir):
    """Builds every release artifact; returns {"package dir:target": executable}.

    Two cargo calls on the same packages (so dependencies are built once, with the
    same features): the benchmarks (`cargo bench --no-run`), and the examples
    (`cargo build --release`: `cargo bench` would build them as test harnesses).
    """
    packages = ["-p", "globus-app", "-p", "globus-app-blocking", "-p", "globus-app-storage",
                "-p", "globus-app-tokio"]
    calls = [
        ("release benchmarks (cargo bench --no-run)", ["cargo", "bench", "--no-run", *packages, "--benches"]),
        ("release examples cli, quickstart (cargo build --release)",
         ["cargo", "build", "--release", *packages, "--example", "cli", "--example", "quickstart"]),
    ]
    env = dict(os.environ, CARGO_TARGET_DIR=target_dir)
    executables = {}
    for what, command in calls:
        log(f"building {what}")
        out = subprocess.run([*command, "--message-format=json-render-diagnostics"],
                             cwd=ROOT, env=env, stdout=subprocess.PIPE, check=True)
        for line in out.stdout.decode().splitlines():
            message = json.loads(line)
            if message.get("reason") == "compiler-artifact" and message.get("executable"):
                # Keyed by the package's directory in the workspace: "adapters/blocking:hot_path".
                package = os.path.relpath(os.path.dirname(message["manifest_path"]), ROOT)
                executables[f"{package}:{message['target']['name']}"] = message["executable"]
    return executables


def find(executables, suffix):
    matches = [path for name, path in executables.items() if name == suffix]
    if len(matches) != 1:
        sys.exit(f"cannot find the built {suffix} ({sorted(executables)})")
    return matches[0]


def run_bench(executable, *args, env=None):
    """Runs a bench executable as `cargo bench` would; returns its stdout."""
    out = subprocess.run(
        [executable, "--bench", *args],
        stdout=subprocess.PIPE,
        env=dict(os.environ, **(env or {})),
        check=True,
    )
    return out.stdout.decode()


# ------------------------------------------------------------------------- parsing

UNITS = {"ps": 1e-3, "ns": 1.0, "µs": 1e3, "us": 1e3, "ms": 1e6, "s": 1e9}


def parse_time(text):
    number, unit = text.split()
    return float(number) * UNITS[unit]


def parse_divan(text):
    """{(bench, group, ..., leaf): median ns} from divan's tree output."""
    results = {}
    stack = []
    for line in text.splitlines():
        if "│" not in line:
            continue
        if not line.startswith(("├", "╰", "│", " ")):
            stack = [line.split()[0]]  # the root: the bench binary's name
            continue
        depth = 0
        while line[depth * 3: depth * 3 + 3] in ("├─ ", "╰─ ", "│  ", "   "):
            depth += 1
        columns = [c.strip() for c in line[depth * 3:].split("│")]
        head = columns[0]
        match = re.match(r"^(\S+)(?:\s{2,}(\S+ \S+))?$", head)
        if not head or "item/s" in head or not match:
            continue
        stack = stack[:depth] + [match.group(1)]
        if match.group(2) and len(columns) > 2 and columns[2]:
            results[tuple(stack)] = parse_time(columns[2])
    return results


def parse_results(text):
    """{key: number} from `RESULT key=value` lines."""
    out = {}
    for line in text.splitlines():
        if line.startswith("RESULT "):
            key, value = line[len("RESULT "):].split("=", 1)
            out[key] = float(value)
    return out


# ----------------------------------------------------------------------- measuring


def python_json(python, script, *args, env=None):
    out = subprocess.run(
        [python, os.path.join(PYDIR, script), *args],
        stdout=subprocess.PIPE,
        env=dict(os.environ, **(env or {})),
        check=True,
    )
    return json.loads(out.stdout)


def time_commands(commands, env, runs_rust, runs_python, export_dir):
    """Mean and median wall seconds of each command, with hyperfine if present."""
    hyperfine = shutil.which("hyperfine")
    results = {}
    for name, (command, runs) in commands.items():
        if hyperfine:
            export = os.path.join(export_dir, f"{name}.json")
            subprocess.run(
                [hyperfine, "-N", "--warmup", "3", "--runs", str(runs),
                 "--export-json", export, " ".join(command)],
                env=env, stdout=subprocess.DEVNULL, check=True,
            )
            data = json.load(open(export))["results"][0]
            results[name] = {"mean": data["mean"], "median": data["median"],
                             "runs": runs, "tool": "hyperfine -N"}
        else:
            samples = []
            for i in range(runs + 3):
                start = time.perf_counter()
                subprocess.run(command, env=env, stdout=subprocess.DEVNULL, check=True)
                if i >= 3:
                    samples.append(time.perf_counter() - start)
            results[name] = {"mean": statistics.mean(samples), "median": statistics.median(samples),
                             "runs": runs, "tool": "subprocess loop"}
    return results


def peak_rss_kib(command, env):
    """Peak resident set size of a command, in KiB (median of 3 runs).

    With GNU time (`/usr/bin/time -f %M`, Debian's `time` package) when present.
    Not from this process's own wait4(): a child forked from this Python inherits
    its memory until exec, and the kernel's ru_maxrss counts that too. The fallback
    polls VmHWM in /proc/PID/status (a high-water mark of the exec'd program only),
    which can read low for a process that lives less than a millisecond.
    """
    gnu_time = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None
    samples = []
    for _ in range(3):
        if gnu_time:
            with tempfile.NamedTemporaryFile("r") as out:
                subprocess.run([gnu_time, "-f", "%M", "-o", out.name, *command], env=env,
                               stdout=subprocess.DEVNULL, check=True)
                samples.append(int(out.read().split()[-1]))
            continue
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
        peak = 0
        while process.poll() is None:
            try:
                with open(f"/proc/{process.pid}/status") as status:
                    for line in status:
                        if line.startswith("VmHWM:"):
                            peak = max(peak, int(line.split()[1]))
            except OSError:
                pass
            time.sleep(0.0005)
        if process.returncode != 0:
            sys.exit(f"{command} failed with {process.returncode}")
        samples.append(peak)
    return statistics.median(samples)


# --------------------------------------------------------------------------- report


def fmt_ns(ns):
    if ns < 1e3:
        return f"{ns:.0f} ns"
    if ns < 1e6:
        return f"{ns / 1e3:.1f} µs"
    if ns < 1e9:
        return f"{ns / 1e6:.2f} ms"
    return f"{ns / 1e9:.2f} s"


def fmt_rate(per_second):
    if per_second >= 1e6:
        return f"{per_second / 1e6:.2f} M/s"
    if per_second >= 1e3:
        return f"{per_second / 1e3:.1f} k/s"
    return f"{per_second:.0f} /s"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter Python timings")
    parser.add_argument("--json", help="also write the raw figures to this file")
    args = parser.parse_args()
    python = sys.executable
    import globus_sdk

    if globus_sdk.__version__ != "4.10.0":
        sys.exit(f"needs globus-sdk 4.10.0, {python} has {globus_sdk.__version__}")
    target_dir = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
    target_dir = os.path.abspath(target_dir)
    started = time.perf_counter()
    executables = build(target_dir)

    os.makedirs(os.path.join(target_dir, "tmp"), exist_ok=True)
    work = tempfile.mkdtemp(prefix="compare-", dir=os.path.join(target_dir, "tmp"))
    rows = []  # (section, what, rust, python, ratio, goal)
    raw = {"machine": machine()}
    try:
        home = os.path.join(work, "home")
        token_file = subprocess.run(
            [python, os.path.join(PYDIR, "make_token_file.py"), home],
            stdout=subprocess.PIPE, check=True,
        ).stdout.decode().strip()
        offline = dict(os.environ, HOME=home, GLOBUS_SDK_SERVICE_URL_AUTH=CLOSED_PORT_URL)
        offline.pop("GLOBUS_SDK_ENVIRONMENT", None)
        offline_env = {k: offline[k] for k in ("HOME", "GLOBUS_SDK_SERVICE_URL_AUTH")}

        # ---- hot path
        log("hot path (divan, then the reference)")
        divan = parse_divan(run_bench(find(executables, "adapters/blocking:hot_path")))
        seconds = "1" if args.quick else "2"
        py_hot = python_json(python, "hot_path.py", seconds, env=offline_env)
        raw["hot_path"] = {"rust": {"/".join(k): v for k, v in divan.items()}, "python": py_hot}
        for threads in (1, 2):
            py_ns = py_hot[f"threads_{threads}"]["ns_per_call"]
            for bench, label in (("get_authorizer", "get_authorizer (shared header)"),
                                 ("authorization_header", "authorization_header (String)")):
                ns = divan[("hot_path", bench, f"t={threads}")]
                rows.append(("hot path", f"{label}, {threads} thread{'s' * (threads > 1)}, per call",
                             fmt_ns(ns), fmt_ns(py_ns), py_ns / ns, "≥100×"))
        clock = divan.get(("hot_path", "reference_clock_read"))
        if clock is not None:
            rows.append(("hot path", "for reference: one system clock read (inside every call above)",
                         fmt_ns(clock), "", None, ""))
        first = divan[("hot_path", "first_header_from_file")]
        rows.append(("hot path", "first header in a process (build app, read file)",
                     fmt_ns(first), "", None, ""))

        # ---- cold start
        log("cold start (a fresh process reads the token file and prints a header)")
        cli = find(executables, ".:cli")
        rust_cmd = [cli, "--client-id", NATIVE_CLIENT_ID, "--scope",
                    f"{TRANSFER_RS}={TRANSFER_ALL}", "header", TRANSFER_RS]
        py_cmd = [python, os.path.join(PYDIR, "cold_header.py")]
        rust_header = subprocess.run(rust_cmd, env=offline, stdout=subprocess.PIPE, check=True).stdout
        py_header = subprocess.run(py_cmd, env=offline, stdout=subprocess.PIPE, check=True).stdout
        if rust_header != py_header:
            sys.exit("the Rust and Python cold-start commands printed different headers")
        cold = time_commands(
            {"rust": (rust_cmd, 50 if args.quick else 200), "python": (py_cmd, 10 if args.quick else 30)},
            offline, None, None, work,
        )
        raw["cold_start"] = cold
        rows.append(("cold start", f"fresh process, JSON file -> header (mean, {cold['rust']['tool']})",
                     fmt_ns(cold["rust"]["mean"] * 1e9), fmt_ns(cold["python"]["mean"] * 1e9),
                     cold["python"]["mean"] / cold["rust"]["mean"], "≥30×"))

        # ---- login cost
        log("login cost (requests in the fake Globus Auth's log)")
        login = parse_results(run_bench(find(executables, "adapters/blocking:login_requests"),
                                        env={"GLOBUS_APP_PYTHON": python}))
        raw["login_requests"] = login
        for key, label, goal in (("login", "first login (transfer + openid): requests", "1"),
                                 ("login-dependent", "first login, dependent scope: requests", ""),
                                 ("reuse-dependent", "next run, dependent-scope check: requests", "")):
            r, p = login[f"login_requests.{key}.rust"], login.get(f"login_requests.{key}.python")
            rows.append(("login cost", label, f"{r:.0f}", "" if p is None else f"{p:.0f}",
                         None if p is None else p / r, goal))

        # ---- refresh storm
        log("refresh storm (1000 threads, then 1000 tokio tasks)")
        storm = parse_results(run_bench(find(executables, "adapters/blocking:refresh_storm")))
        storm.update(parse_results(run_bench(find(executables, "adapters/tokio:refresh_storm"))))
        raw["refresh_storm"] = storm
        for key, label in (("threads", "1000 threads"), ("tokio", "1000 tokio tasks")):
            get = lambda name: storm[f"refresh_storm.{key}.{name}"]  # noqa: E731
            rows.append(("refresh storm", f"{label}: refresh requests per storm",
                         f"{get('max_refreshes'):.0f}", "", None, "1"))
            rows.append(("refresh storm", f"{label}: storm wall time (first released to last served)",
                         f"{get('storm_ms'):.2f} ms", "", None, ""))
            rows.append(("refresh storm", f"{label}: one caller's refresh",
                         f"{get('single_ms'):.2f} ms", "", None, ""))
            rows.append(("refresh storm", f"{label}: same callers on a valid token (release cost)",
                         f"{get('baseline_ms'):.2f} ms", "", None, ""))
            rows.append(("refresh storm", f"{label}: storm / one refresh",
                         f"{get('storm_ms') / get('single_ms'):.1f}×", "", None, "≤2×"))

        # ---- storage
        log("storage (divan, then the reference)")
        storage = parse_divan(run_bench(find(executables, "storage:storage")))
        storage_dir = os.path.join(work, "storage")
        os.makedirs(storage_dir)
        py_storage = python_json(python, "storage.py", storage_dir, "0.3" if args.quick else "0.6")
        raw["storage"] = {"rust": {"/".join(k): v for k, v in storage.items()}, "python": py_storage}
        for op in ("get_one", "get_all", "store"):
            for n in ("1", "20"):
                for backend, py_backend in (("Json", "json"), ("Sqlite", "sqlite")):
                    ns = storage[("storage", op, backend, n)]
                    py_ns = py_storage[py_backend][op][n]
                    rows.append(("storage", f"{op} {backend} ({n} RS), ops/s",
                                 fmt_rate(1e9 / ns), fmt_rate(1e9 / py_ns), py_ns / ns, ""))
                ns = storage[("storage", op, "Memory", n)]
                rows.append(("storage", f"{op} Memory ({n} RS), ops/s", fmt_rate(1e9 / ns), "", None, ""))

        # ---- peak memory
        log("peak RSS")
        quickstart = find(executables, ".:quickstart")
        rss = {
            "quickstart": peak_rss_kib([quickstart], dict(os.environ)),
            "cli_header": peak_rss_kib(rust_cmd, offline),
            "python_header": peak_rss_kib(py_cmd, offline),
        }
        raw["peak_rss_kib"] = rss
        rows.append(("peak RSS", "quickstart (whole story, fake server in-process)",
                     f"{rss['quickstart'] / 1024:.1f} MiB", "", None, ""))
        rows.append(("peak RSS", "cold header (cli header / UserApp script)",
                     f"{rss['cli_header'] / 1024:.1f} MiB", f"{rss['python_header'] / 1024:.1f} MiB",
                     rss["python_header"] / rss["cli_header"], ""))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    raw["rows"] = rows
    raw["seconds"] = time.perf_counter() - started
    report(rows, raw)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(raw, f, indent=1)


def machine():
    info = {"python": sys.version.split()[0], "cpus": os.cpu_count()}
    try:
        info["rustc"] = subprocess.run(["rustc", "--version"], stdout=subprocess.PIPE,
                                       check=True).stdout.decode().strip()
        info["load"] = os.getloadavg()
    except (OSError, subprocess.CalledProcessError):
        pass
    return info


def report(rows, raw):
    print()
    print(f"globus-app vs globus-sdk 4.10 (Python {raw['machine']['python']}), "
          f"{raw['machine'].get('rustc', 'rustc ?')}, {raw['machine']['cpus']} CPUs, "
          f"load before the run {raw['machine'].get('load', ('?',))[0]}; "
          f"run took {raw['seconds']:.0f} s")
    print()
    print("| area | measure | globus-app | globus-sdk 4.10 | ratio | goal |")
    print("|---|---|---:|---:|---:|---|")
    for section, what, rust, python, ratio, goal in rows:
        ratio_text = "" if ratio is None else f"{ratio:,.1f}×"
        print(f"| {section} | {what} | {rust} | {python} | {ratio_text} | {goal} |")


if __name__ == "__main__":
    main()
