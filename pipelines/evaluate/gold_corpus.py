"""The gold set's own sources: real Chinese text that the sample corpus does not use.

The gold set (gold/, labelled by hand) judges the pipeline on the sample's sources and on
three more, built here from package files anyone can fetch (``make gold`` downloads them):

| source  | what | from | format |
| ------- | ---- | ---- | ------ |
| crawl   | web pages as crawled (2019-2020): navigation, related links, ads, comments, footers | PyPI gne 0.4.3 and newspaper4k 0.9.6 source distributions, Go modules go-readability and go-trafilatura (test pages) | HTML files |
| manuals | Debian's manuals as HTML pages: installation guide, Debian handbook (partly translated), FAQ, maintainers' guide | Debian packages installation-guide-amd64, debian-handbook, debian-faq-zh-cn, maint-guide-zh-cn / -zh-tw | HTML files |
| novels  | Lu Xun, 呐喊 (Call to Arms), as a pirated e-book site served it (section markers, download notices) | PyPI wordcloud 1.9.6 source distribution | text files, one per story |

Every file is copied byte for byte (the pages keep their encodings and declared charsets)
or, for the stories, cut at the book's own chapter headings: a deterministic function of
the package files.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import tarfile
import zipfile
from dataclasses import dataclass

PYPI_FILES = {
    "gne": "gne-0.4.3.tar.gz",
    "newspaper4k": "newspaper4k-0.9.6.tar.gz",
    "wordcloud": "wordcloud-1.9.6.tar.gz",
}
PYPI_SHA256 = {
    "gne-0.4.3.tar.gz": "26ed77fc2b96d5e9dd28b288ebfdeaf6bf7f034a92b8f75067c64eefffd0b4a9",
    "newspaper4k-0.9.6.tar.gz": "a3f2f0e017dddb6f1019ee77aaa8980e13e6ecea0b949abc7167aae4770d2d0e",
    "wordcloud-1.9.6.tar.gz": "df17c468ff903bd0aba4f87c6540745d13a4931220dd4937cb363ad85a4771b9",
}
"""The files are fetched from PyPI's simple index, not with ``pip download``: pip would
build each source distribution's metadata (wordcloud's needs Cython) only to copy it."""
SIMPLE_INDEX = "https://pypi.org/simple"
DEBIAN_PACKAGES = (
    "installation-guide-amd64",
    "debian-handbook",
    "debian-faq-zh-cn",
    "maint-guide-zh-cn",
    "maint-guide-zh-tw",
)
GO_MODULES = {
    "github.com/go-shiori/go-readability": "v0.0.0-20251205110129-5db1dc9836f0",
    "github.com/markusmobius/go-trafilatura": "v1.12.2",
}
GO_SHA256 = {
    "github.com/go-shiori/go-readability": "46e77d27048581b1ac798e88a41afa70154291067be4c6b9feafba4b76f9afc6",
    "github.com/markusmobius/go-trafilatura": "7da0a1455b901cfab79f27801aac9ff1e99774d0cb7ef4ab6d3eaee17cb2d5b2",
}
"""The modules' zips as Go's module proxy serves them (immutable once published; the same
bytes ``go mod download`` puts in its cache), fetched over HTTPS without a Go toolchain."""
GO_PROXY = "https://proxy.golang.org"
_TRAFILATURA_PAGES = (
    # its Chinese test pages (one in GB2312 although it declares UTF-8) and, as pages a
    # Chinese corpus must not keep, a few in other languages
    "archive.org.he.xinhuanet.com.25340717.html",
    "baike.baidu.com.tanya.html",
    "banyuetan.org.1000200033136171577956287380194268_1.html",
    "xinhuanet.com.c_1125597921.html",
)
_TRAFILATURA_FOREIGN = 12
"""Pages in other languages taken from go-trafilatura's comparison set: the first ones in
sorted order whose names are not in ``_TRAFILATURA_PAGES``."""
_MANUAL_FOLDERS = (
    "installation-guide-amd64/zh_CN",
    "debian-handbook/html/zh-CN",
    "debian-handbook/html/zh-TW",
    "debian-faq-zh-cn",
    "maint-guide-zh-cn",
    "maint-guide-zh-tw",
)
SOURCES = ("crawl", "manuals", "novels")


class MissingFiles(Exception):
    """Package files are missing; the message says how to get them."""


@dataclass(frozen=True)
class GoldLayout:
    debian_root: str
    pypi_dir: str
    go_dir: str
    """Where the modules' zips are, in GOMODCACHE's layout (cache/download/MODULE/@v/VERSION.zip):
    ``fetch_go`` writes them there, and a ``go mod download`` cache serves as well."""

    def module_zip(self, module: str) -> str:
        version = GO_MODULES[module]
        return os.path.join(self.go_dir, "cache", "download", module, "@v", f"{version}.zip")

    def missing(self) -> list[str]:
        wanted = [os.path.join(self.pypi_dir, name) for name in PYPI_FILES.values()]
        wanted += [self.module_zip(module) for module in GO_MODULES]
        wanted += [os.path.join(self.debian_root, "usr", "share", "doc", folder) for folder in _MANUAL_FOLDERS]
        return [path for path in wanted if not os.path.exists(path)]


def _write(path: str, data: bytes) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(data)


def build_crawl(layout: GoldLayout, out_dir: str) -> int:
    count = 0
    for package, prefix in (("gne", "gne-0.4.3/"), ("newspaper4k", "newspaper4k-0.9.6/tests/data/html/")):
        with tarfile.open(os.path.join(layout.pypi_dir, PYPI_FILES[package])) as archive:
            for member in sorted(archive.getmembers(), key=lambda m: m.name):
                name = member.name
                if not (member.isfile() and name.startswith(prefix) and name.endswith(".html")):
                    continue
                if package == "newspaper4k" and "chinese" not in name:
                    continue
                handle = archive.extractfile(member)
                assert handle is not None
                _write(os.path.join(out_dir, "crawl", package, name.removeprefix(prefix)), handle.read())
                count += 1
    for module in GO_MODULES:
        with zipfile.ZipFile(layout.module_zip(module)) as archive:
            names = sorted(archive.namelist())
            if module.endswith("go-readability"):
                chosen = [n for n in names if re.search(r"/test-pages/(qq|gmw|youth|pixnet)/source\.html$", n)]
            else:
                comparison = [n for n in names if "/test-files/comparison/" in n and n.endswith(".html")]
                chosen = [n for n in comparison if os.path.basename(n) in _TRAFILATURA_PAGES]
                chosen += [n for n in comparison if os.path.basename(n) not in _TRAFILATURA_PAGES][:_TRAFILATURA_FOREIGN]
            for name in chosen:
                relative = name.split("/test-pages/")[-1].replace("/source.html", ".html") if "test-pages" in name else name
                target = os.path.join(out_dir, "crawl", module.rsplit("/", 1)[1], os.path.basename(relative))
                _write(target, archive.read(name))
                count += 1
    return count


def build_manuals(layout: GoldLayout, out_dir: str) -> int:
    count = 0
    for folder in _MANUAL_FOLDERS:
        root = os.path.join(layout.debian_root, "usr", "share", "doc", folder)
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(filenames):
                if not name.endswith(".html"):
                    continue
                path = os.path.join(dirpath, name)
                if os.path.islink(path):
                    continue
                relative = os.path.relpath(path, os.path.join(layout.debian_root, "usr", "share", "doc"))
                with open(path, "rb") as handle:
                    _write(os.path.join(out_dir, "manuals", relative), handle.read())
                count += 1
    return count


_STORY_RULE = re.compile(r"^ -{10,}\s*$")


def build_novels(layout: GoldLayout, out_dir: str) -> int:
    """呐喊, one file per piece (the preface and the stories), cut where a title line is
    followed by the book's line of dashes; each file keeps the site's junk around it."""
    with tarfile.open(os.path.join(layout.pypi_dir, PYPI_FILES["wordcloud"])) as archive:
        handle = archive.extractfile("wordcloud-1.9.6/examples/wc_cn/CalltoArms.txt")
        assert handle is not None
        lines = handle.read().decode("utf-8").splitlines(keepends=True)
    starts = [index - 1 for index, line in enumerate(lines) if index and _STORY_RULE.match(line)]
    bounds = [0, *starts[1:], len(lines)]
    for number, (start, end) in enumerate(itertools.pairwise(bounds)):
        _write(os.path.join(out_dir, "novels", "nahan", f"{number:02d}.txt"), "".join(lines[start:end]).encode("utf-8"))
    return len(bounds) - 1


def build_gold_corpus(layout: GoldLayout, out_dir: str) -> dict[str, int]:
    missing = layout.missing()
    if missing:
        raise MissingFiles(f"missing package files ({', '.join(missing[:3])} ...): run `make gold`, which downloads them")
    counts = {
        "crawl": build_crawl(layout, out_dir),
        "manuals": build_manuals(layout, out_dir),
        "novels": build_novels(layout, out_dir),
    }
    manifest = {"sources": counts, "pypi": PYPI_SHA256, "debian": list(DEBIAN_PACKAGES), "go": GO_MODULES}
    _write(os.path.join(out_dir, "MANIFEST.json"), (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode())
    return counts


def _download(url: str, expected_sha256: str, name: str) -> bytes:
    import hashlib
    import urllib.request

    with urllib.request.urlopen(url) as response:  # noqa: S310 - a fixed https URL
        data = response.read()
    digest = hashlib.sha256(data).hexdigest()
    if digest != expected_sha256:
        raise MissingFiles(f"{name}: SHA-256 {digest}, expected {expected_sha256}")
    return data


def fetch_go(go_dir: str, proxy: str = GO_PROXY) -> list[str]:
    """Download the Go modules' zips from the module proxy into ``go_dir``, each checked by its SHA-256."""
    layout = GoldLayout("", "", go_dir)
    fetched = []
    for module, version in GO_MODULES.items():
        target = layout.module_zip(module)
        if not os.path.exists(target):
            _write(target, _download(f"{proxy}/{module}/@v/{version}.zip", GO_SHA256[module], f"{module}@{version}"))
        fetched.append(target)
    return fetched


def fetch_pypi(out_dir: str, index: str = SIMPLE_INDEX) -> list[str]:
    """Download the source distributions into ``out_dir``, each checked by its SHA-256."""
    import urllib.request

    os.makedirs(out_dir, exist_ok=True)
    fetched = []
    for package, filename in PYPI_FILES.items():
        target = os.path.join(out_dir, filename)
        if not os.path.exists(target):
            with urllib.request.urlopen(f"{index}/{package}/") as response:  # noqa: S310 - a fixed https URL
                listing = response.read().decode("utf-8", "replace")
            links = re.findall(rf'href="([^"#]+/{re.escape(filename)})(?:#[^"]*)?"', listing)
            if not links:
                raise MissingFiles(f"{filename} is not on {index}/{package}/")
            _write(target, _download(links[0], PYPI_SHA256[filename], filename))
        fetched.append(target)
    return fetched


if __name__ == "__main__":
    import sys

    # python -m pipelines.evaluate.gold_corpus PYPI_DIR GO_DIR (make gold)
    print("\n".join([*fetch_pypi(sys.argv[1]), *fetch_go(sys.argv[2])]))
