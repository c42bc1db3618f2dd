"""``callflow serve --console``: a real server with the console at ``/_console``, the App
unchanged next to it; refused in production mode and with several workers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from console_page import API, Page

from callflow.cli.command import EXIT_USAGE

if TYPE_CHECKING:
    from conftest import Server, ServerFactory, ServeRunner

PRODUCTION = {
    "CALLFLOW_MODE": "production",
    "CALLFLOW_SECRET": "a-production-secret-of-at-least-32-bytes",
    "CALLFLOW_BASE_URL": "https://ivr.example.com",
}


def balance_call(server: Server) -> Page:
    """Call the demo line over real HTTP: 2 for the balance, then an account number."""
    page = Page(server.http)
    page.call(at="2026-12-07T10:00")
    page.until("listening")
    page.act("keys", keys="2")
    page.until("listening")
    page.act("keys", keys="123456")
    page.until("ended")
    return page


def test_serve_console_places_calls_against_the_served_app(start_server: ServerFactory) -> None:
    server = start_server("--console")
    assert server.http.get("/_console").status_code == 200
    page = balance_call(server)
    assert page.heard()[-2:] == [
        "The balance of the account ending in 3 4 5 6 is twelve dollars and fifty cents.",
        "Goodbye.",
    ]
    assert [d["path"] for d in page.of("document")] == ["/", "/account/prompt", "/account"]
    # The App itself answers as it would without the console.
    webhook = server.http.get("/", params={"from": "+15550100999", "to": "15550100200"})
    assert webhook.status_code == 200 and "<Gather" in webhook.text
    assert server.http.get("/healthz").status_code == 200
    server.stop()
    assert "Traceback" not in server.output()


def test_serve_console_with_reload_serves_it_from_the_reloading_process(
    start_server: ServerFactory,
) -> None:
    server = start_server("--console", "--reload")
    page = balance_call(server)
    assert page.of("ended")[0]["reason"] == "hangup (balance)"


def test_serve_without_console_has_none(demo_server: Server) -> None:
    assert demo_server.http.get("/_console").status_code == 404
    assert demo_server.http.post(f"{API}/calls", json={}).status_code == 404


def test_serve_console_is_refused_in_production(run_serve: ServeRunner) -> None:
    result = run_serve("--console", env=PRODUCTION)
    assert result.code == EXIT_USAGE
    assert result.stderr.strip().splitlines()[-1] == (
        "callflow: --console is for development only, and this App is in production mode "
        "(CALLFLOW_MODE=production)"
    )
    assert "Traceback" not in result.stderr


def test_serve_console_is_refused_with_several_workers(run_serve: ServeRunner) -> None:
    result = run_serve("--console", "--workers", "2")
    assert result.code == EXIT_USAGE
    assert "--console and --workers 2 cannot be combined" in result.stderr
