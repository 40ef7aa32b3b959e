#!/usr/bin/env python3
"""make check-real: real Debian programs under the launcher (default options, --json), and
the budget of issue 13 asserted on their findings:

  - 0 errors on correct programs (every program here but python-logging-fork, whose
    error is the point);
  - at most one warning in ten, over the whole corpus, not a real hazard;
  - every finding judged true below still found.

Each program is a bash driver run as `timeout T tools/forkaudit --json F -- bash DRIVER`:
the driver starts the program, works it and stops it, each step under its own timeout; the
launcher is the tree's subreaper and waits for every process of it, so nothing is left.
A program that is not installed, or cannot run here, is skipped with a message.

EXPECTED holds the judgement, per program: (kind, regex searched in the finding's
signature + suggestion + description, verdict), verdict TRUE (its owner would change the
code) or NOISE (they would not). A finding no entry matches is unjudged and counted as
noise (printed, so someone judges it). Usage: run_corpus.py [--only NAME,...] [--keep]
"""
import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
LAUNCHER = os.environ.get("FORKAUDIT_LAUNCHER") or os.path.join(ROOT, "tools", "forkaudit")  # another launcher to compare
LIBRARY = os.path.join(ROOT, "build", "libforkaudit.so")
PY = "/usr/bin/python3"  # Debian's interpreter (its packages: gunicorn, numpy)
TRUE, NOISE = "true", "noise"

# --- the judgement --------------------------------------------------------------------------
EXPECTED = {
    "git": [
        # git clone: the pipe from fetch-pack passes into `git index-pack` without
        # close-on-exec (fd 5, pipe r): git's own descriptor leak, the corpus's true finding.
        ("fds-leaked-at-exec", r"pipe@", TRUE),
        # clone's async (sideband demultiplexer) thread at the fork of `git index-pack`: the
        # child execs at once and never needs it.
        ("threads-at-fork", r".", NOISE),
    ],
    "python-executor": [
        # ProcessPoolExecutor starts its workers under its own _shutdown_lock (submit ->
        # _start_executor_manager_thread -> _spawn_process): held by the forking thread, the
        # worker inherits it locked but runs _process_worker, which never takes it.
        ("lock-held-at-fork", r"Python lock", NOISE),
    ],
    "python-logging-fork": [
        # A thread logs in a loop while main forks: the handler stream's BufferedWriter
        # lock is held by that thread at the fork (logging re-creates its own handler
        # locks in the child, the io lock is not): a child that logs blocks forever. The
        # owner would change it (fork before starting the thread, or the spawn method).
        ("lock-held-at-fork", r"Python lock", TRUE),
        ("threads-at-fork", r"logger", TRUE),
    ],
    "redis": [
        # BGSAVE's fork with the bio threads and jemalloc's background thread: redis's
        # design (the child writes the dump and exits).
        ("threads-at-fork", r"bioProcessBackgroundJobs", NOISE),
        # The client connection that sent BGSAVE (anetTcpAccept), connected, inherited by
        # the saving child, which never touches it.
        ("fds-at-fork", r"anetTcpAccept", NOISE),
        # redis's main thread holds the module GIL (moduleGIL, taken in main via
        # moduleInitModulesSystem, released only around the event loop's sleep) at the
        # fork: held by the forking thread, the child owns it and never waits on it.
        ("lock-held-at-fork", r"pthread_mutex.*main@", NOISE),
    ],
    "postgresql": [
        # initdb's single-user backend popen()s `locale -a` (pg_import_system_collations,
        # OpenPipeStream) with every relation and WAL file it has open (BasicOpenFilePerm,
        # without O_CLOEXEC) leaking into /bin/sh and `locale`: a real leak, one finding
        # per descriptor (each has its own opening stack); PostgreSQL later opened its
        # files close-on-exec for exactly this.
        ("fds-leaked-at-exec", r"BasicOpenFilePerm", TRUE),
    ],
    "gunicorn": [
        # Each worker's heartbeat file (WorkerTmp: an unlinked /tmp/wgunicorn-* the master
        # makes before the fork and the worker fchmod()s): shared on purpose, never written.
        ("fds-at-fork", r"wgunicorn|workertmp", NOISE),
    ],
}
# Programs whose errors are expected (the corpus's incorrect program).
INCORRECT = {"python-logging-fork"}
# True findings that must be found in every run (kind, program); others judged true may be
# timing-dependent (a lock held at the fork in some runs only) and are reported, not required.
REQUIRED = {("git", "fds-leaked-at-exec"), ("python-logging-fork", "lock-held-at-fork"), ("postgresql", "fds-leaked-at-exec")}

