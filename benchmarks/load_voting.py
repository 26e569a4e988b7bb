"""Cast ballots at 100 concurrent voters: evalapp under gunicorn against a bare Flask app doing the same writes.

Usage (inside .venv, PostgreSQL needed; Redis optional; `wrk` from Debian's package):
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test REDIS_URL=redis://127.0.0.1:6379/0 \
        python benchmarks/load_voting.py [--duration 10] [--rounds 3] [--connections 100] [--workers N] \
        [--threads 4] [--profile]

The script makes a schema of its own in DATABASE_URL's database (dropped at the end), migrates it and
builds a union with --members members, each with an account (one cheap pbkdf2 hash shared by all, so
logins are fast), a six-item questionnaire and an open organisation campaign over the union.

Two servers run side by side, both `gunicorn -c gunicorn.conf.py` with the same GUNICORN_* settings:
  * evalapp (`wsgi:app`): POST /campaigns/<id>/vote with the voter's session cookie, the CSRF token
    of their vote page and the form fields, answered by a redirect to the receipt page;
  * bare (`load_voting:bare_app()`, defined below): one endpoint that takes the account id and the
    answers from the POST and calls the same domain operation, cast_ballot, in one transaction:
    no login, session, CSRF, form classes, templates, rate limit or request log.
Every voter is logged in beforehand through evalapp's own /login (in worker processes, through the
Flask test client, since 127.0.0.1 may log in only 30 times a minute), and their vote page is fetched
for its CSRF token. wrk then posts one prepared ballot per request, every request a different voter
(each wrk thread reads its own share of the voters; those it did not get to are used next time):
first a warm-up per target, which also sizes how many voters the timed rounds need (a round that
runs out anyway is run again with more), then --rounds timed runs per target, alternating which goes
first. Before that, --serial ballots per target are cast one at a time in this process, for the cost
of one ballot (time and SQL statements) without concurrency or the machine's other load.

Each response is logged by the Lua script (status, the voter it names, the receipt it carries), and
at the end the database is checked against it: one ballot per participation, a participation for
every successful response and a ballot for every receipt, and no other ballots but those of the few
requests still in flight when wrk stopped. Every round also reports the CPU time per ballot of the
server (master and workers), of PostgreSQL (the run's own backends), of wrk, and how much else the
machine was doing (other people's processes, their PostgreSQL work included).
The figures are medians over the rounds; the Markdown tables are printed last. With --profile, one
more round per target runs under py-spy (`pip install py-spy`), which lists where the workers spend
the time they hold the GIL.
"""
import argparse
import json
import math
import os
import platform
import random
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess  # nosec B404 - the benchmark starts gunicorn and wrk
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from multiprocessing import get_context
from pathlib import Path
from urllib.parse import urlencode

import sqlalchemy as sa
from large_electorate import database

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

PASSWORD = "bench-password-1"
CHEAP_HASH = "pbkdf2:sha256:1000"
#: Every prepared request carries this User-Agent: Flask-Login's "strong" session protection binds a
#: session to the address and browser it was made from.
USER_AGENT = "evalapp-load-voting/1"
CHUNK = 10_000
CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')

LUA = r"""
-- One prepared POST per voter; each thread reads its own file of voters (wrk threads do not share Lua).
local counter, threads = 0, {}
function setup(thread)
  thread:set("id", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

local requests_, n, i, out = {}, 0, 0, nil
function init(args)
  local prefix, path = args[1], args[2]
  for line in io.lines(prefix .. id .. ".tsv") do
    local cookie, body = line:match("^([^\t]*)\t(.*)$")
    local headers = {["Host"] = wrk.headers["Host"], ["User-Agent"] = "USER_AGENT",
                     ["Content-Type"] = "application/x-www-form-urlencoded"}
    if cookie ~= "" then headers["Cookie"] = "session=" .. cookie end
    n = n + 1
    requests_[n] = wrk.format("POST", path, headers, body)
  end
  out = io.open(prefix .. id .. ".out", "w")
  out:setvbuf("line")
end

function request()
  if i >= n then
    -- Out of voters: say so and stop this thread (the round is then too short to count).
    out:write("exhausted\n")
    wrk.thread:stop()
    return wrk.format("GET", "/no-more-voters")
  end
  i = i + 1
  out:write("sent\t", i, "\n")
  return requests_[i]
end

function response(status, headers, body)
  local text = body:sub(1, 300):gsub("[\t\r\n]", " ")
  out:write(status, "\t", headers["Location"] or "", "\t", headers["Set-Cookie"] or "", "\t", text, "\n")
end

function done(summary, latency, requests)
  io.write(string.format(
    "WRK_JSON {\"duration_us\": %d, \"requests\": %d, \"connect\": %d, \"read\": %d, \"write\": %d, " ..
    "\"status\": %d, \"timeout\": %d, \"p50_us\": %d, \"p90_us\": %d, \"p99_us\": %d, \"max_us\": %d, " ..
    "\"mean_us\": %.1f}\n",
    summary.duration, summary.requests, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean))
end
""".replace("USER_AGENT", USER_AGENT)


# --- the bare app ---------------------------------------------------------------------------------

