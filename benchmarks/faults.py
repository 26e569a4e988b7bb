"""Faults while ~100 voters cast ballots: a gunicorn worker SIGKILLed, then PostgreSQL restarted.

Usage (inside .venv, as root on the machine that runs PostgreSQL, Redis running):
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test REDIS_URL=redis://127.0.0.1:6379/0 \
        python benchmarks/faults.py [--voters 100] [--accounts 4000] [--workers N] [--no-pg-restart]

evalapp runs as `gunicorn -c gunicorn.conf.py wsgi:app` (GUNICORN_* settings from the options) on a
schema of its own (dropped at the end), with REDIS_URL set. Every account is logged in beforehand
through evalapp's /login; then --voters threads, each a browser of its own (http.client, keep-alive),
take accounts one after another, and for each: get the vote page, post the ballot with the page's
CSRF token, follow the redirect to the receipt page and read the receipt. On any error (connection
refused or reset, a 5xx page, a timeout) the thread records it, pauses briefly (--pause) and tries
again: the receipt page if the ballot went through (the code waits in the session cookie), else
from the vote page; for --give-up seconds (and --tries attempts) at most.

During the voting the script
  (a) SIGKILLs one gunicorn worker (a child of the master), and once ballots flow again,
  (b) restarts PostgreSQL: pg_ctlcluster --skip-systemctl-redirect <version> main restart.
Before (b) it waits while /tmp/evalapp-pg-busy exists (others' PostgreSQL tests are running;
new accounts are not started meanwhile) and it never restarts PostgreSQL after --pg-deadline (UTC).
PostgreSQL is started again at the end if it is not running.

Then it checks, and exits 1 if any check fails:
  * every member who voted has exactly one participation, with exactly one ballot per participation
    (ballots = participations), and every receipt a voter was shown belongs to a ballot;
  * every account a voter started ended with a receipt (a ballot committed whose answer was lost
    leaves the voter without one: reported as such);
  * every error was a clear error page (503 with Retry-After or 500, each the standalone error page
    with its request id; 429 with its page) or a connection error that was retried; no request hung
    until the client's timeout;
  * after each fault the service answered again by itself: a ballot started after the fault got its
    receipt (the recovery time is from the fault to that receipt), /healthz answered 200, and the
    same gunicorn master was still running with all its workers.
"""
import argparse
import http.client
import os
import platform
import random
import re
import secrets
import signal
import subprocess  # nosec B404 - the benchmark drives gunicorn and pg_ctlcluster
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from large_electorate import database  # noqa: E402
from load_voting import (  # noqa: E402  (the sibling benchmark's setup and servers)
    CSRF_FIELD,
    USER_AGENT,
    Gunicorn,
    Preparer,
    bench_app,
    build,
    cpu_model,
    server_environment,
)

BUSY_FILE = Path("/tmp/evalapp-pg-busy")
RECEIPT = re.compile(r'class="receipt"[^>]*data-code="([0-9a-f]+)"')
TITLE = re.compile(r"<title>(.*?)</title>", re.S)
ALREADY_VOTED = "您已在本次评议中投过票"


class Events:
    """Everything the voters saw, with monotonic timestamps."""

    def __init__(self):
        self.lock = threading.Lock()
        self.errors = []     # dicts: t, account, step, kind (status/connection/timeout), detail, clear, seconds
        self.successes = []  # (post started, receipt read, account id, receipt)
        self.outcomes = {}   # account id → "receipt" | "already voted, no receipt" | "gave up"
        self.requests = 0

    def error(self, **entry):
        with self.lock:
            self.errors.append(entry)

    def success(self, started, account_id, code):
        with self.lock:
            self.successes.append((started, time.monotonic(), account_id, code))

    def first_success_after(self, moment):
        """The first receipt of a ballot posted after `moment`: (seconds after it, …) or None."""
        with self.lock:
            after = [done for started, done, _a, _c in self.successes if started >= moment]
        return min(after) - moment if after else None


