"""Web pages to text: one line per block of the page, and what the page's structure says
about each line.

A web page as crawled is mostly not its article: menus, breadcrumbs, lists of related
links, share and login widgets, comments, advertisements and footers. Their text alone
often looks like content (a related headline is a sentence), but the page's structure
gives them away, as boilerplate detectors (jusText, boilerpipe, readability) use: the
share of a block's text inside links, and the containers it sits in (``<nav>``,
``<footer>``, an element whose class or id says ``menu`` or ``related``).

``extract`` keeps the whole text, as read, so the clean stage can decide line by line and
count what it removes. Beside it come two strings of one character per line:

- ``zones``: where the line sits: ``m`` main or unknown, ``n`` navigation (nav, header,
  menus, breadcrumbs, tabs), ``f`` footer (copyright, contact, site information), ``s``
  aside (sidebars, related and recommended lists, rankings), ``c`` comments, ``a``
  advertisements, ``x`` widgets (share, login, subscribe, QR codes); an upper-case letter
  for a heading (``h1``-``h6``) in that zone.
- ``links``: the share of the line's characters inside links (``<a href>``; an anchor
  without a target is not a link), in tenths: ``0`` none to ``9`` 90% or more.

Walked on resiliparse's DOM (``first_child`` / ``next``: a few microseconds per node).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from resiliparse.parse.html import HTMLTree, NodeType


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_BLOCK = _words(
    "address article aside blockquote body caption center dd details dialog dir div dl dt fieldset figcaption figure "
    "footer form frameset h1 h2 h3 h4 h5 h6 header hgroup hr html legend li main menu nav noframes ol p pre section "
    "summary table tbody tfoot thead tr ul"
)
_SKIP = _words(
    "script style noscript template svg head iframe object embed canvas select option button input textarea map area "
    "audio video source track datalist"
)
_HEADINGS = _words("h1 h2 h3 h4 h5 h6")
_ZONE_OF_TAG = {"nav": "n", "header": "n", "menu": "n", "footer": "f", "aside": "s"}
_MAIN_TAGS = frozenset(("main", "article"))
# Class and id words that name a kind of container (matched as whole words of the name
# split at - _ space and case changes). Pinyin words are common on Chinese sites.
_ZONE_WORDS = {
    "n": "nav navbar navigation menu menubar breadcrumb breadcrumbs crumb crumbs topbar toolbar header masthead channel "
    "channels daohang dh mianbaoxie",
    "f": "footer foot bottom copyright copyrights beian icp contact about",
    "s": "sidebar side aside related relate recommend recommended recommends rec hot hots rank ranking ranks list-hot "
    "more tuijian xiangguan remen paihang widget",
    "c": "comment comments reply replies pinglun gentie discuss",
    "a": "ad ads advert advertisement adv guanggao gg sponsor sponsored promo promotion banner",
    "x": "share sharing login logon signin register reg subscribe follow qrcode erweima weixin wechat weibo social "
    "toolbox fixed float backtop gotop",
}
_WORD_ZONE = {word: zone for zone, words in _ZONE_WORDS.items() for word in words.split()}
_MAIN_WORDS = _words(
    "content contents article articles post entry main text body detail details zhengwen neirong wenzhang story artical"
)
_NAME_WORDS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
_SPACE = re.compile(r"[ \t\r\n\f\v\u00a0\u3000\u200b]+")
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)


HTML_ZONES = "html_zones"
HTML_LINKS = "html_links"
"""Meta keys of a page's ``zones`` and ``links``, for the clean stage, which removes them
once it has used them."""


@dataclass(frozen=True)
class Page:
    text: str
    """One line per block, in page order; no blank lines."""
    title: str
    zones: str
    """One character per line of ``text`` (see the module docstring)."""
    links: str
    """One digit per line: tenths of its characters inside links."""


_STEMS = (
    ("nav", "n"),
    ("menu", "n"),
    ("crumb", "n"),
    ("footer", "f"),
    ("copyright", "f"),
    ("sidebar", "s"),
    ("comment", "c"),
    ("share", "x"),
)
"""Zone words that also tell inside a compound name written without separators
(navheader, topnav, pagefooter, commentlist)."""


def _zone_of_names(element: object) -> str | None:
    """The zone an element's class and id name, or 'm' for main content, or None."""
    names = " ".join(filter(None, (element.getattr("class"), element.getattr("id"))))  # type: ignore[attr-defined]
    if not names:
        return None
    words = [word.lower() for word in _NAME_WORDS.findall(names)]
    for word in words:  # a container word wins over a content word: "article-footer" and
        zone = _WORD_ZONE.get(word)  # "post_recommend_time" are not the article
        if zone is not None:
            return zone
    for word in words:
        for stem, zone in _STEMS:
            if len(word) > len(stem) and (word.startswith(stem) or word.endswith(stem)):
                return zone
    return "m" if any(word in _MAIN_WORDS for word in words) else None