def bare_app(url=None):
    """The same ballot writes without the web layer: `gunicorn -c gunicorn.conf.py 'load_voting:bare_app()'`."""
    from flask import Flask, request

    from evalapp import models  # noqa: F401  (every model, as evalapp loads them)
    from evalapp.accounts.models import Account
    from evalapp.campaigns.models import Campaign
    from evalapp.core.config import normalise_database_url
    from evalapp.core.db import db
    from evalapp.core.errors import Refused
    from evalapp.voting.operations import cast_ballot

    app = Flask("bare_voting")
    # The same database settings as evalapp's (core/config.py), so only the web layer differs.
    app.config.update(SQLALCHEMY_DATABASE_URI=normalise_database_url(url or os.environ["DATABASE_URL"]),
                      SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True})
    db.init_app(app)

    @app.post("/campaigns/<int:campaign_id>/ballots")
    def ballot(campaign_id):
        campaign = db.session.get(Campaign, campaign_id)
        account = db.session.get(Account, int(request.form["account"]))
        choices = {int(name[5:]): int(value) for name, value in request.form.items() if name.startswith("item_")}
        account_id = account.id  # read before the commit expires it
        try:
            receipt = cast_ballot(campaign, account, choices)
        except Refused as refusal:
            db.session.rollback()
            return refusal.message, refusal.status
        db.session.commit()
        return f"{account_id} {receipt}"

    @app.get("/healthz")
    def healthz():
        return "ok"

    return app


# --- building the data ----------------------------------------------------------------------------

def bench_app(url, secret, **extra):
    """evalapp in this process, on the benchmark's schema (cheap hashes, logs off, limits in memory)."""
    from evalapp import create_app

    config = {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": secret, "PASSWORD_HASH_METHOD": CHEAP_HASH,
              "RATELIMIT_STORAGE_URI": "memory://", "LOG_TO_STDERR": False}
    config.update(extra)
    return create_app(config)


def build(app, members):
    """Migrate; make a union with `members` members and accounts and an open campaign over it.

    Returns {"campaign_id", "items": [(item id, [option ids])], "voters": [(account id, member id, username)]}.
    """
    from flask_migrate import upgrade
    from werkzeug.security import generate_password_hash

    from evalapp.accounts.models import Account, Role
    from evalapp.accounts.operations import create_account, grant_role
    from evalapp.campaigns.models import ElectorateScope, SubjectKind
    from evalapp.campaigns.operations import create_campaign, open_voting
    from evalapp.core.db import db
    from evalapp.core.timeutil import utcnow
    from evalapp.questionnaires.models import ItemKind
    from evalapp.questionnaires.operations import add_item, create_questionnaire
    from evalapp.unions.models import Member, UnionKind, UnionSector
    from evalapp.unions.operations import create_union

    with app.app_context():
        if sa.inspect(db.engine).get_table_names():
            raise SystemExit("refusing to run: the database is not empty (use a scratch database)")
        upgrade()
        shared_hash = generate_password_hash(PASSWORD, method=CHEAP_HASH)
        city = create_union("江门市总工会", UnionKind.city)
        county = create_union("蓬江区总工会", UnionKind.county, city)
        town = create_union("环市街道总工会", UnionKind.town, county)
        union = create_union("江门电子00001公司工会", UnionKind.grassroots, town,
                             sector=UnionSector.non_public_enterprise)
        officer = create_account("officer", "市总工会工作人员", password_hash=shared_hash)
        grant_role(officer, city, Role.officer)
        form = create_questionnaire(city, "政府部门服务评议表")
        for dimension, prompt in zip("德能勤绩廉", ["服务态度", "办事效率", "依法行政", "政务公开", "回应诉求"]):
            add_item(form, ItemKind.satisfaction3, prompt, dimension, 1)
        add_item(form, ItemKind.scale, "总体评分", None, 2)
        db.session.flush()
        voters = []
        for start in range(0, members, CHUNK):
            rows = [{"username": f"voter{n}", "display_name": f"会员{n}", "password_hash": shared_hash,
                     "is_admin": False, "active": True, "must_change_password": False}
                    for n in range(start + 1, min(members, start + CHUNK) + 1)]
            account_ids = db.session.scalars(sa.insert(Account).returning(Account.id, sort_by_parameter_order=True),
                                             rows).all()
            member_ids = db.session.scalars(sa.insert(Member).returning(Member.id, sort_by_parameter_order=True), [
                {"union_id": union.id, "name": row["display_name"], "active": True, "account_id": account_id}
                for row, account_id in zip(rows, account_ids)]).all()
            voters.extend(zip(account_ids, member_ids, [row["username"] for row in rows]))
        campaign = create_campaign(officer, union, form, "2026年度职工评议政府部门", SubjectKind.organisation,
                                   "江门市人力资源和社会保障局", ElectorateScope.union,
                                   closes_at=utcnow() + timedelta(days=1))
        open_voting(campaign, officer)
        db.session.commit()
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()
        items = [(item.id, [option.id for option in item.options]) for item in campaign.questionnaire.items]
        campaign_id = campaign.id
        db.engine.dispose()
    return {"campaign_id": campaign_id, "items": items, "voters": voters}


# --- logging voters in ----------------------------------------------------------------------------

_PREP = {}


def _prep_init(url, secret, campaign_id, vote_page):
    _PREP["app"] = bench_app(url, secret)
    _PREP["campaign_id"] = campaign_id
    _PREP["vote_page"] = vote_page


def _prep_chunk(chunk):
    """Log each (account id, username) in through /login; return [(account id, session cookie, CSRF token)]."""
    from evalapp.core.limits import limiter

    app, campaign_id = _PREP["app"], _PREP["campaign_id"]
    headers = {"User-Agent": USER_AGENT}
    prepared = []
    for account_id, username in chunk:
        client = app.test_client()
        page = client.get("/login", headers=headers)
        response = client.post("/login", headers=headers, data={
            "username": username, "password": PASSWORD, "csrf_token": csrf_token(page.get_data(as_text=True))})
        if response.status_code != 302:
            raise RuntimeError(f"login as {username} failed: {response.status_code}")
        # Every voter logs in from 127.0.0.1: forget this process's per-address login count.
        limiter.reset()
        if not _PREP["vote_page"]:
            prepared.append((account_id, client.get_cookie("session").value, None))
            continue
        page = client.get(f"/campaigns/{campaign_id}/vote", headers=headers)
        if page.status_code != 200:
            raise RuntimeError(f"vote page for {username}: {page.status_code}")
        prepared.append((account_id, client.get_cookie("session").value, csrf_token(page.get_data(as_text=True))))
    return prepared