# --- the drivers ----------------------------------------------------------------------------
GIT = r"""
set -e
export GIT_AUTHOR_NAME=a GIT_AUTHOR_EMAIL=a@b GIT_COMMITTER_NAME=a GIT_COMMITTER_EMAIL=a@b HOME="$W"
cd "$W"; git init -q src; cd src
for i in 1 2 3 4 5; do echo $i > f$i; git add f$i; git commit -qm "c$i"; done
cd "$W"; timeout 60 git clone -q --no-local src dst
cd dst; timeout 60 git gc -q; timeout 30 git log --oneline >/dev/null
printf '#!/bin/sh\ntest -n "$(git diff --cached --name-only)"\n' > .git/hooks/pre-commit
chmod +x .git/hooks/pre-commit
echo x > hooked; git add hooked; timeout 30 git commit -qm hooked
"""

MAKE = r"""
cd "$W"
printf 'all: a b c d\na b c d:\n\t@sleep 0.2; echo $@ > $@\n' > Makefile
timeout 60 make -s -j4
"""

PY_POOL = r"""
import multiprocessing as mp
def sq(x): return x * x
if __name__ == "__main__":
    with mp.get_context("fork").Pool(2) as p:
        assert p.map(sq, range(20)) == [x * x for x in range(20)]
"""
PY_EXECUTOR = r"""
import concurrent.futures as cf, multiprocessing as mp
def sq(x): return x * x
if __name__ == "__main__":
    with cf.ProcessPoolExecutor(2, mp_context=mp.get_context("fork")) as ex:
        assert list(ex.map(sq, range(20))) == [x * x for x in range(20)]
"""
PY_SUBPROCESS = r"""
import subprocess
subprocess.run(["true"], check=True)
assert subprocess.check_output(["echo", "hi"]) == b"hi\n"
subprocess.run("exit 0", shell=True, check=True)
"""
PY_LOGGING = r"""
import logging, os, sys, threading, time
logging.basicConfig(stream=open(os.devnull, "w"), level=logging.INFO)
log = logging.getLogger("app")
stop = False
def logger():
    while not stop:
        log.info("tick %s", "x" * 200)
threading.Thread(target=logger, name="logger", daemon=True).start()
time.sleep(0.2)
for i in range(20):
    pid = os.fork()
    if pid == 0:
        os._exit(0)  # the child does not log: the hazard is reported at the fork, nothing hangs
    os.waitpid(pid, 0)
stop = True
"""

REDIS = r"""
cd "$W"
redis-server --port $PORT --bind 127.0.0.1 --save '' --daemonize no --logfile '' --dir "$W" \
    --appendonly no > redis.out 2>&1 &
for i in $(seq 100); do timeout 2 redis-cli -p $PORT ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
timeout 10 redis-cli -p $PORT debug populate 1000 >/dev/null 2>&1 || timeout 10 redis-cli -p $PORT set k v >/dev/null
timeout 10 redis-cli -p $PORT bgsave
for i in $(seq 50); do timeout 2 redis-cli -p $PORT info persistence | grep -q 'rdb_bgsave_in_progress:0' && break; sleep 0.1; done
timeout 10 redis-cli -p $PORT shutdown nosave || true
wait
"""

