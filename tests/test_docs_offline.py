"""`/docs` works without the internet: the page names only the app's own assets, and each of them loads."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit


class Assets(HTMLParser):
    """Every src / href of the page."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]


def test_docs_page_and_every_asset_it_names_come_from_the_app(start_service):
    service = start_service()
    with service.client() as client:
        page = client.get("/docs")
        assert page.status_code == 200 and "swagger-ui" in page.text
        parser = Assets()
        parser.feed(page.text)
        named = parser.urls + re.findall(r"""url:\s*['"]([^'"]+)['"]""", page.text)  # the OpenAPI document
        assert len(named) >= 4, named
        for url in named:
            absolute = urljoin(service.base_url + "/docs", url)
            assert urlsplit(absolute).netloc == urlsplit(service.base_url).netloc, f"{url} is not the app's"
            response = client.get(absolute)
            assert response.status_code == 200, url
            assert response.content, url
        assert "cdn" not in page.text.lower() and "https://" not in page.text
        bundle = client.get("/docs/assets/swagger-ui-bundle.js")
        assert bundle.headers["content-type"].startswith(("application/javascript", "text/javascript"))
        assert len(bundle.content) > 500_000  # the real Swagger UI, not a stub
        assert client.get("/openapi.json").json()["paths"]["/api/v1/operations/{operation_id}/events"]
        assert client.get("/redoc").status_code == 404  # ReDoc would need a CDN
