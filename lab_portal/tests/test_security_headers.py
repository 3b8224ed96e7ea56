"""Every answer carries the Content-Security-Policy and the Permissions-Policy, pages and
feeds, logged in or not."""

import pytest


@pytest.mark.parametrize("url", ["/accounts/login/", "/", "/papers/", "/seminars/", "/no-such-page/"])
def test_pages_carry_a_strict_content_security_policy(login, researcher, url):
    response = login(researcher).get(url)

    policy = dict(
        (directive.split()[0], directive.split()[1:])
        for directive in response["Content-Security-Policy"].split("; ")
    )
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["font-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert "unsafe-inline" not in response["Content-Security-Policy"]


def test_answers_carry_a_restrictive_permissions_policy(client, db):
    response = client.get("/accounts/login/")

    features = dict(item.split("=") for item in response["Permissions-Policy"].split(", "))
    assert features["camera"] == features["microphone"] == features["geolocation"] == "()"
    assert "clipboard-write" not in features  # "Copy link" buttons need it


def test_no_template_holds_an_inline_script_style_or_handler():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "templates"
    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=|\son[a-z]+=|hx-on|javascript:", re.I)
    found = [
        f"{path.relative_to(root)}: {match.group(0)}"
        for path in root.rglob("*.html")
        for match in inline.finditer(path.read_text())
    ]

    assert found == []
