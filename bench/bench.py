#!/usr/bin/env python3
"""`just bench`: Gatehouse against the machine's own ceilings, side by side.

Starts the release `gatehouse serve` on a fresh database, drives it with wrk
(a separate process), and in the same run measures what the machine allows:
the Argon2 hash rate at the same cost with one thread per core, `pgbench -S`,
and pgbench of refresh-token rotation as a transaction and as one statement,
all at the same client count. Several rounds run back to back and every
round is reported, not the best one. Then a memory phase: 10,000
registrations and 1,000 concurrent logins, with peak and idle RSS. Last,
the same service on the embedded SQLite store, against SQLite's ceilings
measured the same way (`sqlite_ceiling`: point selects and the bare
rotation transaction, one thread per core).

Writes BENCHMARKS.md at the repository root. Traffic goes to 127.0.0.1 only;
every load step is bounded in time.
"""

import datetime
import json
import os
import platform
import re
import resource
import secrets
import signal
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
PG = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "64"))
HASH_CLIENTS = int(os.environ.get("BENCH_HASH_CLIENTS", "16"))
# Accounts the login load signs in, in turn (see bench/wrk/login.lua).
LOGIN_ACCOUNTS = int(os.environ.get("BENCH_LOGIN_ACCOUNTS", "64"))
REGISTRATIONS = int(os.environ.get("BENCH_REGISTRATIONS", "10000"))
FLOOD = int(os.environ.get("BENCH_FLOOD_CONNECTIONS", "1000"))
ARGON2 = (19456, 2, 1)
ARGON2_IMPLEMENTATIONS = []
PASSWORD = "correct horse battery staple"
THREADS = 2
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))


def log(message):
    print(message, flush=True)


def run(cmd, env=None, check=True, capture=True):
    result = subprocess.run(
        cmd, env={**os.environ, **(env or {})}, text=True,
        stdout=subprocess.PIPE if capture else None, stderr=subprocess.STDOUT if capture else None,
    )
    if check and result.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{result.stdout}")
    return result.stdout or ""


def psql(db, sql):
    return run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", f"{PG}/{db}", "-c", sql])


def ensure_tools():
    if shutil.which("wrk") is None:
        if os.geteuid() == 0 and shutil.which("apt-get"):
            log("installing wrk (Debian package)")
            run(["apt-get", "update", "-qq"])
            run(["apt-get", "install", "-y", "-qq", "wrk"])
        else:
            raise SystemExit("wrk is required: install it (Debian/Ubuntu: apt-get install wrk)")
    if shutil.which("pgbench") is None:
        raise SystemExit("pgbench is required (PostgreSQL client tools)")


def raise_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 65536) if hard != resource.RLIM_INFINITY else 65536
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), hard))


# ---------------------------------------------------------------- service


class Service:
    def __init__(self, database_url):
        self.port = 18000 + secrets.randbelow(2000)
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile(prefix="gatehouse-bench-", suffix=".log", delete=False)
        # Without SMTP every mail is an .eml file: keep them out of the repository.
        self.mail_dir = tempfile.mkdtemp(prefix="gatehouse-bench-mail-")
        env = {
            "AUTH_MAIL_DIR": self.mail_dir,
            "DATABASE_URL": database_url,
            "AUTH_LISTEN_ADDR": f"127.0.0.1:{self.port}",
            "AUTH_JWT_SECRET": secrets.token_urlsafe(48),
            "AUTH_DATA_KEY": secrets.token_urlsafe(48),
            "AUTH_ACCESS_TOKEN_TTL_SECS": "7200",
            # The failed-login timing phase fails the same account 50 times
            # on purpose; the per-account lockout would answer 429 instead.
            "AUTH_LOGIN_MAX_FAILURES": "1000",
            # wrk drives every request from one address: no per-IP limit.
            "AUTH_RATE_LIMIT_PER_MIN": "0",
            "RUST_LOG": os.environ.get("RUST_LOG", "info"),
        }
        self.proc = subprocess.Popen(
            [os.path.join(TARGET, "release", "gatehouse"), "serve"],
            env={**os.environ, **env}, stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"{self.base}/health/ready", timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            if self.proc.poll() is not None:
                raise SystemExit(f"gatehouse exited; see {self.log.name}")
            time.sleep(0.2)
        raise SystemExit(f"gatehouse did not become ready; see {self.log.name}")

    def rss_kib(self, field="VmRSS"):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        return 0

    def post(self, path, body):
        req = urllib.request.Request(
            self.base + path, data=json.dumps(body).encode(), method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read() or b"{}")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.mail_dir, ignore_errors=True)