def csrf_token(html):
    match = CSRF_FIELD.search(html)
    if not match:
        raise RuntimeError("no CSRF token on the page")
    return match.group(1)


class Preparer:
    """A pool of processes (one per core) that log voters in through evalapp's /login.

    With `vote_page`, each voter's vote page is fetched too, for its CSRF token.
    """

    def __init__(self, url, secret, campaign_id, vote_page=True):
        self.pool = ProcessPoolExecutor(max_workers=os.cpu_count() or 2, mp_context=get_context("spawn"),
                                        initializer=_prep_init, initargs=(url, secret, campaign_id, vote_page))

    def prepare(self, voters):
        """voters: [(account id, member id, username)] → {account id: (cookie, token or None)}."""
        size = max(1, math.ceil(len(voters) / (4 * (os.cpu_count() or 2))))
        chunks = [[(a, u) for a, _m, u in voters[i:i + size]] for i in range(0, len(voters), size)]
        return {account_id: (cookie, token) for part in self.pool.map(_prep_chunk, chunks)
                for account_id, cookie, token in part}

    def close(self):
        self.pool.shutdown()


# --- servers ---------------------------------------------------------------------------------------

def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Gunicorn:
    """`gunicorn -c gunicorn.conf.py <app>` in its own process group, stopped (and killed if need be) on exit."""

    def __init__(self, name, app, env, log_dir, pythonpath=None):
        self.name, self.port = name, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(log_dir) / f"gunicorn-{name}.log"
        command = [str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py"]
        if pythonpath:
            command += ["--pythonpath", str(pythonpath)]
        command.append(app)
        environment = dict(env, GUNICORN_BIND=f"127.0.0.1:{self.port}")
        self.log = open(self.log_path, "ab")
        self.process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=self.log,  # nosec B603
                                        stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, workers=1, timeout=60):
        """Wait until /healthz answers and `workers` workers are up."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn {self.name} exited ({self.process.returncode}); see {self.log_path}:\n"
                                   + self.log_path.read_text(errors="replace")[-3000:])
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as response:  # nosec B310
                    if response.status == 200 and len(self.worker_pids()) >= workers:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn {self.name} did not answer /healthz within {timeout} s")

    def worker_pids(self):
        """The worker processes: the master's children."""
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                # pid (comm) state ppid …: comm may hold spaces, so split after its closing parenthesis.
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[1]) == self.process.pid:
                pids.append(int(stat.parent.name))
        return sorted(pids)

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                pass
        # Whatever is left of this server's process group (the master and its workers).
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.process.wait()
        self.log.close()


def server_environment(url, secret, args, redis_url):
    env = {key: value for key, value in os.environ.items() if not key.startswith(("GUNICORN_", "PYTHON"))}
    env.update(DATABASE_URL=url, SECRET_KEY=secret, LOG_FORMAT=args.log_format,
               PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}")
    if args.workers:
        env["GUNICORN_WORKERS"] = str(args.workers)
    if args.threads:
        env["GUNICORN_THREADS"] = str(args.threads)
    env.pop("REDIS_URL", None)
    if redis_url:
        # A prefix of its own, so that the run never shares counters with anyone else's evalapp.
        env.update(REDIS_URL=redis_url, RATELIMIT_KEY_PREFIX=f"bench-{secrets.token_hex(4)}",
                   JOBS_QUEUE=f"bench-{secrets.token_hex(4)}")
    return env


@contextmanager
def servers(url, secret, args, redis_url, log_dir):
    env = server_environment(url, secret, args, redis_url)
    started = []
    try:
        started.append(Gunicorn("evalapp", "wsgi:app", env, log_dir))
        started.append(Gunicorn("bare", "load_voting:bare_app()", env, log_dir, pythonpath=HERE))
        for server in started:
            server.wait_ready(args.workers or 2 * (os.cpu_count() or 1) + 1)
        yield started
    finally:
        for server in started:
            server.stop()


# --- the load ----------------------------------------------------------------------------------------

class Target:
    """One server under test and its pool of voters who have not voted yet."""

    def __init__(self, name, server, path, voters, campaign_id):
        self.name, self.server, self.path = name, server, path
        self.pool = list(voters)  # [(account id, member id, username)] not yet sent
        self.voters = list(voters)
        self.campaign_id = campaign_id
        self.prepared = {}  # account id → (cookie, token), evalapp only
        self.runs, self.best_rate = [], 0.0
        self.backends = None  # Backends, for the CPU accounting

    def ready(self, count, preparer):
        """Make sure the next `count` voters can vote (evalapp: logged in); return the seconds it took."""
        if count > len(self.pool):
            raise SystemExit(f"not enough voters left for {self.name}: raise --members")
        if self.name == "bare":
            return 0.0
        missing = [voter for voter in self.pool[:count] if voter[0] not in self.prepared]
        started = time.perf_counter()
        if missing:
            self.prepared.update(preparer.prepare(missing))
        return time.perf_counter() - started

    def take(self, count):
        chosen, self.pool = self.pool[:count], self.pool[count:]
        return chosen

    def give_back(self, voters):
        """Voters handed to wrk but never sent: still free to vote next time."""
        self.pool = list(voters) + self.pool

    def body(self, account_id, choices):
        fields = {f"item_{item_id}": option_id for item_id, option_id in choices}
        if self.name == "bare":
            return "", urlencode({"account": account_id, **fields})
        cookie, token = self.prepared[account_id]
        return cookie, urlencode({"csrf_token": token, **fields})