class Browser:
    """One voter's keep-alive connection to the server, remade after any error.

    Like a browser, it does not reuse a connection that has been idle for longer than gunicorn
    keeps it open (GUNICORN_KEEPALIVE, 5 s): the server closing it would look like a fault.
    """

    IDLE = 4.0

    def __init__(self, base, timeout):
        parts = urlsplit(base)
        self.host, self.port, self.timeout = parts.hostname, parts.port, timeout
        self.connection, self.last_used = None, 0.0

    def request(self, method, path, cookie, body=None):
        """Return (status, headers, text, cookie after the response); raise on connection errors."""
        if self.connection is not None and time.monotonic() - self.last_used > self.IDLE:
            self.close()
        if self.connection is None:
            self.connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        headers = {"User-Agent": USER_AGENT, "Cookie": f"session={cookie}"}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            text = response.read().decode("utf-8", errors="replace")
        except BaseException:
            self.close()
            raise
        self.last_used = time.monotonic()
        if response.getheader("Connection", "").lower() == "close":
            self.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            if header.startswith("session="):
                cookie = header.split(";", 1)[0].split("=", 1)[1]
        return response.status, response.headers, text, cookie

    def close(self):
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def clear_error_page(status, headers, text):
    """Is this failure a clear answer a member can act on (and the client can retry on)?

    evalapp's own pages only: gunicorn's bare "Internal Server Error" (an exception that escaped
    Flask, e.g. from a teardown) is a 500 too, but no page of evalapp's and no request id.
    """
    title = TITLE.search(text)
    if status == 503:
        return headers.get("Retry-After") is not None and "服务暂时不可用" in text and "错误编号" in text
    if status == 500:
        return "服务器出错" in text and "错误编号" in text
    if status == 429:
        return title is not None and "过于频繁" in text
    return False


class Voting:
    """The voter threads and the queue of accounts they work through."""

    def __init__(self, base, campaign_id, items, accounts, args, events):
        self.base, self.campaign_id, self.items, self.args, self.events = base, campaign_id, items, args, events
        self.accounts = list(accounts)  # [(account id, cookie)]
        self.lock = threading.Lock()
        self.go = threading.Event()
        self.go.set()
        self.stopping = False
        self.started_accounts = []
        self.threads = [threading.Thread(target=self.voter, args=(number,), daemon=True)
                        for number in range(args.voters)]

    def start(self):
        for thread in self.threads:
            thread.start()

    def stop(self):
        self.stopping = True
        self.go.set()
        for thread in self.threads:
            thread.join(timeout=self.args.give_up + 2 * self.args.timeout)

    def remaining(self):
        with self.lock:
            return len(self.accounts)

    def next_account(self):
        with self.lock:
            if self.stopping or not self.accounts:
                return None
            account = self.accounts.pop()
            self.started_accounts.append(account[0])
            return account

    def voter(self, number):
        rng = random.Random(number)
        browser = Browser(self.base, self.args.timeout)
        while True:
            self.go.wait()
            account = self.next_account()
            if account is None:
                break
            self.vote(browser, rng, *account)
        browser.close()

    def vote(self, browser, rng, account_id, cookie):
        vote_path = f"/campaigns/{self.campaign_id}/vote"
        outcome = "gave up"
        deadline = time.monotonic() + self.args.give_up
        for _attempt in range(self.args.tries):
            if time.monotonic() > deadline:
                break
            step, started = "vote page", time.monotonic()
            try:
                status, headers, text, cookie = browser.request("GET", vote_path, cookie)
                if status == 409 and ALREADY_VOTED in text:
                    # The ballot was stored but its answer never arrived: the receipt is lost.
                    outcome = "already voted, no receipt"
                    break
                if status != 200:
                    self.failed(account_id, step, started, status, headers, text)
                    continue
                token = CSRF_FIELD.search(text)
                if token is None:
                    self.failed(account_id, step, started, status, headers, text)
                    continue
                body = urlencode({"csrf_token": token.group(1),
                                  **{f"item_{item_id}": rng.choice(options) for item_id, options in self.items}})
                step, started = "post ballot", time.monotonic()
                posted = started
                status, headers, text, cookie = browser.request("POST", vote_path, cookie, body)
                if status == 409 and ALREADY_VOTED in text:
                    outcome = "already voted, no receipt"
                    break
                if status != 302 or "/voted" not in (headers.get("Location") or ""):
                    self.failed(account_id, step, started, status, headers, text)
                    continue
                code = self.receipt(browser, account_id, urlsplit(headers["Location"]).path, cookie, deadline)
                if code is not None:
                    self.events.success(posted, account_id, code)
                    outcome = "receipt"
                    break
            except TimeoutError as error:
                self.events.error(t=started, account=account_id, step=step, kind="timeout",
                                  detail=type(error).__name__, clear=False, seconds=time.monotonic() - started)
                self.pause(rng)
            except (OSError, http.client.HTTPException) as error:
                self.events.error(t=started, account=account_id, step=step, kind="connection",
                                  detail=type(error).__name__, clear=True, seconds=time.monotonic() - started)
                self.pause(rng)
        with self.events.lock:
            self.events.outcomes[account_id] = outcome

    def receipt(self, browser, account_id, path, cookie, deadline):
        """Read the receipt from the page the ballot redirected to (the code is in the session until then)."""
        for _attempt in range(self.args.tries):
            if time.monotonic() > deadline:
                break
            started = time.monotonic()
            try:
                status, headers, text, _cookie = browser.request("GET", path, cookie)
            except TimeoutError as error:
                self.events.error(t=started, account=account_id, step="receipt page", kind="timeout",
                                  detail=type(error).__name__, clear=False, seconds=time.monotonic() - started)
                continue
            except (OSError, http.client.HTTPException) as error:
                self.events.error(t=started, account=account_id, step="receipt page", kind="connection",
                                  detail=type(error).__name__, clear=True, seconds=time.monotonic() - started)
                self.pause(random)
                continue
            match = RECEIPT.search(text) if status == 200 else None
            if match:
                return match.group(1)
            self.failed(account_id, "receipt page", started, status, headers, text)
        return None

    def failed(self, account_id, step, started, status, headers, text):
        title = TITLE.search(text)
        self.events.error(t=started, account=account_id, step=step, kind="status",
                          detail=f"{status} {title.group(1).strip() if title else '(no title)'}",
                          clear=clear_error_page(status, headers, text), seconds=time.monotonic() - started)
        self.pause(random)

    def pause(self, rng):
        time.sleep(self.args.pause * (0.5 + rng.random()))


