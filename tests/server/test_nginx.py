"""The documented deployment, run: Debian's ``nginx`` with ``docs/deploy/nginx.conf`` itself
in front of a real ``callflow serve`` in production mode (issue 9 §4).

The server block is the file of the docs with only the values a test must change replaced
(listen port, upstream port, certificate paths, server name), each by an exact string that
must be there; ``docs/deployment.md`` must show the file verbatim. nginx runs in a temporary
prefix with a self-signed certificate; every wait has a deadline; all traffic goes to
127.0.0.1 (a second client connects from 127.0.0.2, also loopback, to tell the client
apart from nginx's own address).
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx2
import pytest
from lxml import etree

from callflow.cli.command import build_parser

if TYPE_CHECKING:
    from conftest import Server, ServerFactory

ROOT = Path(__file__).resolve().parents[2]
NGINX_CONF = ROOT / "docs" / "deploy" / "nginx.conf"
SYSTEMD_UNIT = ROOT / "docs" / "deploy" / "callflow.service"
DEPLOYMENT_MD = ROOT / "docs" / "deployment.md"

APP = "tests.nginx_apps:app"
PUBLIC_HOST = "ivr.example.test"
OPENTACT = "72.21.26.35"
OTHER_CLIENT = "127.0.0.2"
"""A second loopback address: a client that is not nginx's own address."""
SECRET = "nginx-test-production-secret-of-48-bytes-long!!!"
assert len(SECRET.encode()) >= 32
CALLER, CALLED = "+15550100999", "+15550100200"
NGINX_DEADLINE_S = 10.0
LOG_DEADLINE_S = 5.0


# -- the documented files ----------------------------------------------------------------------


def fenced_blocks(markdown: str, language: str) -> list[str]:
    """The text of every ```language block of ``markdown``."""
    return re.findall(rf"^```{language}\n(.*?)^```$", markdown, flags=re.MULTILINE | re.DOTALL)


@pytest.mark.parametrize(
    ("path", "language"),
    [pytest.param(NGINX_CONF, "nginx", id="nginx"), pytest.param(SYSTEMD_UNIT, "ini", id="unit")],
)
def test_deployment_md_shows_the_deploy_file_verbatim(path: Path, language: str) -> None:
    blocks = fenced_blocks(DEPLOYMENT_MD.read_text(), language)
    text = path.read_text()
    assert text in blocks, f"no ```{language} block of docs/deployment.md equals {path.name}"


def test_the_systemd_unit_runs_a_valid_callflow_serve() -> None:
    lines = SYSTEMD_UNIT.read_text().splitlines()
    settings = dict(line.split("=", 1) for line in lines if "=" in line and line[0] != "#")
    program, *argv = shlex.split(settings["ExecStart"])
    assert program.endswith("/callflow"), program
    args = build_parser().parse_args(argv)
    assert args.command == "serve"
    assert (args.host, args.log_format) == ("127.0.0.1", "json")
    assert args.workers is not None and args.workers > 1
    # A configuration error (exit 2) is not fixed by restarting: no restart loop.
    assert settings["RestartPreventExitStatus"] == "2"