NGINX = r"""
cd "$W"; mkdir -p logs tmp
cat > nginx.conf <<EOF
worker_processes 2;
pid $W/nginx.pid;
error_log $W/logs/error.log;
events { worker_connections 64; }
http {
    access_log $W/logs/access.log;
    client_body_temp_path $W/tmp; proxy_temp_path $W/tmp; fastcgi_temp_path $W/tmp;
    uwsgi_temp_path $W/tmp; scgi_temp_path $W/tmp;
    server { listen 127.0.0.1:$PORT; location / { return 200 "ok\n"; } }
}
EOF
nginx -p "$W" -c "$W/nginx.conf" -g 'daemon off;' &
for i in $(seq 100); do timeout 2 curl -sf http://127.0.0.1:$PORT/ >/dev/null && break; sleep 0.1; done
timeout 5 curl -sf http://127.0.0.1:$PORT/ >/dev/null
kill -HUP $(cat nginx.pid); sleep 1
timeout 5 curl -sf http://127.0.0.1:$PORT/ >/dev/null
kill -QUIT $(cat nginx.pid)
wait
"""

POSTGRES = r"""
set -e
cd "$W"; B=/usr/lib/postgresql/15/bin
timeout 120 $B/initdb -D "$W/data" -A trust -U postgres >/dev/null
timeout 60 $B/pg_ctl -D "$W/data" -l "$W/pg.log" -w \
    -o "-k $W -c listen_addresses= -p $PORT" start >/dev/null
trap 'timeout 60 $B/pg_ctl -D "$W/data" -m fast -w stop >/dev/null' EXIT
timeout 60 $B/pgbench -h "$W" -p $PORT -U postgres -i -s 1 -q postgres >/dev/null 2>&1
timeout 60 $B/pgbench -h "$W" -p $PORT -U postgres -c 2 -t 50 postgres >/dev/null
"""

GUNICORN_APP = r"""
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok\n"]
"""
GUNICORN = r"""
cd "$W"
PY -m gunicorn --preload -w 2 -b 127.0.0.1:$PORT --pid "$W/g.pid" --chdir "$W" app:app > g.out 2>&1 &
for i in $(seq 150); do timeout 2 curl -sf http://127.0.0.1:$PORT/ >/dev/null && break; sleep 0.1; done
for i in 1 2 3 4 5; do timeout 5 curl -sf http://127.0.0.1:$PORT/ >/dev/null; done
kill -TERM $(cat g.pid)
wait
"""


def py_driver(source):
    return "cd \"$W\"\ncat > prog.py <<'PYEOF'\n%s\nPYEOF\ntimeout 60 PY prog.py\n" % source


PROGRAMS = [
    # name, what it does, driver, needs (programs), as_user, timeout
    ("git", "clone --no-local, gc, log, commit with a pre-commit hook", GIT, ["git"], False, 180),
    ("make", "make -s -j4 on a 4-target Makefile", MAKE, ["make"], False, 60),
    ("python-pool", "multiprocessing.Pool(2).map, fork start method", py_driver(PY_POOL), [PY], False, 90),
    ("python-executor", "ProcessPoolExecutor(2).map, fork context", py_driver(PY_EXECUTOR), [PY], False, 90),
    ("python-subprocess", "subprocess.run, check_output, shell=True", py_driver(PY_SUBPROCESS), [PY], False, 60),
    ("python-logging-fork", "a thread logging in a loop while main os.fork()s 20 times",
     py_driver(PY_LOGGING), [PY], False, 60),
    ("redis", "redis-server: debug populate, BGSAVE, shutdown", REDIS, ["redis-server", "redis-cli"], False, 90),
    ("nginx", "nginx-light: master + 2 workers, 2 requests, SIGHUP reload, SIGQUIT", NGINX,
     ["nginx", "curl"], True, 90),
    ("postgresql", "PostgreSQL 15: initdb, pg_ctl start (unix socket), pgbench -i, pgbench -c 2 -t 50, stop",
     POSTGRES, ["/usr/lib/postgresql/15/bin/initdb", "/usr/lib/postgresql/15/bin/pgbench"], True, 300),
    ("gunicorn", "gunicorn --preload -w 2, a trivial WSGI app, 6 requests, TERM", GUNICORN,
     ["curl"], False, 90),
]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def have(prog):
    return os.access(prog, os.X_OK) if os.path.isabs(prog) else shutil.which(prog) is not None


