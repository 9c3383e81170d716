"""axe-core in the browser, offline: the vendored ``telejt/static/vendor/axe.min.js``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

AXE = Path(__file__).resolve().parent.parent / "telejt" / "static" / "vendor" / "axe.min.js"
#: the impacts a page must have none of
BLOCKING = ("serious", "critical")


def serious_violations(page: Any) -> list[dict[str, Any]]:
    """Run axe-core on the page as it is now; its serious and critical violations.

    Injected through the DevTools protocol (``evaluate``), which no Content-Security-Policy
    of the page can block; nothing is fetched from the network.
    """
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;true")
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [
        {
            "id": violation["id"],
            "impact": violation["impact"],
            "help": violation["help"],
            "nodes": [node["target"] for node in violation["nodes"]][:5],
        }
        for violation in result["violations"]
        if violation["impact"] in BLOCKING
    ]