# -- nginx -------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _program(name: str, install: str) -> str:
    found = shutil.which(name) or next(
        (str(p) for p in (Path("/usr/sbin") / name, Path("/usr/bin") / name) if p.exists()), None
    )
    if found is None:
        pytest.fail(f"{name} is not installed; this test needs it ({install})")
    return found


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """A self-signed certificate for ``PUBLIC_HOST``, valid for a day."""
    openssl = _program("openssl", "apt-get install -y openssl")
    directory = tmp_path_factory.mktemp("tls")
    made = Certificate(directory / "cert.pem", directory / "key.pem")
    result = subprocess.run(
        [
            openssl,
            *("req", "-x509", "-newkey", "rsa:2048", "-nodes"),
            *("-subj", f"/CN={PUBLIC_HOST}", "-days", "1"),
            *("-keyout", str(made.key), "-out", str(made.cert)),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"openssl could not make a certificate:\n{result.stderr}")
    return made


def server_block_under_test(tls_port: int, upstream_port: int, tls: Certificate) -> str:
    """``docs/deploy/nginx.conf`` with the values a test must change replaced; each is
    matched exactly and must be there, so the file of the docs is the config tested."""
    text = NGINX_CONF.read_text()
    replacements = [
        ("    listen 443 ssl;\n", f"    listen 127.0.0.1:{tls_port} ssl;\n"),
        ("    server_name ivr.example.com;\n", f"    server_name {PUBLIC_HOST};\n"),
        ("/etc/letsencrypt/live/ivr.example.com/fullchain.pem;", f"{tls.cert};"),
        ("/etc/letsencrypt/live/ivr.example.com/privkey.pem;", f"{tls.key};"),
        ("proxy_pass http://127.0.0.1:8000;", f"proxy_pass http://127.0.0.1:{upstream_port};"),
    ]
    for old, new in replacements:
        if text.count(old) != 1:
            pytest.fail(f"docs/deploy/nginx.conf must hold {old!r} exactly once for this test")
        text = text.replace(old, new)
    return text


def wrapper_config(directory: Path) -> str:
    """A minimal main ``nginx.conf`` around the server block: every path in ``directory``."""
    # As root, nginx would run its workers as `nobody`, who cannot use the private tmp dir.
    user = ""
    if os.geteuid() == 0:
        user = f"user {pwd.getpwuid(os.geteuid()).pw_name} {grp.getgrgid(os.getegid()).gr_name};"
    return f"""\
daemon off;
master_process on;
worker_processes 1;
{user}
pid {directory}/nginx.pid;
error_log {directory}/error.log notice;
events {{
    worker_connections 128;
}}
http {{
    access_log {directory}/access.log;
    client_body_temp_path {directory}/temp/client_body;
    proxy_temp_path {directory}/temp/proxy;
    fastcgi_temp_path {directory}/temp/fastcgi;
    uwsgi_temp_path {directory}/temp/uwsgi;
    scgi_temp_path {directory}/temp/scgi;
    include {directory}/server.conf;
}}
"""


@dataclass
class Nginx:
    """An nginx process in a temporary prefix, proxying to one ``callflow serve``."""

    process: subprocess.Popen[bytes]
    directory: Path
    tls_port: int
    upstream: Server

    def error_log(self) -> str:
        path = self.directory / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def client(self, local_address: str | None = None) -> httpx2.Client:
        """An HTTPS client of this nginx naming ``PUBLIC_HOST`` (no SNI: an IP is dialled)."""
        # trust_env=False: a proxy configured in the environment must not see this traffic.
        transport = httpx2.HTTPTransport(verify=False, local_address=local_address)
        return httpx2.Client(
            base_url=f"https://127.0.0.1:{self.tls_port}",
            transport=transport,
            headers={"Host": PUBLIC_HOST},
            timeout=10.0,
            trust_env=False,
        )

    def stop(self) -> None:
        """Graceful shutdown (SIGQUIT), killed if it does not end in time."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process.wait(timeout=10)


def _start_nginx(directory: Path, upstream: Server, tls: Certificate) -> Nginx:
    nginx = _program("nginx", "apt-get install -y nginx")
    for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (directory / "temp" / name).mkdir(parents=True)
    tls_port = _free_port()
    (directory / "server.conf").write_text(server_block_under_test(tls_port, upstream.port, tls))
    config = directory / "nginx.conf"
    config.write_text(wrapper_config(directory))
    argv = [nginx, "-p", f"{directory}/", "-e", str(directory / "error.log"), "-c", str(config)]
    checked = subprocess.run([*argv, "-t"], capture_output=True, text=True, timeout=30, check=False)
    if checked.returncode != 0:
        pytest.fail(f"nginx -t refused the config:\n{checked.stderr}")
    with (directory / "nginx.out").open("wb") as sink:
        process = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT
        )
    started = Nginx(process, directory, tls_port, upstream)
    deadline = time.monotonic() + NGINX_DEADLINE_S
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", tls_port), timeout=0.5):
                return started
        except OSError:
            pass
        try:
            code = process.wait(timeout=0.1)  # paces the polling, notices an exit at once
        except subprocess.TimeoutExpired:
            continue
        pytest.fail(f"nginx exited with {code}:\n{started.error_log()}")
    started.stop()
    pytest.fail(f"nginx did not listen on {tls_port} in time:\n{started.error_log()}")


NginxFactory = Callable[["Server"], Nginx]


@pytest.fixture(scope="module")
def start_nginx(
    tmp_path_factory: pytest.TempPathFactory, certificate: Certificate
) -> Iterator[NginxFactory]:
    """Start nginx in front of a server; stopped after the module's last test, when its
    error log must hold nothing worse than a warning."""
    started: list[Nginx] = []

    def start(upstream: Server) -> Nginx:
        front = _start_nginx(tmp_path_factory.mktemp("nginx"), upstream, certificate)
        started.append(front)
        return front

    yield start
    for front in started:
        front.stop()
    for front in started:
        log = front.error_log()
        assert not re.search(r"\[(emerg|alert|crit)\]", log), log


def _production_env(allowed_ips: str) -> dict[str, str]:
    return {
        "CALLFLOW_MODE": "production",
        "CALLFLOW_SECRET": SECRET,
        "CALLFLOW_TRUSTED_PROXIES": "127.0.0.1",
        "CALLFLOW_ALLOWED_HOSTS": PUBLIC_HOST,
        "CALLFLOW_ALLOWED_IPS": allowed_ips,
    }


def _assert_no_traceback(server: Server) -> None:
    output = server.output()
    assert "Traceback" not in output, output


@pytest.fixture(scope="module")
def admitting(start_module_server: ServerFactory, start_nginx: NginxFactory) -> Iterator[Nginx]:
    """nginx in front of a production server that admits only 127.0.0.1."""
    # The health check goes to the server directly and must name an allowed host.
    server = start_module_server(
        app=APP, env=_production_env("127.0.0.1"), headers={"Host": PUBLIC_HOST}
    )
    yield start_nginx(server)
    _assert_no_traceback(server)


@pytest.fixture(scope="module")
def refusing(start_module_server: ServerFactory, start_nginx: NginxFactory) -> Iterator[Nginx]:
    """nginx in front of a production server that admits only Opentact's address."""
    server = start_module_server(
        app=APP, env=_production_env(OPENTACT), headers={"Host": PUBLIC_HOST}
    )
    yield start_nginx(server)
    _assert_no_traceback(server)


@pytest.fixture
def http(admitting: Nginx) -> Iterator[httpx2.Client]:
    with admitting.client() as client:
        yield client


# -- helpers -----------------------------------------------------------------------------------


def access_line(server: Server, offset: int, path: str, status: int, call: str) -> str:
    """The access line of ``call`` logged after ``offset``; waits for it (lines are flushed
    a moment after the reply), fails at the deadline."""
    pattern = re.compile(
        rf"method=\w+ path={re.escape(path)} status={status} call={re.escape(call)} "
        r"flow=\S+ client=(\S+) duration_ms="
    )
    deadline = time.monotonic() + LOG_DEADLINE_S
    while True:
        found = pattern.search(server.output()[offset:])
        if found is not None:
            return found.group(0)
        if time.monotonic() > deadline:
            pytest.fail(f"no access line {pattern.pattern!r}:\n{server.output()[offset:]}")
        time.sleep(0.05)


def logged_client(front: Nginx, offset: int, path: str, status: int, call: str) -> str:
    line = access_line(front.upstream, offset, path, status, call)
    found = re.search(r" client=(\S+) ", line)
    assert found is not None, line
    return found.group(1)


def offset_of(front: Nginx) -> int:
    return len(front.upstream.output())


def urls_of(body: bytes) -> list[str]:
    root = etree.fromstring(body)
    return [str(el.get("url")) for el in root.iter() if el.get("url") is not None]


def gather_url(body: bytes) -> str:
    gather = etree.fromstring(body).find("Gather")
    assert gather is not None, body
    return str(gather.get("url"))


def is_callflow_xml(response: httpx2.Response) -> bool:
    return response.headers.get("content-type", "").startswith("application/xml")


# -- (a), (c): the IP allow-list and the access log see the real client ------------------------


def test_the_allow_list_admits_the_real_client(admitting: Nginx, http: httpx2.Client) -> None:
    offset = offset_of(admitting)
    reply = http.get("/", params={"call": "c-admitted"})
    assert reply.status_code == 200, reply.text
    assert is_callflow_xml(reply)
    assert logged_client(admitting, offset, "/", 200, "c-admitted") == "127.0.0.1"


def test_the_allow_list_refuses_the_real_client(refusing: Nginx) -> None:
    offset = offset_of(refusing)
    with refusing.client() as client:
        reply = client.get("/", params={"call": "c-refused"})
    assert reply.status_code == 403, reply.text
    # Refused before its parameters are read, the line names no call.
    assert logged_client(refusing, offset, "/", 403, "-") == "127.0.0.1"


def test_a_client_on_another_address_is_seen_as_itself(admitting: Nginx) -> None:
    """nginx reaches callflow from 127.0.0.1 whoever calls: a client at 127.0.0.2 shows that
    callflow reads the client from nginx's header, not from the connection."""
    offset = offset_of(admitting)
    with admitting.client(local_address=OTHER_CLIENT) as client:
        reply = client.get("/", params={"call": "c-other"})
    assert reply.status_code == 403, reply.text
    assert logged_client(admitting, offset, "/", 403, "-") == OTHER_CLIENT


FORGED_CLIENTS = [
    pytest.param({"X-Forwarded-For": OPENTACT}, id="x-forwarded-for"),
    pytest.param({"X-Forwarded-For": f"{OPENTACT}, {OPENTACT}"}, id="x-forwarded-for-chain"),
    pytest.param({"Forwarded": f"for={OPENTACT}"}, id="forwarded"),
    pytest.param({"Forwarded": f"for={OPENTACT};proto=https;host={PUBLIC_HOST}"}, id="full"),
]


@pytest.mark.parametrize("forged", FORGED_CLIENTS)
def test_a_forged_client_address_does_not_pass_the_allow_list(
    refusing: Nginx, forged: dict[str, str]
) -> None:
    offset = offset_of(refusing)
    with refusing.client() as client:
        reply = client.get("/", params={"call": "c-forged"}, headers=forged)
    assert reply.status_code == 403, reply.text
    assert logged_client(refusing, offset, "/", 403, "-") == "127.0.0.1"


@pytest.mark.parametrize("forged", FORGED_CLIENTS)
def test_a_forged_client_address_does_not_change_who_is_admitted(
    admitting: Nginx, http: httpx2.Client, forged: dict[str, str]
) -> None:
    offset = offset_of(admitting)
    reply = http.get("/", params={"call": "c-forged-ok"}, headers=forged)
    assert reply.status_code == 200, reply.text
    assert logged_client(admitting, offset, "/", 200, "c-forged-ok") == "127.0.0.1"


@pytest.mark.parametrize(
    "forged",
    [
        pytest.param({"X-Forwarded-For": "127.0.0.1"}, id="x-forwarded-for"),
        pytest.param({"Forwarded": "for=127.0.0.1"}, id="forwarded"),
    ],
)
def test_a_client_cannot_claim_an_allowed_address(admitting: Nginx, forged: dict[str, str]) -> None:
    offset = offset_of(admitting)
    with admitting.client(local_address=OTHER_CLIENT) as client:
        reply = client.get("/", params={"call": "c-claim"}, headers=forged)
    assert reply.status_code == 403, reply.text
    assert logged_client(admitting, offset, "/", 403, "-") == OTHER_CLIENT


# -- (b): links carry the public scheme and host -----------------------------------------------


def assert_public_links(reply: httpx2.Response) -> None:
    assert reply.status_code == 200, reply.text
    urls = urls_of(reply.content)
    assert len(urls) == 2, urls
    for url in urls:
        parts = urlsplit(url)
        # $host carries no port: right for a public deployment on 443.
        assert (parts.scheme, parts.netloc, parts.path) == ("https", PUBLIC_HOST, "/next"), url


@pytest.mark.parametrize(
    "host",
    [
        pytest.param(PUBLIC_HOST, id="host"),
        pytest.param("IVR.Example.TEST", id="upper-case"),
        pytest.param("PORT", id="with-port"),
    ],
)
def test_links_carry_the_public_scheme_and_host(
    admitting: Nginx, http: httpx2.Client, host: str
) -> None:
    named = f"{PUBLIC_HOST}:{admitting.tls_port}" if host == "PORT" else host
    assert_public_links(http.get("/", params={"call": "c-links"}, headers={"Host": named}))


@pytest.mark.parametrize(
    "forged",
    [
        pytest.param({"X-Forwarded-Proto": "http"}, id="x-forwarded-proto"),
        pytest.param({"X-Forwarded-Host": "evil.example"}, id="x-forwarded-host"),
        pytest.param({"X-Forwarded-Proto": "http", "X-Forwarded-Host": "evil.example"}, id="both"),
        pytest.param({"Forwarded": "proto=http;host=evil.example"}, id="forwarded"),
        pytest.param({"X-Forwarded-Host": PUBLIC_HOST, "Forwarded": "proto=http"}, id="mixed"),
    ],
)
def test_forged_proto_and_host_change_nothing(http: httpx2.Client, forged: dict[str, str]) -> None:
    assert_public_links(http.get("/", params={"call": "c-forged-links"}, headers=forged))


def test_another_host_is_refused(http: httpx2.Client) -> None:
    reply = http.get("/", params={"call": "c-evil"}, headers={"Host": "evil.example"})
    assert reply.status_code == 400, reply.text
    assert "not allowed" in reply.text


# -- (d): round trips ---------------------------------------------------------------------------


OPENTACT_REPLY = f"&dtmf=1&from=%2B{CALLER[1:]}&tn={CALLED[1:]}&call=c-1&state=live"
"""What Opentact appends to a Gather url when it sends the digits."""


def _menu(http: httpx2.Client) -> str:
    """The Gather url of the menu, as a target on the same origin."""
    menu = http.get("/", params={"from": CALLER, "to": CALLED})
    assert menu.status_code == 200, menu.text
    url = gather_url(menu.content)
    prefix = f"https://{PUBLIC_HOST}/next?"
    assert url.startswith(prefix), url
    return url.removeprefix(f"https://{PUBLIC_HOST}")


def test_a_round_trip_through_nginx_reads_the_state_back(http: httpx2.Client) -> None:
    reply = http.get(_menu(http) + OPENTACT_REPLY)
    assert reply.status_code == 200, reply.text
    assert is_callflow_xml(reply)
    assert "state {'menu': 'main'} digits 1 call live" in reply.text


def test_a_posted_round_trip_through_nginx_reads_the_state_back(http: httpx2.Client) -> None:
    target = _menu(http)
    form = dict(pair.split("=", 1) for pair in OPENTACT_REPLY.lstrip("&").split("&"))
    form["from"] = CALLER
    reply = http.post(target, data=form)
    assert reply.status_code == 200, reply.text
    assert "state {'menu': 'main'} digits 1 call live" in reply.text


def test_a_tampered_round_trip_is_refused(http: httpx2.Client) -> None:
    target = _menu(http)
    token = re.search(r"cf_state=([^&]+)", target)
    assert token is not None, target
    tampered = target.replace(token.group(1), token.group(1)[:-2] + "xx")
    reply = http.get(tampered + OPENTACT_REPLY)
    assert reply.status_code == 403, reply.text


# -- the rest of the config --------------------------------------------------------------------


def test_health_answers_through_nginx(http: httpx2.Client) -> None:
    reply = http.get("/healthz")
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"status": "ok", "session_store": "ok"}
    assert reply.headers["strict-transport-security"] == "max-age=31536000"