def healthz(base):
    try:
        with urllib.request.urlopen(base + "/healthz", timeout=5) as response:  # nosec B310
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


def wait_for_recovery(events, moment, limit):
    """Seconds from `moment` to the first receipt of a ballot posted after it, or None after `limit` s."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        recovery = events.first_success_after(moment)
        if recovery is not None:
            return recovery
        time.sleep(0.05)
    return None


def postgres_version():
    versions = sorted(os.listdir("/etc/postgresql"))
    return versions[-1]


def postgres_running():
    return subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1"], check=False).returncode == 0  # nosec B603 B607


def ensure_postgres_running():
    if not postgres_running():
        print("PostgreSQL is not running: starting it")
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", postgres_version(), "main", "start"],  # nosec
                       check=False)


def deadline_passed(deadline):
    if not deadline:
        return False
    now = datetime.now(UTC)
    hour, minute = map(int, deadline.split(":"))
    return (now.hour, now.minute) >= (hour, minute)


def kill_worker(server, events, faults, args):
    workers = server.worker_pids()
    victim = random.choice(workers)
    moment = time.monotonic()
    os.kill(victim, signal.SIGKILL)
    print(f"fault 1: SIGKILL worker {victim} (of {len(workers)}: {workers})")
    respawned = None
    deadline = moment + 60
    while time.monotonic() < deadline:
        now_workers = server.worker_pids()
        if victim not in now_workers and len(now_workers) >= len(workers):
            respawned = time.monotonic() - moment
            break
        time.sleep(0.05)
    recovery = wait_for_recovery(events, moment, args.recovery_limit)
    faults.append({"fault": f"SIGKILL of one of {len(workers)} gunicorn workers", "moment": moment,
                   "recovery": recovery, "back": respawned, "back_label": "replacement worker up"})


def restart_postgres(voting, events, faults, failures, args):
    if deadline_passed(args.pg_deadline):
        failures.append(f"PostgreSQL was not restarted: it is past {args.pg_deadline} UTC")
        return
    waited = 0.0
    while True:
        if BUSY_FILE.exists():
            if not waited:
                print(f"waiting while {BUSY_FILE} exists (someone's PostgreSQL tests are running); "
                      "no new ballots are started meanwhile")
            voting.go.clear()
            time.sleep(1)
            waited += 1
            if waited > args.busy_wait:
                voting.go.set()
                failures.append(f"PostgreSQL was not restarted: {BUSY_FILE} stayed for {args.busy_wait} s")
                return
            continue
        if not voting.go.is_set():
            voting.go.set()  # voting again for a few seconds before the fault
            time.sleep(3)
            continue
        break
    if deadline_passed(args.pg_deadline):
        failures.append(f"PostgreSQL was not restarted: it is past {args.pg_deadline} UTC")
        return
    version = postgres_version()
    moment = time.monotonic()
    print(f"fault 2: pg_ctlcluster --skip-systemctl-redirect {version} main restart"
          + (f" (after waiting {waited:.0f} s for {BUSY_FILE})" if waited else ""))
    result = subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],  # nosec
                            capture_output=True, text=True, check=False)
    back = time.monotonic() - moment
    if result.returncode != 0:
        failures.append(f"pg_ctlcluster restart failed: {result.stderr.strip()}")
    print(f"  pg_ctlcluster returned after {back:.1f} s")
    recovery = wait_for_recovery(events, moment, args.recovery_limit)
    faults.append({"fault": "PostgreSQL restart (pg_ctlcluster … restart)", "moment": moment, "recovery": recovery,
                   "back": back, "back_label": "pg_ctlcluster returned"})


def after_fault(moment, faults):
    """'1.23 s after fault 2' for a moment, from the last fault before it."""
    before = [(number, fault) for number, fault in enumerate(faults, start=1) if fault["moment"] <= moment]
    if not before:
        return "before any fault"
    number, fault = before[-1]
    return f"{moment - fault['moment']:.2f} s after fault {number}"


def check_database(app, campaign_id, voters, events, started_accounts, faults):
    """Return failed checks about what is stored against what the voters were told."""
    from evalapp.core.db import db
    from evalapp.voting.models import Ballot, Participation
    from evalapp.voting.operations import receipt_digest

    failures = []
    member_of = {account_id: member_id for account_id, member_id, _name in voters}
    with app.app_context():
        participations = db.session.execute(
            sa.select(Participation.member_id, sa.func.count()).filter_by(campaign_id=campaign_id)
            .group_by(Participation.member_id)).all()
        ballots = db.session.scalar(sa.select(sa.func.count()).select_from(Ballot).filter_by(campaign_id=campaign_id))
        hashes = set(db.session.scalars(sa.select(Ballot.receipt_hash).filter_by(campaign_id=campaign_id)))
        db.session.rollback()
        db.engine.dispose()
    per_member = dict(participations)
    started_members = {member_of[a] for a in started_accounts}
    receipts = [code for _s, _d, _a, code in events.successes]
    outcomes = events.outcomes
    counts = {}
    for outcome in outcomes.values():
        counts[outcome] = counts.get(outcome, 0) + 1
    print(f"\ndatabase: {sum(per_member.values())} participations of {len(per_member)} members, {ballots} ballots; "
          f"voters: {len(started_accounts)} accounts started, outcomes {counts}")
    if any(n != 1 for n in per_member.values()):
        failures.append("a member has more than one participation")
    if ballots != sum(per_member.values()):
        failures.append(f"{ballots} ballots for {sum(per_member.values())} participations")
    if set(per_member) - started_members:
        failures.append("participations of members whose voter never started")
    voted = {member_of[a] for a, outcome in outcomes.items() if outcome != "gave up"}
    if voted - set(per_member):
        failures.append(f"{len(voted - set(per_member))} voters told they voted have no participation")
    gave_up = [a for a, outcome in outcomes.items() if outcome == "gave up"]
    if {member_of[a] for a in gave_up} & set(per_member):
        failures.append("a voter who gave up has a participation (a ballot stored without a receipt)")
    if len(set(receipts)) != len(receipts):
        failures.append("the same receipt was shown twice")
    missing = [code for code in receipts if receipt_digest(code) not in hashes]
    if missing:
        failures.append(f"{len(missing)} receipts without a ballot")
    if len(outcomes) != len(started_accounts):
        failures.append(f"{len(started_accounts) - len(outcomes)} voters did not finish")
    if counts.get("already voted, no receipt"):
        failures.append(f"{counts['already voted, no receipt']} voters' ballots were stored but they never got the "
                        "receipt: their POST was answered by an error or not at all, and the vote page then said "
                        "they had voted")
        for account_id, outcome in outcomes.items():
            if outcome == "already voted, no receipt":
                seen = [f"{e['step']}: {e['kind']} {e['detail']} ({after_fault(e['t'], faults)})"
                        for e in events.errors if e["account"] == account_id]
                print(f"  account {account_id} voted but has no receipt; it saw: {'; '.join(seen) or 'nothing'}")
    if gave_up:
        failures.append(f"{len(gave_up)} voters gave up (no receipt within --give-up seconds)")
    return failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--voters", type=int, default=100, help="concurrent voters (threads)")
    parser.add_argument("--accounts", type=int, default=3000, help="accounts logged in beforehand (each votes once)")
    parser.add_argument("--workers", type=int, help="GUNICORN_WORKERS (default: gunicorn.conf.py's)")
    parser.add_argument("--threads", type=int, help="GUNICORN_THREADS (default: gunicorn.conf.py's)")
    parser.add_argument("--tries", type=int, default=500, help="attempts per voter (and per receipt page) at most")
    parser.add_argument("--give-up", type=float, default=180,
                        help="seconds a voter keeps retrying before giving up (a PostgreSQL restart can take 20 s)")
    parser.add_argument("--pause", type=float, default=0.5, help="seconds (±50%%) before a retry")
    parser.add_argument("--timeout", type=float, default=30, help="client timeout per request: longer is a hang")
    parser.add_argument("--before", type=float, default=8, help="seconds of voting before the first fault")
    parser.add_argument("--between", type=float, default=5, help="seconds of normal voting after a recovery")
    parser.add_argument("--recovery-limit", type=float, default=60, help="seconds allowed for a recovery")
    parser.add_argument("--no-pg-restart", action="store_true", help="only kill a worker")
    parser.add_argument("--pg-deadline", default="",
                        help="HH:MM: no PostgreSQL restart at or after this UTC time (on a shared machine)")
    parser.add_argument("--busy-wait", type=float, default=900, help=f"seconds to wait at most for {BUSY_FILE}")
    parser.add_argument("--log-format", default="json", choices=("text", "json"), help="LOG_FORMAT for gunicorn")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        raise SystemExit("set DATABASE_URL to a PostgreSQL database")
    redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    secret = secrets.token_hex(32)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores ({cpu_model()}), Python {platform.python_version()}")
    failures, faults = [], []
    log_dir = Path(tempfile.mkdtemp(prefix="faults-"))
    server = None
    try:
        with database(url) as schema_url:
            app = bench_app(schema_url, secret)
            data = build(app, args.accounts)
            campaign_id = data["campaign_id"]
            started = time.perf_counter()
            preparer = Preparer(schema_url, secret, campaign_id, vote_page=False)
            try:
                cookies = preparer.prepare(data["voters"])
            finally:
                preparer.close()
            print(f"setup: {args.accounts:,} accounts logged in beforehand in {time.perf_counter() - started:.1f} s")
            server = Gunicorn("evalapp", "wsgi:app", server_environment(schema_url, secret, args, redis_url), log_dir)
            expected_workers = args.workers or 2 * (os.cpu_count() or 1) + 1
            server.wait_ready(expected_workers)
            master = server.process.pid
            print(f"gunicorn master {master}, workers {server.worker_pids()}, Redis {redis_url}, "
                  f"{args.voters} voters")
            events = Events()
            voting = Voting(server.url, campaign_id, data["items"],
                            [(a, cookies[a][0]) for a, _m, _n in data["voters"]], args, events)
            voting.start()
            time.sleep(args.before)
            print(f"  {len(events.successes)} receipts so far")
            kill_worker(server, events, faults, args)
            time.sleep(args.between)
            faults[-1]["healthz"] = healthz(server.url)
            if not args.no_pg_restart:
                before = len(faults)
                restart_postgres(voting, events, faults, failures, args)
                if len(faults) > before:
                    time.sleep(args.between)
                    faults[-1]["healthz"] = healthz(server.url)
            if not voting.remaining():
                failures.append("the accounts ran out during the run (raise --accounts): the last fault may have "
                                "had no voters")
            voting.stop()
            alive = server.process.poll() is None  # the master started at the beginning, never restarted
            workers_after = server.worker_pids()
            server.stop()
            ensure_postgres_running()
            failures += check_database(app, campaign_id, data["voters"], events, voting.started_accounts, faults)
    finally:
        if server is not None and server.process.poll() is None:
            server.stop()
        ensure_postgres_running()

    # Errors the voters saw.
    kinds = {}
    for error in events.errors:
        key = (error["kind"], error["step"], error["detail"], "yes" if error["clear"] else "NO")
        kinds[key] = kinds.get(key, 0) + 1
    unclear = [e for e in events.errors if not e["clear"]]
    slowest = max((e["seconds"] for e in events.errors), default=0)
    if unclear:
        failures.append(f"{len(unclear)} errors were neither a clear error page of evalapp's nor a connection error")
    if not alive:
        failures.append("the gunicorn master did not survive the run")
    if len(workers_after) < expected_workers:
        failures.append(f"only {len(workers_after)} of {expected_workers} workers were running at the end")
    for fault in faults:
        if fault["recovery"] is None:
            failures.append(f"no ballot got through within {args.recovery_limit:g} s after: {fault['fault']}")
        if fault.get("healthz") != 200:
            failures.append(f"/healthz answered {fault.get('healthz')} {args.between:g} s after recovering from: "
                            f"{fault['fault']}")

    total = len(events.successes)
    print(f"\n{args.voters} concurrent voters, gunicorn {expected_workers} workers × {args.threads or 'default'} threads, "
          f"{os.cpu_count()} cores ({cpu_model()}); {total:,} receipts, {len(events.errors)} errors seen and retried\n")
    print("| fault | recovery: fault → next receipt of a ballot posted after it | "
          "server side back | /healthz after | errors voters saw after it (30 s at most) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for number, fault in enumerate(faults):
        until = faults[number + 1]["moment"] if number + 1 < len(faults) else float("inf")
        window = [e for e in events.errors if fault["moment"] <= e["t"] + e["seconds"] < min(until, fault["moment"] + 30)]
        recovery = "none" if fault["recovery"] is None else f"{fault['recovery']:.2f} s"
        print(f"| {fault['fault']} | {recovery} | {fault['back_label']} after {fault['back']:.2f} s | "
              f"{fault.get('healthz')} | {len(window)} |")
    print("\n| error seen by voters (then retried) | step | detail | clear? | count |")
    print("| --- | --- | --- | --- | ---: |")
    for (kind, step, detail, clear), count in sorted(kinds.items(), key=lambda kv: -kv[1]):
        print(f"| {kind} | {step} | {detail} | {clear} | {count} |")
    print(f"\nslowest failed request: {slowest:.2f} s (client timeout {args.timeout:g} s: a timeout would be a hang)")
    print(f"gunicorn log: {server.log_path}" if server else "")
    if failures:
        print("\nFAILED checks:\n  " + "\n  ".join(failures))
        raise SystemExit(1)
    print("checks passed: one participation and one ballot per voter, every voter got a receipt, every error was a "
          "clear page or a retried connection error, and the service recovered by itself from each fault")


if __name__ == "__main__":
    main()
