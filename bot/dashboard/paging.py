"""Long lists on the dashboard: a page at a time, with a search box, both kept in the URL.

Each list has a name (`members`, `audit`, ...) and reads `?<name>_page=` and `?<name>_q=`;
the links to other pages keep every other parameter, so paging one list leaves the others
where they were. A community of thousands gets a page of `PAGE_SIZE` rows, not all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from bot.dashboard.html import Html, join, tag
from bot.dashboard.section import View
from bot.numerals import whole_number

PAGE_SIZE = 50
MAX_QUERY = 100
MAX_PAGE = 1_000_000


@dataclass(frozen=True)
class Paging:
    name: str
    label: str
    """The catalog message naming the list's pages for a screen reader ("Pages of members")."""
    number: int
    """The page shown, from 1."""
    query: str
    """What the list is searched for; empty for everything."""
    size: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    def pattern(self) -> str:
        """The query as a case-insensitive LIKE pattern (its own `%` and `_` taken literally,
        with `\\` as the escape character)."""
        escaped = self.query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return f"%{escaped}%"


def paging(view: View, name: str, label: str, size: int = PAGE_SIZE) -> Paging:
    number = whole_number(view.params.get(f"{name}_page"), 1, MAX_PAGE) or 1
    query = " ".join(view.params.get(f"{name}_q", "").split())[:MAX_QUERY]
    return Paging(name, label, number, query, size)


def search_box(view: View, page: Paging, label: str) -> Html:
    """A GET form searching the list; the other lists' places are kept."""
    kept = [
        tag("input", type="hidden", name=k, value=v)
        for k, v in view.params.items()
        if k not in (f"{page.name}_q", f"{page.name}_page")
    ]
    return tag(
        "form",
        *kept,
        tag("label", label, for_=f"{page.name}-q"),
        tag("input", type="search", name=f"{page.name}_q", id=f"{page.name}-q", value=page.query),
        tag("button", view.words._("Search"), type="submit"),
        method="get",
        action=f"/dashboard#{page.name}",
        role="search",
        class_="search",
    )


def pager(view: View, page: Paging, total: int) -> Html:
    """Where the page is in the list, and links to the pages before and after it."""
    _ = view.words._
    if total == 0:
        shown = _("Nothing matches.") if page.query else ""
        return tag("p", shown, class_="pager") if shown else join()
    first, last = page.offset + 1, min(page.offset + page.size, total)
    links: list[object] = []
    if page.number > 1:
        previous = _link(view, page, page.number - 1)
        links.append(tag("a", _("Previous"), href=previous, rel="prev", class_="previous"))
    if last < total:
        after = _link(view, page, page.number + 1)
        links.append(tag("a", _("Next"), href=after, rel="next", class_="next"))
    where = (
        _("{first}–{last} of {total}", first=first, last=last, total=total)
        if first <= total
        else _("Past the end ({total})", total=total)
    )
    return tag(
        "nav",
        tag("span", where, class_="where"),
        *links,
        aria_label=_(page.label),
        class_="pager",
    )


def _link(view: View, page: Paging, number: int) -> str:
    params = {**view.params, f"{page.name}_page": str(number)}
    if page.query:
        params[f"{page.name}_q"] = page.query
    return f"/dashboard?{urlencode(params)}#{page.name}"