def test_metrics_through_nginx_are_behind_the_allow_list(
    http: httpx2.Client, refusing: Nginx
) -> None:
    reply = http.get("/metrics")
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("text/plain")
    assert "# TYPE callflow_requests_total counter" in reply.text
    with refusing.client() as client:
        refused = client.get("/metrics", headers={"X-Forwarded-For": OPENTACT})
    assert refused.status_code == 403, refused.text
    assert "callflow_" not in refused.text


def test_a_body_over_64k_is_refused_by_nginx(http: httpx2.Client) -> None:
    reply = http.post("/", params={"call": "c-big"}, content=b"x" * (65536 + 1))
    assert reply.status_code == 413
    # nginx's own page: callflow answers its 413 in text/plain.
    assert reply.headers["content-type"].startswith("text/html"), reply.headers


def test_a_body_within_64k_reaches_callflow(http: httpx2.Client) -> None:
    body = b"from=%2B15550100999&pad=" + b"x" * 60000
    reply = http.post(
        "/",
        params={"call": "c-body"},
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert reply.status_code == 200, reply.text
    assert is_callflow_xml(reply)


def test_a_header_over_16k_is_refused_by_nginx(http: httpx2.Client) -> None:
    reply = http.get("/", params={"call": "c-head"}, headers={"X-Pad": "x" * 17000})
    assert reply.status_code in (400, 431), reply.text
    assert reply.headers["content-type"].startswith("text/html"), reply.headers


def test_a_head_over_16k_in_all_is_refused_by_callflow(http: httpx2.Client) -> None:
    pads = {"X-Pad-1": "x" * 9000, "X-Pad-2": "x" * 9000}
    reply = http.get("/", params={"call": "c-heads"}, headers=pads)
    assert reply.status_code == 431, reply.text
    assert reply.headers["content-type"].startswith("text/plain"), reply.headers