def judge(name, finding):
    text = " ".join(str(finding.get(k) or "") for k in ("signature", "suppression", "description"))
    for kind, pattern, verdict in EXPECTED.get(name, []):
        if finding["kind"] == kind and re.search(pattern, text):
            return verdict
    return None


def run_program(name, what, driver, needs, as_user, limit, keep, extra=()):
    missing = [n for n in needs if not have(n)]
    if name == "gunicorn" and subprocess.run([PY, "-c", "import gunicorn"], capture_output=True).returncode:
        missing.append("python3-gunicorn")
    if missing:
        print("check-real: %s SKIPPED: %s not installed" % (name, ", ".join(missing)))
        return None
    work = tempfile.mkdtemp(prefix="forkaudit-real-%s." % name)
    os.chmod(work, 0o777)
    if name == "gunicorn":
        with open(os.path.join(work, "app.py"), "w") as f:
            f.write(GUNICORN_APP)
    script = os.path.join(work, "driver.sh")
    with open(script, "w") as f:
        f.write(driver.replace("PY ", PY + " ").replace("PY -m", PY + " -m"))
    out = os.path.join(work, "findings.json")
    env = dict(os.environ, W=work, PORT=str(free_port()))
    env["FORKAUDIT_LIB"] = LIBRARY
    env.pop("FORKAUDIT_OPTIONS", None)
    env.pop("LD_PRELOAD", None)
    extra = [a.replace("@W@", work) for a in extra]
    for a in extra:
        if a.startswith(work):  # a file given in the work directory: --suppressions RULES
            with open(a, "w") as f:
                f.write(SUPPRESSION_TEXT[a[len(work) + 1:]])
    cmd = ["timeout", "-k", "5", str(limit), LAUNCHER, "--fail-on", "never", "--run-dir", os.path.join(work, "run"),
           "--json", out] + extra + ["--", "bash", script]
    if as_user and os.geteuid() == 0:
        if not shutil.which("setpriv"):
            print("check-real: %s SKIPPED: root without setpriv to run it as nobody" % name)
            return None
        cmd = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"] + cmd
        env["HOME"] = work
    os.makedirs(os.path.join(work, "run"))
    os.chmod(os.path.join(work, "run"), 0o777)
    start = time.time()
    proc = subprocess.run(cmd, env=env, cwd=work, capture_output=True, text=True)
    took = time.time() - start
    if not os.path.exists(out):
        print("check-real: %s FAILED to run (status %d, %.0f s):\n%s" % (name, proc.returncode, took, proc.stderr[-3000:]))
        return {"name": name, "what": what, "ran": False, "findings": [], "status": proc.returncode, "work": work}
    with open(out) as f:
        doc = json.load(f)
    res = {"name": name, "what": what, "ran": True, "status": doc.get("exit_status"), "took": took,
           "processes": len(doc.get("processes") or []), "forks": doc.get("forks"), "findings": [], "work": work}
    for fnd in doc.get("findings") or []:
        res["findings"].append({"kind": fnd["kind"], "severity": fnd["severity"], "signature": fnd["signature"],
                                "suggestion": fnd.get("suppression"), "description": fnd.get("description"),
                                "count": fnd.get("count"), "verdict": judge(name, fnd)})
    if not keep:
        shutil.rmtree(work, ignore_errors=True)
    return res


# Issue 13 item 2: each suggested rule of these programs silences its own finding only.
# Each rule is applied in a run of its own; the finding it was printed under must go, every
# other finding of the first run must stay.
SUGGESTIONS_CHECKED = ("git", "redis", "gunicorn")
SUPPRESSION_TEXT = {}


