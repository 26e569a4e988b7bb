"""What the deployment drill checks once the guide has run, from inside the drill machine's network:
run by scripts/deployment_drill, never by hand.

    python checks.py install CA_FILE PASSWORD      the install answers over HTTPS, a first administrator
                                                   sets up the federation and downloads a review PDF
    python checks.py failover CA_FILE PASSWORD     one instance stopped: nginx serves from the other
    python checks.py watch CA_FILE PASSWORD OUT STOP
                                                   a signed-in page and /healthz through nginx without
                                                   pause until the file STOP appears, every status
                                                   written to OUT (during an upgrade)
    python checks.py release PORT...               the release each instance runs
"""
import http.cookies
import json
import os
import re
import ssl
import sys
import time

import urllib3

HOST = "pingyi.example.cn"
BASE = f"https://{HOST}"
TREE = ("工会代码,工会名称,上级工会代码,类型,所属类型,主席手机号\n"
        "K1,蓬江区总工会,,县（市、区）总工会,其他,\n"
        "K2,江海区总工会,,县（市、区）总工会,其他,\n"
        "T1,环市街道总工会,K1,镇（街）总工会,其他,\n"
        "G1,某某有限公司工会,T1,基层工会,非公有制企业,\n")


class Browser:
    """Cookies, the CSRF token of the last page and a same-site Referer, as a browser sends them."""

    def __init__(self, ca_file):
        context = ssl.create_default_context(cafile=ca_file)
        self.pool = urllib3.PoolManager(ssl_context=context, retries=False, timeout=30)
        self.cookies = http.cookies.SimpleCookie()
        self.last_url = BASE + "/"
        self.token = None

    def request(self, method, path, **options):
        url = path if path.startswith("http") else BASE + path
        headers = {"Referer": self.last_url, **options.pop("headers", {})}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={morsel.value}" for name, morsel in self.cookies.items())
        response = self.pool.request(method, url, headers=headers, redirect=False, **options)
        for header in response.headers.getlist("Set-Cookie"):
            self.cookies.load(header)
        if response.status in (301, 302, 303):
            return self.request("GET", response.headers["Location"])
        self.last_url = url
        found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', response.data.decode(errors="replace"))
        self.token = found.group(1) if found else self.token
        return response

    def get(self, path):
        return self.request("GET", path)

    def post(self, path, fields, files=None):
        body = {"csrf_token": self.token, **fields, **(files or {})}
        return self.request("POST", path, fields=body, encode_multipart=bool(files))