def split(voters, threads):
    """The voters each wrk thread gets, in the order it sends them."""
    return [voters[t::threads] for t in range(threads)]


def write_voter_files(prefix, target, voters, items, threads, rng):
    """One file of 'cookie<TAB>body' lines per wrk thread."""
    for t, share in enumerate(split(voters, threads)):
        with open(f"{prefix}{t}.tsv", "w") as handle:
            for account_id, _member, _name in share:
                choices = [(item_id, rng.choice(options)) for item_id, options in items]
                cookie, body = target.body(account_id, choices)
                handle.write(f"{cookie}\t{body}\n")


def run_wrk(target, label, voters, items, args, work_dir, rng, duration):
    prefix = str(Path(work_dir) / f"{label}-")
    write_voter_files(prefix, target, voters, items, args.wrk_threads, rng)
    script = Path(work_dir) / "ballots.lua"
    script.write_text(LUA)
    command = [args.wrk, f"-t{args.wrk_threads}", f"-c{args.connections}", f"-d{duration}s", "--timeout", "30s",
               "-s", str(script), target.server.url + target.path, "--", prefix, target.path]
    output = Path(f"{prefix}wrk.txt")
    before = cpu_sample(target.server, target.backends)
    started = time.perf_counter()
    with open(output, "wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)  # nosec B603
        _pid, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    after = cpu_sample(target.server, target.backends)
    text = output.read_text(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0 or "WRK_JSON" not in text:
        raise RuntimeError(f"wrk failed ({status}):\n{text}")
    stats = json.loads(text.split("WRK_JSON", 1)[1].splitlines()[0])
    cpu = {key: after[key] - before[key] for key in ("machine", "server")}
    # Backends that ended during the round are missed (the pools keep theirs open); new ones count whole.
    cpu["postgres"] = sum(seconds - before["backends"].get(pid, 0.0) for pid, seconds in after["backends"].items())
    cpu["wrk"] = usage.ru_utime + usage.ru_stime
    cpu["other"] = max(0.0, cpu["machine"] - cpu["server"] - cpu["postgres"] - cpu["wrk"])  # others' PostgreSQL too
    stats.update(label=label, target=target.name, client_cpu_s=cpu["wrk"], cpu=cpu,
                 elapsed_s=elapsed, **parse_outputs(prefix, args.wrk_threads))
    return stats


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid):
    """/proc/<pid>/stat after the command name: [state, ppid, …]; None if the process is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def process_cpu(pid, with_children=False):
    """CPU seconds of a process (and of its reaped children, e.g. the workers a master replaced)."""
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0
    ticks = int(fields[11]) + int(fields[12]) + ((int(fields[13]) + int(fields[14])) if with_children else 0)
    return ticks / CLOCK_TICKS


class Backends:
    """The PostgreSQL backends of this run (its connections carry the schema's name as application_name)."""

    def __init__(self, url):
        from sqlalchemy.pool import NullPool

        self.name = url.split("application_name=", 1)[1].split("&", 1)[0]
        self.engine = sa.create_engine(url, poolclass=NullPool)

    def cpu(self):
        """{backend pid: CPU seconds so far}."""
        with self.engine.connect() as connection:
            pids = connection.scalars(sa.text("SELECT pid FROM pg_stat_activity WHERE application_name = :name"),
                                      {"name": self.name}).all()
        return {pid: process_cpu(pid) for pid in pids}


def cpu_sample(server, backends):
    """CPU seconds so far: the whole machine, this server's master and workers, this run's PostgreSQL backends."""
    machine = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    busy = (sum(machine[:8]) - machine[3] - machine[4]) / CLOCK_TICKS  # all but idle and iowait
    server_cpu = process_cpu(server.process.pid, with_children=True) + sum(process_cpu(p) for p in server.worker_pids())
    return {"machine": busy, "server": server_cpu, "backends": backends.cpu()}


def parse_outputs(prefix, threads):
    """Read the Lua script's logs: requests sent (per thread), response statuses, what each success says."""
    sent, exhausted, statuses, successes = [0] * threads, 0, {}, []
    for t in range(threads):
        for line in Path(f"{prefix}{t}.out").read_text().splitlines():
            if line.startswith("sent\t"):
                sent[t] += 1
                continue
            if line == "exhausted":
                exhausted += 1
                continue
            status, location, cookie, body = (line.split("\t", 3) + ["", "", ""])[:4]
            statuses[status] = statuses.get(status, 0) + 1
            if status == "302" and "/voted" in location:
                successes.append(("cookie", cookie))
            elif status == "200":
                successes.append(("body", body))
    return {"sent_per_thread": sent, "sent": sum(sent), "exhausted": exhausted, "statuses": statuses,
            "successes": successes}


def decode_successes(app, successes):
    """[(account id, receipt code)] from the redirects' session cookies or the bare app's bodies."""
    serializer = app.session_interface.get_signing_serializer(app)
    decoded = []
    for kind, payload in successes:
        if kind == "pair":
            decoded.append(payload)
        elif kind == "body":
            account_id, code = payload.split()
            decoded.append((int(account_id), code))
        else:
            value = payload.split(";", 1)[0].split("=", 1)[1]
            session = serializer.loads(value)
            decoded.append((int(session["_user_id"]), session["receipt"]["code"]))
    return decoded


def run_round(target, label, args, work_dir, rng, items, duration, count):
    """Run wrk for `duration` s with (at most) the next `count` voters of `target`."""
    voters = target.take(count)
    stats = run_wrk(target, label, voters, items, args, work_dir, rng, duration)
    shares = split(voters, args.wrk_threads)
    stats["sent_voters"] = [v for share, n in zip(shares, stats["sent_per_thread"]) for v in share[:n]]
    target.give_back([v for share, n in zip(shares, stats["sent_per_thread"]) for v in share[n:]])
    for account_id, _member, _name in stats["sent_voters"]:
        target.prepared.pop(account_id, None)
    stats["ballots_per_s"] = len(stats["successes"]) / (stats["duration_us"] / 1e6)
    if not stats["exhausted"]:
        target.best_rate = max(target.best_rate, stats["ballots_per_s"])
    other = sum(n for status, n in stats["statuses"].items() if status not in ("200", "302"))
    errors = stats["connect"] + stats["read"] + stats["write"] + stats["timeout"]
    print(f"  {label:<18} {stats['ballots_per_s']:7.1f} ballots/s   p50 {stats['p50_us'] / 1000:6.1f} ms   "
          f"p99 {stats['p99_us'] / 1000:6.1f} ms   {len(stats['successes'])} ok, {other} other, "
          f"{errors} socket errors/timeouts, {stats['sent'] - sum(stats['statuses'].values())} in flight at the "
          f"end")
    seconds, ballots, cpu = stats["duration_us"] / 1e6, max(1, len(stats["successes"])), stats["cpu"]
    stats["server_ms"], stats["postgres_ms"] = cpu["server"] / ballots * 1000, cpu["postgres"] / ballots * 1000
    stats["other_cores"], stats["wrk_cores"] = cpu["other"] / seconds, cpu["wrk"] / seconds
    print(f"  {'':<18} CPU per ballot: server {stats['server_ms']:.1f} ms, PostgreSQL {stats['postgres_ms']:.1f} ms; "
          f"wrk {stats['wrk_cores'] * 100:.0f}% of a core; the machine's other load {stats['other_cores']:.2f} cores"
          + ("   EXHAUSTED: too few voters, run again with more" if stats["exhausted"] else ""))
    return stats


def voters_for(rate, duration, args):
    """Voters to hand wrk for `duration` s at about `rate` ballots/s, with a margin."""
    return int(rate * duration * args.margin) + 2 * args.connections


def profiled_round(target, args, work_dir, rng, items, preparer, all_runs):
    """An extra round (not in the medians) with py-spy sampling the server's workers.

    Prints the functions that take the most samples, and returns ({component: share of the samples}, the round).
    """
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    output = Path(work_dir) / f"profile-{target.name}.txt"
    count = voters_for(target.best_rate, args.duration, args) * 2
    target.ready(count, preparer)
    recorder = subprocess.Popen([spy, "record", "--pid", str(target.server.process.pid), "--subprocesses",  # nosec
                                 "--format", "raw", "--nolineno", "--gil", "--rate", "200",
                                 "--duration", str(args.duration), "--output", str(output)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1)  # py-spy attaching
    run = run_round(target, f"{target.name} profiled", args, work_dir, rng, items, args.duration, count)
    all_runs.append(run)
    recorder.wait(timeout=60)
    if not output.exists():
        print("  py-spy wrote no profile (is it installed? `pip install py-spy`; ptrace allowed?)")
        return None, run
    return print_profile(output, target.name, args.profile_top), run


#: Frames every request passes through (threads, gunicorn, the WSGI call): not worth listing.
TRUNK = re.compile(r"\((threading\.py|concurrent/futures/|gunicorn/)|^Flask\.(__call__|wsgi_app) ")
#: Where a sample belongs: the first of these found anywhere in its stack.
COMPONENTS = [
    ("cast_ballot (the domain operation)", re.compile(r"^cast_ballot \(")),
    ("commit", re.compile(r"^(scoped_session|Session)\.commit \(")),
    ("building the ballot form (ballot_form: a class, fields, the items' options)", re.compile(r"^ballot_form \(")),
    ("validating the form and its CSRF token (Flask-WTF, WTForms)", re.compile(r"\((flask_wtf|wtforms)/")),
    ("visible_campaign (campaign, can_view, schedule)", re.compile(r"^visible_campaign \(")),
    ("the view's own check_can_vote", re.compile(r"^check_can_vote \(")),
    # (not the wrapper that calls the view)
    ("rate limit (Flask-Limiter, Redis)",
     re.compile(r"^(?!RouteLimit\.__call__\.<locals>\.__inner ).*\((flask_limiter|limits|redis)/")),
    ("loading the user, session protection (Flask-Login)", re.compile(r"\(flask_login/|^_load_account ")),
    ("session cookie (load, sign, save)", re.compile(r"\((itsdangerous/|flask/sessions\.py)")),
    ("templates (Jinja)", re.compile(r"\((jinja2/|flask/templating\.py)")),
    ("after_request hooks (headers, request log)", re.compile(r"^(_security_headers|_finish_request) ")),
    ("before_request hooks", re.compile(r"^(_start_request|_refuse_nul_bytes|_require_login) ")),
    ("request parsing, routing, response (Werkzeug)", re.compile(r"\(werkzeug/")),
    ("teardown (closing the session)", re.compile(r"^(_teardown_session|scoped_session\.remove) ")),
]


def print_profile(path, name, top):
    """Inclusive share of the samples per function, from py-spy's collapsed stacks; return the components' shares."""
    inclusive, components, total = {}, {}, 0
    for line in Path(path).read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        count = int(count)
        frames = stack.split(";")
        if any("wait" in frame and ("threading.py" in frame or "selectors.py" in frame) for frame in frames[-2:]):
            continue  # an idle thread that py-spy still caught
        total += count
        for frame in set(frames):
            if "(" in frame and not frame.startswith("process ") and not TRUNK.search(frame):
                inclusive[frame] = inclusive.get(frame, 0) + count
        component = next((label for label, pattern in COMPONENTS if any(pattern.search(f) for f in frames)),
                         "the rest (gunicorn, Flask dispatch, …)")
        components[component] = components.get(component, 0) + count
    print(f"\n{name}: where the workers hold the GIL (py-spy --gil), by function, inclusive; {total} samples")
    for frame, count in sorted(inclusive.items(), key=lambda kv: -kv[1])[:top]:
        print(f"  {count / max(total, 1) * 100:5.1f}%  {frame}")
    return {label: count / max(total, 1) for label, count in components.items()}


def print_components(profiles):
    """A table: each component's CPU per ballot (its share of the samples × the round's server CPU per ballot)."""
    names = [name for name, (shares, _run) in profiles.items() if shares]
    if not names:
        return
    labels = [label for label, _pattern in COMPONENTS] + ["the rest (gunicorn, Flask dispatch, …)"]
    print("\n| where a ballot's server CPU goes (py-spy round) | " + " | ".join(names) + " |")
    print("| --- |" + " ---: |" * len(names))
    for label in labels:
        cells = [profiles[name][0].get(label, 0) * profiles[name][1]["server_ms"] for name in names]
        if any(cell >= 0.05 for cell in cells):
            print(f"| {label} | " + " | ".join(f"{cell:.1f} ms" for cell in cells) + " |")
    print("| total server CPU per ballot | " + " | ".join(f"{profiles[n][1]['server_ms']:.1f} ms" for n in names) + " |")


def serial_costs(url, secret, campaign_id, items, targets, count, redis_url, rng):
    """One ballot at a time in this process: SQL statements and time of evalapp's POST and of the bare app's.

    Without concurrency, and alternating evalapp and bare ballot by ballot so that the machine's other
    load weighs on both alike; the rate limit uses Redis like the servers.
    Returns the figures and a pseudo-run (the voters used, their receipts) for the database check.
    """
    from evalapp.core.db import db

    extra = {"RATELIMIT_STORAGE_URI": redis_url, "RATELIMIT_KEY_PREFIX": f"bench-{secrets.token_hex(4)}"} \
        if redis_url else {}
    evalapp, bare = bench_app(url, secret, **extra), bare_app(url)
    t_e, t_b = targets
    e_voters, b_voters = t_e.take(count), t_b.take(count)
    _prep_init(url, secret, campaign_id, True)
    prepared = {a: (cookie, token) for a, cookie, token in _prep_chunk([(a, u) for a, _m, u in e_voters])}
    serializer = evalapp.session_interface.get_signing_serializer(evalapp)
    statements = [0]

    def count_statement(*_args, **_kwargs):
        statements[0] += 1

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", count_statement)
    figures = {"evalapp": [], "bare": []}
    successes = []
    try:
        for (e_account, _m1, _u1), (b_account, _m2, _u2) in zip(e_voters, b_voters):
            answers = {f"item_{item_id}": rng.choice(options) for item_id, options in items}
            cookie, token = prepared[e_account]
            client = evalapp.test_client()
            client.set_cookie("session", cookie)
            statements[0], started = 0, time.perf_counter()
            response = client.post(f"/campaigns/{campaign_id}/vote", data={"csrf_token": token, **answers},
                                   headers={"User-Agent": USER_AGENT})
            figures["evalapp"].append((time.perf_counter() - started, statements[0]))
            if response.status_code != 302:
                raise RuntimeError(f"evalapp's POST answered {response.status_code}")
            session = serializer.loads(client.get_cookie("session").value)
            successes.append(("pair", (e_account, session["receipt"]["code"])))
            statements[0], started = 0, time.perf_counter()
            response = bare.test_client().post(f"/campaigns/{campaign_id}/ballots",
                                               data={"account": b_account, **answers})
            figures["bare"].append((time.perf_counter() - started, statements[0]))
            if response.status_code != 200:
                raise RuntimeError(f"the bare app's POST answered {response.status_code}")
            successes.append(("body", response.get_data(as_text=True)))
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", count_statement)
        for each in (evalapp, bare, _PREP["app"]):
            with each.app_context():
                db.engine.dispose()
    warm = max(1, count // 5)  # the first ones fill caches
    result = {name: {"ms": statistics.median(t for t, _n in rows[warm:]) * 1000,
                     "statements": statistics.median(n for _t, n in rows[warm:])}
              for name, rows in figures.items()}
    run = {"label": "serial", "sent": 2 * len(e_voters), "statuses": {"302": len(e_voters), "200": len(b_voters)},
           "successes": successes, "sent_voters": e_voters + b_voters}
    return result, run


# --- checks -------------------------------------------------------------------------------------------

def verify(app, campaign_id, targets, all_runs):
    """Compare the database with the responses; return a list of failed checks (empty: all good)."""
    from evalapp.core.db import db
    from evalapp.voting.models import Ballot, Participation
    from evalapp.voting.operations import receipt_digest

    failures = []
    with app.app_context():
        ballots = db.session.scalar(sa.select(sa.func.count()).select_from(Ballot).filter_by(campaign_id=campaign_id))
        participating = set(db.session.scalars(sa.select(Participation.member_id).filter_by(campaign_id=campaign_id)))
        hashes = set(db.session.scalars(sa.select(Ballot.receipt_hash).filter_by(campaign_id=campaign_id)))
        db.session.rollback()
    member_of = {account_id: member_id for target in targets for account_id, member_id, _ in target.voters}
    successes, in_flight, sent_members = [], 0, set()
    for run in all_runs:
        decoded = decode_successes(app, run["successes"])
        successes.extend(decoded)
        in_flight += run["sent"] - sum(run["statuses"].values())
        sent_members.update(member_of[account_id] for account_id, _m, _n in run["sent_voters"])
        for status, count in run["statuses"].items():
            if status not in ("200", "302"):
                failures.append(f"{run['label']}: {count} responses with status {status}")
    succeeded = {member_of[account_id] for account_id, _code in successes}
    receipts = [code for _account, code in successes]
    extra = participating - succeeded
    print(f"\ndatabase: {ballots} ballots, {len(participating)} participations; responses: {len(successes)} "
          f"successful ({len(set(receipts))} distinct receipts), {in_flight} requests still in flight when wrk "
          f"stopped, of which {len(extra)} were committed (a ballot without a response)")
    if ballots != len(participating):
        failures.append(f"{ballots} ballots but {len(participating)} participations")
    if len(succeeded) != len(successes):
        failures.append("a voter got more than one successful response")
    if len(set(receipts)) != len(receipts):
        failures.append("a receipt was handed out twice")
    if not succeeded <= participating:
        failures.append(f"{len(succeeded - participating)} successful responses without a participation")
    lost = [code for code in receipts if receipt_digest(code) not in hashes]
    if lost:
        failures.append(f"{len(lost)} receipts without a ballot")
    if not extra <= sent_members:
        failures.append(f"{len(extra - sent_members)} participations of voters whose ballot was never sent")
    if len(extra) > in_flight:
        failures.append(f"{len(extra)} ballots without a response, more than the {in_flight} requests in flight")
    if len(participating) != len(successes) + len(extra):
        failures.append("participations ≠ successful responses + committed in-flight requests")
    return failures


def summary(targets, args):
    rows = {}
    for target in targets:
        runs = target.runs
        rows[target.name] = {
            "rate": statistics.median(run["ballots_per_s"] for run in runs),
            "p50": statistics.median(run["p50_us"] for run in runs) / 1000,
            "p99": statistics.median(run["p99_us"] for run in runs) / 1000,
            "rates": [run["ballots_per_s"] for run in runs],
            "client": statistics.median(run["wrk_cores"] for run in runs) * 100,
            "server_ms": statistics.median(run["server_ms"] for run in runs),
            "postgres_ms": statistics.median(run["postgres_ms"] for run in runs),
            "other": statistics.median(run["other_cores"] for run in runs),
            "ok": sum(len(run["successes"]) for run in runs),
        }
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per timed round")
    parser.add_argument("--warmup", type=int, default=4, help="seconds of warm-up per target")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per target (alternating)")
    parser.add_argument("--connections", type=int, default=100, help="concurrent voters (wrk connections)")
    parser.add_argument("--workers", type=int, help="GUNICORN_WORKERS for both servers (default: gunicorn.conf.py's)")
    parser.add_argument("--threads", type=int, help="GUNICORN_THREADS for both servers (default: gunicorn.conf.py's)")
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--wrk", default=shutil.which("wrk") or "wrk")
    parser.add_argument("--members", type=int, default=60_000, help="members with accounts in the electorate")
    parser.add_argument("--warmup-voters", type=int, default=800, help="voters logged in for evalapp's warm-up")
    parser.add_argument("--margin", type=float, default=1.5,
                        help="voters prepared per round, as a multiple of the warm-up's rate × duration")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", ""),
                        help="REDIS_URL for evalapp (default: the environment's; '' for none)")
    parser.add_argument("--log-format", default="json", choices=("text", "json"),
                        help="LOG_FORMAT for the servers (ballots are never logged)")
    parser.add_argument("--serial", type=int, default=60,
                        help="ballots per target cast one at a time in this process first, for the cost of one (0: none)")
    parser.add_argument("--profile", action="store_true",
                        help="afterwards, one more round per target under py-spy, and print where the time goes")
    parser.add_argument("--profile-top", type=int, default=45, help="functions to list per profile")
    parser.add_argument("--keep", action="store_true", help="keep the schema and the work folder")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        raise SystemExit("set DATABASE_URL to a PostgreSQL database (the target of this benchmark)")
    if not shutil.which(args.wrk):
        raise SystemExit(f"{args.wrk} not found: install Debian's wrk (apt-get install wrk) or pass --wrk")
    rng = random.Random(2026)
    secret = secrets.token_hex(32)
    work_dir = tempfile.mkdtemp(prefix="load-voting-")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores ({cpu_model()}), Python {platform.python_version()}")
    failures, rows, serial, profiles = [], {}, None, {}
    with database(url, args.keep) as schema_url:
        app = bench_app(schema_url, secret)
        started = time.perf_counter()
        data = build(app, args.members)
        print(f"setup: {args.members:,} members with accounts, an open campaign, in {time.perf_counter() - started:.1f} s")
        voters = data["voters"]
        rng.shuffle(voters)
        half = len(voters) // 2
        preparer = Preparer(schema_url, secret, data["campaign_id"])
        try:
            with servers(schema_url, secret, args, args.redis_url, work_dir) as (evalapp, bare):
                print(f"servers: evalapp {evalapp.url} and bare {bare.url}, {len(evalapp.worker_pids())} workers "
                      f"× {args.threads or 'default'} threads each, Redis: {args.redis_url or 'none'}; "
                      f"wrk -t{args.wrk_threads} -c{args.connections}")
                campaign_id = data["campaign_id"]
                targets = [Target("evalapp", evalapp, f"/campaigns/{campaign_id}/vote", voters[:half], campaign_id),
                           Target("bare", bare, f"/campaigns/{campaign_id}/ballots", voters[half:], campaign_id)]
                t_e, t_b = targets
                t_e.backends = t_b.backends = Backends(schema_url)
                all_runs = []

                def measured(target, label, duration, count):
                    """A round with enough voters: run again with twice as many if wrk ran out of them."""
                    for _attempt in range(4):
                        took = target.ready(count, preparer)
                        if took > 1:
                            print(f"  (logged in {len(target.prepared):,} voters for {target.name} in {took:.1f} s)")
                        run = run_round(target, label, args, work_dir, rng, data["items"], duration, count)
                        all_runs.append(run)
                        if not run["exhausted"]:
                            return run
                        count *= 2
                    failures.append(f"{label}: wrk kept running out of voters")
                    return run

                if args.serial:
                    serial, run = serial_costs(schema_url, secret, campaign_id, data["items"], targets, args.serial,
                                               args.redis_url, rng)
                    all_runs.append(run)
                    print(f"one ballot at a time in this process (median of {args.serial - max(1, args.serial // 5)}): "
                          + ", ".join(f"{name} {row['ms']:.1f} ms and {row['statements']:.0f} SQL statements"
                                      for name, row in serial.items()))
                t_e.ready(args.warmup_voters, preparer)
                check_prepared_cookie(evalapp, t_e, campaign_id)
                print("warm-up (it also sizes the timed rounds):")
                measured(t_e, "evalapp warm-up", args.warmup, args.warmup_voters)
                measured(t_b, "bare warm-up", args.warmup, voters_for(t_e.best_rate * 2, args.warmup, args))
                print("timed rounds:")
                for number in range(args.rounds):
                    order = targets if number % 2 == 0 else targets[::-1]
                    for target in order:
                        rate = target.best_rate if target.name == "evalapp" else max(t.best_rate for t in targets)
                        run = measured(target, f"{target.name} round {number + 1}", args.duration,
                                       voters_for(rate, args.duration, args))
                        target.runs.append(run)
                if args.profile:
                    print("profiled rounds (py-spy; not in the figures):")
                    profiles = {target.name: profiled_round(target, args, work_dir, rng, data["items"], preparer,
                                                            all_runs) for target in targets}
                rows = summary(targets, args)
        finally:
            preparer.close()
        failures += verify(app, data["campaign_id"], targets, all_runs)
        with app.app_context():
            from evalapp.core.db import db
            db.engine.dispose()
    if not args.keep:
        shutil.rmtree(work_dir, ignore_errors=True)
    else:
        print(f"kept {work_dir}")
    if rows:
        ratio = rows["evalapp"]["rate"] / rows["bare"]["rate"]
        print(f"\n{args.connections} concurrent voters, {args.rounds} rounds × {args.duration:g} s per target, "
              f"gunicorn {args.workers or 'default'} workers × {args.threads or 'default'} threads, "
              f"{os.cpu_count()} cores ({cpu_model()})\n")
        print("| target | ballots/s (median) | per round | p50 latency | p99 latency | server CPU / ballot | "
              "PostgreSQL CPU / ballot | wrk CPU | other load on the machine | ballots |")
        print("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for name, row in rows.items():
            print(f"| {name} | {row['rate']:.0f} | {', '.join(f'{r:.0f}' for r in row['rates'])} | "
                  f"{row['p50']:.0f} ms | {row['p99']:.0f} ms | {row['server_ms']:.1f} ms | {row['postgres_ms']:.1f} ms | "
                  f"{row['client']:.0f}% of a core | {row['other']:.2f} cores | {row['ok']:,} |")
        cpu_ratio = rows["bare"]["server_ms"] / rows["evalapp"]["server_ms"]
        print(f"| evalapp / bare | {ratio * 100:.0f}% | | | | bare/evalapp {cpu_ratio * 100:.0f}% | | | | |")
        if serial:
            print("\n| one ballot at a time, in this process | evalapp | bare | bare / evalapp |")
            print("| --- | ---: | ---: | ---: |")
            print(f"| time per POST (median) | {serial['evalapp']['ms']:.1f} ms | {serial['bare']['ms']:.1f} ms | "
                  f"{serial['bare']['ms'] / serial['evalapp']['ms'] * 100:.0f}% |")
            print(f"| SQL statements per POST | {serial['evalapp']['statements']:.0f} | "
                  f"{serial['bare']['statements']:.0f} | |")
        print_components(profiles)
        print(f"\nratio evalapp/bare: {ratio * 100:.0f}% (goal ≥ 80%)")
    if failures:
        print("\nFAILED checks:\n  " + "\n  ".join(failures))
        raise SystemExit(1)
    print("checks: ballots = participations = successful responses (+ committed in-flight requests); "
          "every receipt has its ballot; no error responses")


def check_prepared_cookie(server, target, campaign_id):
    """A prepared session, sent by a plain HTTP client, must get the vote page from gunicorn."""
    account_id = next(iter(target.prepared))
    cookie, _token = target.prepared[account_id]
    request = urllib.request.Request(f"{server.url}/campaigns/{campaign_id}/vote",
                                     headers={"Cookie": f"session={cookie}", "User-Agent": USER_AGENT})
    with urllib.request.urlopen(request, timeout=10) as response:  # nosec B310
        html = response.read().decode()
        if response.status != 200 or "csrf_token" not in html or "/login" in response.url:
            raise RuntimeError("a prepared session was not accepted by the gunicorn server")


def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    main()