# ---------------------------------------------------------------- load


def wrk(script, url, connections, seconds, env=None, threads=THREADS):
    out = run(
        ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--timeout", "10s",
         "-s", os.path.join(BENCH, "wrk", script), url],
        env={"BENCH_THREADS": str(threads), **(env or {})},
    )
    match = re.search(r"WRK_RESULT (.*)", out)
    if not match:
        raise SystemExit(f"wrk printed no result:\n{out}")
    fields = dict(kv.split("=") for kv in match.group(1).split())
    return {
        "rps": float(fields["rps"]),
        "p50_ms": int(fields["p50_us"]) / 1000,
        "p99_ms": int(fields["p99_us"]) / 1000,
        "requests": int(fields["requests"]),
        "errors": int(fields["errors"]),
    }


def pgbench(db, args, seconds):
    logdir = tempfile.mkdtemp(prefix="pgbench-log-")
    out = run(
        ["pgbench", "-n", "-M", "prepared", "-c", str(CLIENTS), "-j", str(THREADS), "-T", str(seconds),
         "-l", "--log-prefix", os.path.join(logdir, "tx"), *args, f"{PG}/{db}"],
    )
    match = re.search(r"tps = ([\d.]+) \((?:without initial connection time|excluding connections establishing)\)", out)
    if not match:
        raise SystemExit(f"pgbench printed no tps:\n{out}")
    latencies = []
    for name in os.listdir(logdir):
        with open(os.path.join(logdir, name)) as f:
            latencies.extend(int(line.split()[2]) for line in f if line.strip())
    shutil.rmtree(logdir, ignore_errors=True)
    latencies.sort()
    pct = lambda p: latencies[min(len(latencies) - 1, int(len(latencies) * p))] / 1000 if latencies else 0
    return {"rps": float(match.group(1)), "p50_ms": pct(0.50), "p99_ms": pct(0.99)}


ARGON2_DIR = os.path.join(BENCH, "argon2")


def argon2_implementations():
    """Argon2id as Gatehouse computes it, then every other implementation
    this machine can run (installed on first use): @node-rs/argon2 (Rust,
    SIMD, the fastest we know of) and libargon2 (the C reference, through
    argon2-cffi). The ceiling is the fastest of them, not our own rate."""
    found = [("Gatehouse (argon2-rust)", [os.path.join(TARGET, "release", "examples", "argon2_ceiling")])]
    if shutil.which("npm") and shutil.which("node"):
        if not os.path.isdir(os.path.join(ARGON2_DIR, "node_modules", "@node-rs", "argon2")):
            log("installing @node-rs/argon2 (bench/argon2)")
            run(["npm", "install", "--no-audit", "--no-fund", "--prefix", ARGON2_DIR], check=False)
        if os.path.isdir(os.path.join(ARGON2_DIR, "node_modules", "@node-rs", "argon2")):
            found.append(("@node-rs/argon2", ["node", os.path.join(ARGON2_DIR, "node_rs.mjs")]))
    venv = os.path.join(ARGON2_DIR, ".venv")
    python = os.path.join(venv, "bin", "python3")
    if not os.path.exists(python):
        log("installing argon2-cffi (bench/argon2/.venv)")
        run([sys.executable, "-m", "venv", venv], check=False)
        run([python, "-m", "pip", "install", "-q", "argon2-cffi==25.1.0"], check=False)
    if os.path.exists(python) and \
            subprocess.run([python, "-c", "import argon2"], capture_output=True).returncode == 0:
        found.append(("libargon2 (argon2-cffi)", [python, os.path.join(ARGON2_DIR, "libargon2.py")]))
    return found