def check_suggestions(prog, first):
    """Problems found applying each suggested rule of `first` (a result) to a new run."""
    problems = []
    for f in first["findings"]:
        rule = f["suggestion"]
        if not rule or " + " in rule:
            continue
        SUPPRESSION_TEXT["rules.supp"] = rule + "\n"
        again = run_program(*prog, keep=False, extra=["--suppressions", "@W@/rules.supp"])
        if not again or not again["ran"]:
            problems.append("%s: the run with %s did not complete" % (prog[0], rule))
            continue
        left = {g["signature"] for g in again["findings"]}
        if f["signature"] in left:
            problems.append("%s: %s left its own finding (%s)" % (prog[0], rule, f["kind"]))
        gone = [g for g in first["findings"] if g is not f and g["signature"] not in left]
        for g in gone:
            problems.append("%s: %s silenced another finding too: %s %s" % (prog[0], rule, g["kind"], g["signature"][:100]))
        print("check-real: %s: %s silences its finding%s" % (prog[0], rule, " and %d more" % len(gone) if gone else " only"))
    return problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", help="comma-separated program names")
    ap.add_argument("--keep", action="store_true", help="keep the work directories")
    ap.add_argument("--summary-json", help="write the per-program results there")
    ap.add_argument("--build", help="the build directory (default: build)")
    args = ap.parse_args()
    global LIBRARY
    if args.build:
        LIBRARY = os.path.join(os.path.abspath(args.build), "libforkaudit.so")
    if not os.path.exists(LIBRARY):
        print("check-real: %s missing: make first" % LIBRARY)
        return 2
    only = set(args.only.split(",")) if args.only else None
    results = []
    for prog in PROGRAMS:
        if only and prog[0] not in only:
            continue
        r = run_program(*prog, keep=args.keep)
        if r is None:
            continue
        results.append(r)
        counts = {}
        for f in r["findings"]:
            counts[f["severity"]] = counts.get(f["severity"], 0) + 1
        print("check-real: %-20s %s; status %s, %s processes, %s forks, %.0f s; %d findings (%s)"
              % (r["name"], r["what"], r["status"], r.get("processes"), r.get("forks"), r.get("took", 0),
                 len(r["findings"]), ", ".join("%d %s" % (n, s) for s, n in sorted(counts.items())) or "none"))
        for f in r["findings"]:
            print("    %-7s %-20s %-5s x%-3s %s | %s" % (f["severity"].upper(), f["kind"], f["verdict"] or "UNJUDGED",
                                                    f["count"], (f["description"] or "")[:90], f["suggestion"]))
    if args.summary_json:
        with open(args.summary_json, "w") as f:
            json.dump(results, f, indent=1)

    problems = []
    warnings = noise = 0
    sites, noisy_sites = set(), set()  # the owner's view: one per (program, kind, suggested rule)
    for r in results:
        if not r["ran"]:
            problems.append("%s did not run (status %s; kept %s)" % (r["name"], r["status"], r["work"]))
            continue
        for f in r["findings"]:
            if f["severity"] == "error" and r["name"] not in INCORRECT:
                problems.append("%s: ERROR %s on a correct program (%s)" % (r["name"], f["kind"], f["signature"][:120]))
            if f["severity"] == "warning":
                warnings += 1
                site = (r["name"], f["kind"], f["suggestion"] or f["signature"])
                sites.add(site)
                if f["verdict"] != TRUE:
                    noise += 1
                    noisy_sites.add(site)
            if f["verdict"] is None:
                print("check-real: %s: unjudged finding %s %s (counted as noise): %s"
                      % (r["name"], f["severity"], f["kind"], f["signature"][:200]))
        for prog, kind in REQUIRED:
            if prog == r["name"] and not any(f["kind"] == kind and f["verdict"] == TRUE for f in r["findings"]):
                problems.append("%s: the true %s finding is gone" % (prog, kind))
    for prog in PROGRAMS:
        first = next((r for r in results if r["name"] == prog[0] and r["ran"]), None)
        if first and prog[0] in SUGGESTIONS_CHECKED:
            problems += check_suggestions(prog, first)
    if noise * 10 > warnings:
        problems.append("%d of %d warnings are noise: more than one in ten" % (noise, warnings))
    print("check-real: %d programs, %d distinct warnings, %d of them noise (by site, program + kind + suggested "
          "rule: %d, %d noise); %d problems" % (len(results), warnings, noise, len(sites), len(noisy_sites),
                                                len(problems)))
    for p in problems:
        print("check-real: FAIL: " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