def _hidden(element: object) -> bool:
    if element.hasattr("hidden") or element.getattr("aria-hidden") == "true":  # type: ignore[attr-defined]
        return True
    style = element.getattr("style")  # type: ignore[attr-defined]
    return bool(style) and _HIDDEN_STYLE.search(style) is not None


class _Lines:
    """Text runs gathered into lines, each with its zone and link characters."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.zones: list[str] = []
        self.links: list[str] = []
        self._parts: list[str] = []
        self._link_chars = 0
        self._chars = 0
        self._zone = "m"
        self._heading = False

    @property
    def open(self) -> bool:
        """Whether a line is being gathered."""
        return bool(self._parts)

    def add(self, text: str, zone: str, heading: bool, in_link: bool) -> None:
        if not self._parts:
            self._zone, self._heading = zone, heading
        elif heading:
            self._heading = True
        self._parts.append(text)
        visible = len(text.strip())
        self._chars += visible
        if in_link:
            self._link_chars += visible

    def add_preformatted(self, text: str, zone: str, in_link: bool) -> None:
        first, *rest = text.split("\n")
        self.add(first, zone, False, in_link)
        for line in rest:
            self.end()
            self.add(line, zone, False, in_link)

    def end(self) -> None:
        if not self._parts:
            return
        line = _SPACE.sub(" ", "".join(self._parts)).strip()
        if line:
            self.lines.append(line)
            self.zones.append(self._zone.upper() if self._heading else self._zone)
            share = self._link_chars / self._chars if self._chars else 0.0
            self.links.append(str(min(9, int(share * 10))))
        self._parts, self._chars, self._link_chars = [], 0, 0


def extract(html: str) -> Page:
    """The page's text, one line per block, with each line's zone and link share."""
    tree = HTMLTree.parse(html)
    lines = _Lines()
    root = tree.body or tree.document
    if root is not None:
        _walk(root, lines)
    lines.end()
    return Page("\n".join(lines.lines), (tree.title or "").strip(), "".join(lines.zones), "".join(lines.links))


_END_BLOCK = None
"""On the walk's stack: the end of a block element's children."""
_CELLS = frozenset(("td", "th"))


def _walk(root: object, lines: _Lines) -> None:
    """Depth first in page order, with a stack of its own (pages nest elements thousands
    deep); each node comes with the zone, heading, link and preformatted state it
    inherits."""
    stack: list[tuple[object, str, bool, bool, bool] | None] = [(root, "m", False, False, False)]
    while stack:
        item = stack.pop()
        if item is _END_BLOCK:
            lines.end()
            continue
        node, zone, heading, in_link, pre = item
        kind = node.type  # type: ignore[attr-defined]
        if kind == NodeType.TEXT:
            text = node.text  # type: ignore[attr-defined]
            if text and pre:
                lines.add_preformatted(text, zone, in_link)
            elif text and (not text.isspace() or lines.open):
                lines.add(text, zone, heading, in_link)
            continue
        if kind not in (NodeType.ELEMENT, NodeType.DOCUMENT):
            continue
        tag = node.tag if kind == NodeType.ELEMENT else "html"  # type: ignore[attr-defined]
        if kind == NodeType.ELEMENT and (tag in _SKIP or _hidden(node)):
            continue
        if tag == "br":
            lines.end()
            continue
        if tag in _BLOCK:
            lines.end()
            stack.append(_END_BLOCK)
        elif tag in _CELLS and lines.open:
            lines.add(" ", zone, heading, in_link)  # cells of a row on one line, apart
        if kind == NodeType.ELEMENT:
            # The body's and html's classes are the page's state (sinacMNT_weibo_login,
            # discuss_tab), not a container.
            inner = _ZONE_OF_TAG.get(tag) or (_zone_of_names(node) if tag not in ("body", "html") else None)
            if tag in _MAIN_TAGS:
                inner = inner or "m"
            # A main container inside navigation does not lift it out of it.
            if inner is not None and not (inner == "m" and zone != "m"):
                zone = inner
            heading = heading or tag in _HEADINGS
            in_link = in_link or (tag == "a" and node.hasattr("href"))  # type: ignore[attr-defined]
            pre = pre or tag == "pre"
        children = []
        child = node.first_child  # type: ignore[attr-defined]
        while child is not None:
            children.append(child)
            child = child.next
        stack.extend((child, zone, heading, in_link, pre) for child in reversed(children))