def words(response):
    """A page's text without its tags, as a reader sees it."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.data.decode()))


def expect(condition, message):
    if not condition:
        raise SystemExit(f"drill check failed: {message}")
    print(f"ok: {message}")


def healthy(ca_file, wait=120):
    """/healthz through nginx, waiting for the worker's and the clock's first heartbeats."""
    browser = Browser(ca_file)
    deadline = time.monotonic() + wait
    while True:
        report = json.loads(browser.get("/healthz").data)
        if report["status"] == "ok" and report["jobs"].get("ok") or time.monotonic() > deadline:
            return report
        time.sleep(3)


def install(ca_file, password):
    report = healthy(ca_file)
    expect(report["status"] == "ok" and report["checks"]["redis"]["ok"], f"HTTPS /healthz: {report['checks']}")
    expect(report["jobs"]["ok"], f"the worker and the clock beat: {report['jobs']}")
    plain = urllib3.PoolManager(retries=False).request("GET", f"http://{HOST}/login", redirect=False)
    expect(plain.status == 301 and plain.headers["Location"] == f"{BASE}/login", "plain HTTP is sent to HTTPS")
    for port in (8001, 8002):
        direct = json.loads(urllib3.PoolManager().request("GET", f"http://127.0.0.1:{port}/healthz").data)
        expect(direct["status"] == "ok", f"instance {port} answers on its own")

    admin = Browser(ca_file)
    admin.get("/login")
    page = admin.post("/login", {"username": "jgadmin", "password": password})
    expect(page.status == 200 and "创建市总工会" in page.data.decode(),
           f"the first administrator is led to /setup ({admin.last_url}: {page.status})")
    expect(all(morsel["secure"] for morsel in admin.cookies.values()), "every cookie is Secure over HTTPS")
    page = admin.post("/setup", {"name": "江门市总工会", "code": "GH-440700"})
    text = page.data.decode()
    expect("市总工会已创建" in text and "从文件导入下属工会" in text, "the city federation is created")
    city = re.search(r'"/rosters/unions/(\d+)/tree-import"', text)
    expect(city is not None, "its page offers the union tree import")
    admin.get(f"/rosters/unions/{city.group(1)}/tree-import")
    job = admin.post(f"/rosters/unions/{city.group(1)}/tree-import", {},
                     files={"tree": ("下属工会.csv", TREE.encode("utf-8-sig"), "text/csv")})
    job_url = admin.last_url
    deadline = time.monotonic() + 120
    while "确认导入" not in job.data.decode() and time.monotonic() < deadline:
        time.sleep(2)                                   # the worker checks the file
        job = admin.get(job_url)
    expect("确认导入" in job.data.decode(), "the worker checked the tree file")
    done = admin.post(job_url + "/apply", {})
    while "导入结果" not in words(done) and time.monotonic() < deadline:
        time.sleep(2)                                   # the worker applies it
        done = admin.get(job_url)
    expect(re.search(r"已设立的新工会\s+4\b", words(done)) is not None, "four unions are created under the federation")
    unions = admin.get("/unions/").data.decode()
    expect("蓬江区总工会" in unions and "江海区总工会" in unions, "the imported unions are listed")

    # A file the worker wrote, handed to nginx by X-Accel-Redirect: nginx's own user reads it through
    # the group, and the Chinese name survives the trip (RFC 6266).
    admin.get(f"/unions/{city.group(1)}/review")
    job = admin.post(f"/unions/{city.group(1)}/review", {"period_start": "2026-01-01", "period_end": "2026-12-31"})
    job_url, link, deadline = admin.last_url, None, time.monotonic() + 120
    while link is None and time.monotonic() < deadline:
        link = re.search(r'href="(/reviews/\d+/download)"', job.data.decode())
        time.sleep(0 if link else 2)
        job = job if link else admin.get(job_url)
    expect(link is not None, "the worker made a review PDF")
    pdf = admin.get(link.group(1))
    disposition = pdf.headers.get("Content-Disposition", "")
    expect(pdf.status == 200 and pdf.data.startswith(b"%PDF") and "X-Accel-Redirect" not in pdf.headers,
           f"nginx serves the PDF itself ({pdf.status}, {len(pdf.data)} bytes)")
    expect("filename*=UTF-8''%E5%AE%A1%E9%98%85%E6%8A%A5%E5%91%8A" in disposition,
           f"under its Chinese name: {disposition}")


def failover(ca_file, password):
    """Run while evalapp-web@8001 is stopped: a signed-in officer goes on through nginx."""
    admin = Browser(ca_file)
    admin.get("/login")
    statuses = [admin.post("/login", {"username": "jgadmin", "password": password}).status]
    statuses += [admin.get(path).status for path in ("/unions/", "/healthz", "/") * 10]
    expect(set(statuses) == {200}, f"with one instance down every request is served: {sorted(set(statuses))}")


def watch(ca_file, password, out, stop_file):
    """Until `stop_file` appears: a signed-in officer's page and /healthz, in turn, through nginx."""
    browser = Browser(ca_file)
    browser.get("/login")
    browser.post("/login", {"username": "jgadmin", "password": password})
    statuses, deadline = [], time.monotonic() + 1800
    while not os.path.exists(stop_file) and time.monotonic() < deadline:
        for path in ("/unions/", "/healthz"):
            try:
                statuses.append(browser.get(path).status)
            except urllib3.exceptions.HTTPError as error:
                statuses.append(type(error).__name__)
        time.sleep(0.05)
    with open(out, "w") as file:
        json.dump(statuses, file)


def release(*ports):
    for port in ports:
        print(json.loads(urllib3.PoolManager().request("GET", f"http://127.0.0.1:{port}/healthz").data)["release"])


if __name__ == "__main__":
    command, *arguments = sys.argv[1:]
    {"install": install, "failover": failover, "watch": watch, "release": release}[command](*arguments)
