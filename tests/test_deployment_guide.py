"""docs/deployment.md's install steps, checked on every test run; scripts/deployment_drill runs them
whole on a fresh Debian (docs/operations.md, "The deployment drill")."""
import importlib.util
import re
import shutil
import subprocess  # nosec B404: bash and nginx check what the guide says
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("guide", ROOT / "scripts" / "drill" / "guide.py")
guide = importlib.util.module_from_spec(spec)
spec.loader.exec_module(guide)
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def test_every_install_step_is_a_shell_block_bash_accepts():
    blocks = guide.guide_blocks()
    assert len(blocks) == 7
    for block in blocks:
        checked = subprocess.run(["bash", "-n"], input=block, text=True, capture_output=True)  # nosec B603 B607
        assert checked.returncode == 0, checked.stderr + block


def test_the_service_units_run_two_instances_and_a_worker_with_the_settings_file():
    web = guide.written_file("/etc/systemd/system/evalapp-web@.service")
    worker = guide.written_file("/etc/systemd/system/evalapp-worker.service")
    for unit in (web, worker):
        assert "User=evalapp" in unit and "EnvironmentFile=/etc/evalapp/evalapp.env" in unit
    assert "Environment=GUNICORN_BIND=127.0.0.1:%i" in web and "gunicorn -c gunicorn.conf.py wsgi:app" in web
    assert "ExecStart=/srv/evalapp/app/.venv/bin/flask jobs worker" in worker
    started = re.search(r"^systemctl enable --now (.*)$", "\n".join(guide.guide_blocks()), re.M).group(1).split()
    ports = re.findall(r"server 127\.0\.0\.1:(\d+)", guide.written_file("/etc/nginx/sites-available/evalapp"))
    assert started == [f"evalapp-web@{port}" for port in ports] + ["evalapp-worker"] and len(ports) == 2
    settings = guide.written_file("/etc/evalapp/evalapp.env")
    assert "EVALAPP_PRODUCTION=1" in settings and "GUNICORN_BIND" not in settings   # each unit names its port


@pytest.mark.service
def test_the_nginx_site_as_written_passes_nginx_t(tmp_path):
    """Debian 12's nginx takes the site as the guide writes it (only the certificate and log paths are
    the test's own; `nginx -t` opens no port)."""
    certificate, key = tmp_path / "fullchain.pem", tmp_path / "privkey.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",  # nosec
                    "/CN=pingyi.example.cn", "-keyout", str(key), "-out", str(certificate)],
                   check=True, capture_output=True)
    site = guide.written_file("/etc/nginx/sites-available/evalapp")
    site = site.replace("/etc/ssl/evalapp/", f"{tmp_path}/").replace("/var/log/nginx/", f"{tmp_path}/")
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(f"""
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/error.log;
events {{ worker_connections 16; }}
http {{ include {tmp_path}/site.conf; }}
""")
    checked = subprocess.run([NGINX, "-t", "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path)],  # nosec B603
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    assert "syntax is ok" in checked.stderr