def argon2_ceiling(seconds, implementations):
    """Each implementation's rate, and the fastest as the ceiling."""
    rates = {}
    for name, cmd in implementations:
        out = run([*cmd, str(seconds), *map(str, ARGON2)])
        rates[name] = float(out.split()[-1])
    fastest = max(rates, key=rates.get)
    return {"rps": rates[fastest], "p50_ms": 0, "p99_ms": 0, "fastest": fastest, "rates": rates,
            "ours": rates[implementations[0][0]]}


def argon2_ours(ceiling):
    return {"rps": ceiling["ours"], "p50_ms": 0, "p99_ms": 0}


def sqlite_ceiling(mode, seconds):
    out = run([os.path.join(TARGET, "release", "examples", "sqlite_ceiling"), mode, str(seconds)])
    return {"rps": float(out.split()[-1]), "p50_ms": 0, "p99_ms": 0}


def sqlite_rounds(suffix):
    """The service on a fresh SQLite file, against SQLite's own ceilings."""
    directory = tempfile.mkdtemp(prefix="gatehouse-bench-sqlite-")
    service = Service(f"sqlite://{directory}/gatehouse.db")
    rounds = []
    try:
        email = f"bench-lite-{suffix}@example.com"
        service.post("/v1/auth/register", {"email": email, "password": PASSWORD})
        register_login_accounts(service, email)
        access = service.post("/v1/auth/login", {"email": email, "password": PASSWORD})["access_token"]
        wrk("me.lua", service.base, CLIENTS, 3, {"BENCH_ACCESS_TOKEN": access})
        for i in range(1, ROUNDS + 1):
            log(f"sqlite round {i}/{ROUNDS}")
            r = {}
            r["argon2"] = argon2_ceiling(SECONDS // 2, ARGON2_IMPLEMENTATIONS)
            r["login"] = wrk("login.lua", service.base, HASH_CLIENTS, SECONDS,
                             {"BENCH_EMAIL": email, "BENCH_ACCOUNTS": str(LOGIN_ACCOUNTS)})
            r["register"] = wrk("register.lua", service.base, HASH_CLIENTS, SECONDS,
                                {"BENCH_RUN": f"{suffix}-lite{i}"})
            r["select"] = sqlite_ceiling("select", SECONDS)
            r["me"] = wrk("me.lua", service.base, CLIENTS, SECONDS, {"BENCH_ACCESS_TOKEN": access})
            r["http"] = wrk("health.lua", service.base, CLIENTS, SECONDS // 2)
            r["rotate_tx"] = sqlite_ceiling("rotate", SECONDS)
            tokens = seed_refresh_tokens(service, f"lite{i}", CLIENTS * 2)
            r["refresh"] = wrk("refresh.lua", service.base, CLIENTS, SECONDS, {"BENCH_TOKENS": tokens})
            os.unlink(tokens)
            for name in ("login", "register", "me", "refresh"):
                log(f"  {name:<9} {fmt(r[name])}  errors {r[name]['errors']}")
            for name in ("argon2", "select", "http", "rotate_tx"):
                log(f"  {name:<11} {fmt(r[name])}")
            rounds.append(r)
        return rounds, service.rss_kib("VmHWM")
    finally:
        service.stop()
        shutil.rmtree(directory, ignore_errors=True)


def seed_refresh_tokens(service, tag, count):
    # Live refresh tokens: a private file (mode 0600) with an unguessable name.
    fd, path = tempfile.mkstemp(prefix="gatehouse-bench-tokens-")
    with os.fdopen(fd, "w") as f:
        for i in range(count):
            r = service.post("/v1/auth/register",
                             {"email": f"seed-{tag}-{i}-{os.getpid()}@example.com", "password": PASSWORD})
            f.write(r["refresh_token"] + "\n")
    return path


def register_login_accounts(service, email):
    """The accounts login.lua signs in: `local-N@domain` for N below LOGIN_ACCOUNTS."""
    local, domain = email.split("@")
    for n in range(LOGIN_ACCOUNTS):
        service.post("/v1/auth/register", {"email": f"{local}-{n}@{domain}", "password": PASSWORD})


def failed_login_timing(service, known_email, count=50):
    """An unknown email must cost what a wrong password costs."""
    result = {}
    for name, email in (("wrong password", known_email), ("unknown email", f"nobody-{os.getpid()}@example.com")):
        samples = []
        for _ in range(count):
            started = time.perf_counter()
            try:
                service.post("/v1/auth/login", {"email": email, "password": "not the password at all"})
            except urllib.error.HTTPError as e:
                e.read()
            samples.append((time.perf_counter() - started) * 1000)
        samples.sort()
        result[name] = (samples[len(samples) // 2], samples[min(len(samples) - 1, int(len(samples) * 0.99))])
    return result


def forgot_timing(service, tag, count=60):
    """`forgot` must take as long for an unknown email as for an account.

    Each known email is a fresh account, so that every request writes its
    token, mail and audit row (none is throttled); the two kinds alternate,
    so that drift in the machine's load touches both alike.
    """
    known = []
    for n in range(count):
        email = f"forgot-{tag}-{n}@example.com"
        service.post("/v1/auth/register", {"email": email, "password": PASSWORD})
        known.append(email)
    samples = {"registered email": [], "unknown email": []}
    for n, email in enumerate(known):
        for name, address in (("registered email", email), ("unknown email", f"nobody-{tag}-{n}@example.com")):
            started = time.perf_counter()
            service.post("/v1/auth/password/forgot", {"email": address})
            samples[name].append((time.perf_counter() - started) * 1000)
    result = {}
    for name, values in samples.items():
        values.sort()
        result[name] = (values[len(values) // 2], values[min(len(values) - 1, int(len(values) * 0.99))])
    return result


# ---------------------------------------------------------------- report


def machine():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    with open("/proc/meminfo") as f:
        mem_kib = int(f.readline().split()[1])
    pg_version = run(["psql", "-X", "-At", f"{PG}/postgres", "-c", "SHOW server_version"]).strip()
    commit = run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], check=False).strip()
    return {
        "cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem_kib / 1048576, 1),
        "kernel": platform.release(), "postgres": pg_version, "commit": commit,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def serial(a, b):
    """The rate of doing a's work and b's work in series on the same cores."""
    return {"rps": 1 / (1 / a["rps"] + 1 / b["rps"]), "p50_ms": 0, "p99_ms": 0}


def fmt(x):
    return f"{x['rps']:,.0f}/s p50 {x['p50_ms']:.2f} ms p99 {x['p99_ms']:.2f} ms"


def write_report(info, rounds, memory, timing, forgot, lite, lite_peak):
    lines = [
        "# Benchmarks",
        "",
        "Written by `just bench` (`bench/bench.py`); every figure below comes from one run.",
        "Gatehouse (release build, `gatehouse serve`) and its ceilings were measured on the same machine,",
        f"at the same client count ({CLIENTS} connections; {HASH_CLIENTS} for hashing endpoints), in rounds",
        f"of {SECONDS} s run back to back. Every round is listed, not the best one: this machine is noisy.",
        "",
        f"- Machine: {info['cpu']}, {info['cores']} cores, {info['memory_gib']} GiB, Linux {info['kernel']}",
        f"- PostgreSQL {info['postgres']} on the same machine; load generator: wrk, a separate process",
        f"- Argon2id m={ARGON2[0]} t={ARGON2[1]} p={ARGON2[2]}; commit {info['commit']}; {info['date']}",
        "",
        "## Throughput against the ceilings",
        "",
        "| round | endpoint | Gatehouse | ceiling | ceiling figure | ratio |",
        "|---|---|---|---|---|---|",
    ]
    for i, r in enumerate(rounds, 1):
        pairs = [
            ("POST /v1/auth/login", r["login"], f"Argon2, fastest: {r['argon2']['fastest']}", r["argon2"]),
            ("POST /v1/auth/login", r["login"], "Argon2 as Gatehouse computes it", argon2_ours(r["argon2"])),
            ("POST /v1/auth/register", r["register"], f"Argon2, fastest: {r['argon2']['fastest']}", r["argon2"]),
            ("GET /v1/users/me", r["me"], "pgbench -S", r["select"]),
            ("GET /v1/users/me", r["me"], "pgbench -S and HTTP in series", serial(r["select"], r["http"])),
            ("POST /v1/auth/refresh", r["refresh"], "rotation transaction", r["rotate_tx"]),
            ("POST /v1/auth/refresh", r["refresh"], "rotation, one statement", r["rotate_stmt"]),
        ]
        for name, ours, ceiling_name, ceiling in pairs:
            ratio = ours["rps"] / ceiling["rps"] if ceiling["rps"] else 0
            ceiling_text = f"{ceiling['rps']:,.0f}/s" if not ceiling["p99_ms"] else fmt(ceiling)
            lines.append(f"| {i} | {name} | {fmt(ours)} | {ceiling_name} | {ceiling_text} | {ratio:.2f} |")
        lines.append(f"| {i} | GET /health/live (the HTTP stack alone) | {fmt(r['http'])} | | | |")
        lines.append(f"| {i} | GET /health/live during a login flood | {fmt(r['health'])} | | | |")
    lines += [
        "",
        "### Argon2id, one thread per core, every implementation on this machine",
        "",
        "The login and registration ceiling is the fastest of these, measured in each round at the same",
        "cost (hashes per second):",
        "",
        "| round | " + " | ".join(rounds[0]["argon2"]["rates"]) + " |",
        "|---|" + "---|" * len(rounds[0]["argon2"]["rates"]),
        *(f"| {i} | " + " | ".join(f"{v:,.1f}" for v in r["argon2"]["rates"].values()) + " |"
          for i, r in enumerate(rounds, 1)),
    ]
    lines += [
        "",
        "The rotation ceilings are the bare rotation (retire one token, insert its successor, found by",
        "session id). A refresh also finds the token by digest, checks its session and user, touches the",
        "session and writes an audit row in the same statement, and signs a JWT.",
    ]
    lines += ["", "Errors (non-2xx or socket errors) per round: " + "; ".join(
        f"round {i}: " + ", ".join(f"{k} {r[k]['errors']}" for k in ("login", "register", "me", "refresh", "health"))
        for i, r in enumerate(rounds, 1))]
    lines += [
        "",
        "## Memory",
        "",
        f"Resident set of the `gatehouse` process. Peak is the kernel's high-water mark (VmHWM) over the",
        f"whole run, including {memory['registrations']:,} registrations ({HASH_CLIENTS} connections) and a login",
        f"flood of {FLOOD:,} concurrent connections. The bound is 64 MiB + hashing slots x m_cost.",
        "",
        "| figure | MiB |",
        "|---|---|",
        f"| idle after start-up and one hash | {memory['cold_idle'] / 1024:.1f} |",
        f"| warm idle: idle after a short burst of each load (see below) | {memory['warm_idle'] / 1024:.1f} |",
        f"| peak (VmHWM) | {memory['peak'] / 1024:.1f} |",
        f"| bound: 64 + {memory['slots']} x {ARGON2[0] / 1024:.1f} | {64 + memory['slots'] * ARGON2[0] / 1024:.1f} |",
        f"| idle 5 s after the load | {memory['after'] / 1024:.1f} |",
        "",
        "The warm-up runs each kind of load once for a few seconds at full connection counts (1,000",
        "connections on /health/live and on login, 64 on /me, 16 registering), then idles 5 s. What stays",
        "above the start-up figure is the allocator keeping freed per-connection buffers for reuse; it",
        "does not grow with further load, which the last row shows.",
        "",
        f"Login flood ({FLOOD:,} connections, {SECONDS} s): {fmt(memory['flood'])}, {memory['flood']['errors']:,} errors"
        " (503 OVERLOADED is the expected answer to a request that waits too long for a hashing slot).",
        "",
        "## Failed logins, one at a time",
        "",
        "An unknown email must cost what a wrong password costs (a dummy verification), so that timing",
        "does not tell whether an account exists.",
        "",
        "| case | p50 ms | p99 ms |",
        "|---|---|---|",
        *(f"| {name} | {p50:.2f} | {p99:.2f} |" for name, (p50, p99) in timing.items()),
        "",
        "## Password reset requests, one at a time",
        "",
        "`POST /v1/auth/password/forgot` answers 202 either way, and must take as long for an unknown",
        "email as for an account (which gets a token, a queued mail and an audit row in the same statement),",
        "so that timing does not tell whether an account exists. The two kinds alternate.",
        "",
        "| case | p50 ms | p99 ms |",
        "|---|---|---|",
        *(f"| {name} | {p50:.2f} | {p99:.2f} |" for name, (p50, p99) in forgot.items()),
        "",
        "## The embedded SQLite store",
        "",
        "The same service with `DATABASE_URL=sqlite://…` (a fresh file on local disk), against SQLite's",
        "ceilings measured in the same run by `sqlite_ceiling` on a file migrated like the store's, with the",
        "store's settings (WAL, synchronous = NORMAL), one thread and connection per core: point selects of a",
        "session by id, and the bare rotation as a `BEGIN IMMEDIATE` transaction. SQLite has one writer at a",
        "time: every login, registration and refresh waits its turn for the write lock.",
        "",
        "| round | endpoint | Gatehouse | ceiling | ceiling figure | ratio |",
        "|---|---|---|---|---|---|",
    ]
    for i, r in enumerate(lite, 1):
        pairs = [
            ("POST /v1/auth/login", r["login"], f"Argon2, fastest: {r['argon2']['fastest']}", r["argon2"]),
            ("POST /v1/auth/login", r["login"], "Argon2 as Gatehouse computes it", argon2_ours(r["argon2"])),
            ("POST /v1/auth/register", r["register"], f"Argon2, fastest: {r['argon2']['fastest']}", r["argon2"]),
            ("GET /v1/users/me", r["me"], "SQLite point select", r["select"]),
            ("GET /v1/users/me", r["me"], "SQLite select and HTTP in series", serial(r["select"], r["http"])),
            ("POST /v1/auth/refresh", r["refresh"], "SQLite rotation transaction", r["rotate_tx"]),
        ]
        for name, ours, ceiling_name, ceiling in pairs:
            ratio = ours["rps"] / ceiling["rps"] if ceiling["rps"] else 0
            lines.append(f"| {i} | {name} | {fmt(ours)} | {ceiling_name} | {ceiling['rps']:,.0f}/s | {ratio:.2f} |")
        lines.append(f"| {i} | GET /health/live (the HTTP stack alone) | {fmt(r['http'])} | | | |")
    lines += [
        "",
        "Errors (non-2xx or socket errors) per round: " + "; ".join(
            f"round {i}: " + ", ".join(f"{k} {r[k]['errors']}" for k in ("login", "register", "me", "refresh"))
            for i, r in enumerate(lite, 1)),
        "",
        f"Peak resident set of the SQLite run's process (VmHWM): {lite_peak / 1024:.1f} MiB.",
        "",
    ]
    with open(os.path.join(ROOT, "BENCHMARKS.md"), "w") as f:
        f.write("\n".join(lines))


# ---------------------------------------------------------------- main


def main():
    # A stop (Ctrl-C, timeout) still stops the service and drops the databases.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    ensure_tools()
    raise_fd_limit()
    global ARGON2_IMPLEMENTATIONS
    ARGON2_IMPLEMENTATIONS = argon2_implementations()
    if not os.environ.get("BENCH_NO_BUILD"):
        log("building release binaries")
        run(["cargo", "build", "--release", "-q", "-p", "gatehouse-server", "--bin", "gatehouse"], capture=False)
        run(["cargo", "build", "--release", "-q", "-p", "gatehouse-adapter-crypto", "--example",
             "argon2_ceiling"], capture=False)
        run(["cargo", "build", "--release", "-q", "-p", "gatehouse-adapter-sqlite", "--example",
             "sqlite_ceiling"], capture=False)

    suffix = f"{os.getpid()}"
    service_db, select_db, rotate_db = (f"bench_gatehouse_{suffix}", f"bench_pgbench_{suffix}",
                                        f"bench_rotation_{suffix}")
    info = machine()
    service = None
    try:
        log("preparing databases")
        psql("postgres", f"CREATE DATABASE {select_db}")
        run(["pgbench", "-i", "-q", "-s", "5", f"{PG}/{select_db}"])
        run([os.path.join(TARGET, "release", "gatehouse"), "migrate"],
            env={"DATABASE_URL": f"{PG}/{rotate_db}", "AUTH_JWT_SECRET": secrets.token_urlsafe(48),
                 "AUTH_DATA_KEY": secrets.token_urlsafe(48)})
        run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", f"{PG}/{rotate_db}", "-f",
             os.path.join(BENCH, "sql", "seed_rotation.sql")])

        service = Service(f"{PG}/{service_db}")
        slots = os.cpu_count()
        email = f"bench-{suffix}@example.com"
        service.post("/v1/auth/register", {"email": email, "password": PASSWORD})
        time.sleep(2)
        cold_idle = service.rss_kib()
        access = service.post("/v1/auth/login", {"email": email, "password": PASSWORD})["access_token"]
        # Warm-up: every kind of load once, briefly, at full connection
        # counts, so that pools, thread pools and the allocator's per-thread
        # caches are as they will be; "warm idle" is measured after it.
        log("warming up")
        wrk("health.lua", service.base, FLOOD, 3)
        wrk("me.lua", service.base, CLIENTS, 3, {"BENCH_ACCESS_TOKEN": access})
        register_login_accounts(service, email)
        wrk("login.lua", service.base, FLOOD, 4,
            {"BENCH_EMAIL": email, "BENCH_ACCOUNTS": str(LOGIN_ACCOUNTS)})
        wrk("register.lua", service.base, HASH_CLIENTS, 3, {"BENCH_RUN": f"{suffix}-warm"})
        time.sleep(5)
        warm_idle = service.rss_kib()

        rounds = []
        for i in range(1, ROUNDS + 1):
            log(f"round {i}/{ROUNDS}")
            r = {}
            r["argon2"] = argon2_ceiling(SECONDS // 2, ARGON2_IMPLEMENTATIONS)
            r["login"] = wrk("login.lua", service.base, HASH_CLIENTS, SECONDS,
                             {"BENCH_EMAIL": email, "BENCH_ACCOUNTS": str(LOGIN_ACCOUNTS)})
            r["register"] = wrk("register.lua", service.base, HASH_CLIENTS, SECONDS,
                                {"BENCH_RUN": f"{suffix}-r{i}"})
            r["select"] = pgbench(select_db, ["-S"], SECONDS)
            r["me"] = wrk("me.lua", service.base, CLIENTS, SECONDS, {"BENCH_ACCESS_TOKEN": access})
            # The HTTP stack alone (no database), to show what /me can reach:
            # one HTTP request plus one query, in series on the same cores.
            r["http"] = wrk("health.lua", service.base, CLIENTS, SECONDS // 2)
            r["rotate_tx"] = pgbench(rotate_db, ["-f", os.path.join(BENCH, "sql", "rotate_transaction.sql")],
                                     SECONDS)
            r["rotate_stmt"] = pgbench(rotate_db, ["-f", os.path.join(BENCH, "sql", "rotate_statement.sql")],
                                       SECONDS)
            tokens = seed_refresh_tokens(service, f"r{i}", CLIENTS * 2)
            r["refresh"] = wrk("refresh.lua", service.base, CLIENTS, SECONDS, {"BENCH_TOKENS": tokens})
            os.unlink(tokens)
            # /health/live while logins saturate every hashing slot.
            flood = subprocess.Popen(
                ["wrk", "-t", "1", "-c", str(HASH_CLIENTS * 2), "-d", f"{SECONDS + 2}s",
                 "-s", os.path.join(BENCH, "wrk", "login.lua"), service.base],
                env={**os.environ, "BENCH_EMAIL": f"bench-{suffix}@example.com",
                     "BENCH_ACCOUNTS": str(LOGIN_ACCOUNTS)},
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            time.sleep(1)
            r["health"] = wrk("health.lua", service.base, 4, SECONDS - 2, threads=1)
            flood.wait()
            for name in ("login", "register", "me", "refresh", "health"):
                log(f"  {name:<9} {fmt(r[name])}  errors {r[name]['errors']}")
            for name in ("argon2", "select", "http", "rotate_tx", "rotate_stmt"):
                log(f"  {name:<11} {fmt(r[name])}")
            rounds.append(r)

        # Logins the flood left queued for a hashing slot drain first.
        time.sleep(4)
        timing = failed_login_timing(service, f"bench-{suffix}@example.com")
        for name, (p50, p99) in timing.items():
            log(f"  401 login, {name}: p50 {p50:.2f} ms, p99 {p99:.2f} ms")
        forgot = forgot_timing(service, suffix)
        for name, (p50, p99) in forgot.items():
            log(f"  202 forgot, {name}: p50 {p50:.2f} ms, p99 {p99:.2f} ms")

        log(f"memory: {REGISTRATIONS} registrations, then {FLOOD} concurrent logins")
        # wrk runs by time, so register in bursts sized from the last rate
        # until the database holds enough accounts.
        rate, burst = 50.0, 0
        while True:
            have = int(run(["psql", "-X", "-At", f"{PG}/{service_db}", "-c", "SELECT count(*) FROM users"]))
            if have >= REGISTRATIONS:
                break
            seconds = max(2, min(60, int((REGISTRATIONS - have) / max(rate, 1.0)) + 1))
            burst += 1
            rate = wrk("register.lua", service.base, HASH_CLIENTS, seconds,
                       {"BENCH_RUN": f"{suffix}-mem{burst}"})["rps"]
        flood = wrk("login.lua", service.base, FLOOD, SECONDS,
                    {"BENCH_EMAIL": f"bench-{suffix}@example.com", "BENCH_ACCOUNTS": str(LOGIN_ACCOUNTS)})
        time.sleep(5)
        memory = {
            "registrations": have, "slots": slots, "warm_idle": warm_idle, "cold_idle": cold_idle,
            "peak": service.rss_kib("VmHWM"), "after": service.rss_kib(), "flood": flood,
        }
        log(f"  start-up idle {cold_idle / 1024:.1f} MiB, warm idle {warm_idle / 1024:.1f} MiB, peak {memory['peak'] / 1024:.1f} MiB, "
            f"after {memory['after'] / 1024:.1f} MiB (bound {64 + slots * ARGON2[0] / 1024:.1f} MiB)")
        service.stop()
        service = None
        lite, lite_peak = sqlite_rounds(suffix)
        write_report(info, rounds, memory, timing, forgot, lite, lite_peak)
        log("wrote BENCHMARKS.md")
    finally:
        if service:
            service.stop()
        for db in (service_db, select_db, rotate_db):
            run(["psql", "-X", "-q", f"{PG}/postgres", "-c", f"DROP DATABASE IF EXISTS {db} WITH (FORCE)"],
                check=False)


if __name__ == "__main__":
    sys.exit(main())
