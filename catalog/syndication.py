"""Atom feed of new and changed datasets, and the sitemap (public, active datasets only)."""
from urllib.parse import quote
from xml.etree import ElementTree as ET

from .params import xml_safe
from .store import groups as group_store
from .store import packages as package_store

ATOM = "http://www.w3.org/2005/Atom"
SITEMAP = "http://www.sitemaps.org/schemas/sitemap/0.9"
SITEMAP_MAX = 50000   # URLs per sitemap file (the protocol's limit)


def _ts(value):
    return (value or "")[:19] + "Z"


def atom_feed(result, site_url, title, feed_url):
    """An Atom 1.0 document of package_search results (newest change first)."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed", {"xml:lang": "th"})
    ET.SubElement(feed, f"{{{ATOM}}}title").text = xml_safe(title)
    ET.SubElement(feed, f"{{{ATOM}}}id").text = feed_url
    ET.SubElement(feed, f"{{{ATOM}}}link", {"rel": "self", "href": feed_url})
    ET.SubElement(feed, f"{{{ATOM}}}link", {"rel": "alternate", "href": f"{site_url}/dataset"})
    pkgs = result["results"]
    ET.SubElement(feed, f"{{{ATOM}}}updated").text = _ts(pkgs[0]["metadata_modified"] if pkgs else "1970-01-01T00:00:00")
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    ET.SubElement(author, f"{{{ATOM}}}name").text = xml_safe(title)
    for pkg in pkgs:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        url = f"{site_url}/dataset/{pkg['name']}"
        ET.SubElement(entry, f"{{{ATOM}}}id").text = f"{site_url}/dataset/{pkg['id']}"
        ET.SubElement(entry, f"{{{ATOM}}}title").text = xml_safe(pkg["title"] or pkg["name"])
        ET.SubElement(entry, f"{{{ATOM}}}link", {"rel": "alternate", "href": url})
        ET.SubElement(entry, f"{{{ATOM}}}updated").text = _ts(pkg["metadata_modified"])
        ET.SubElement(entry, f"{{{ATOM}}}published").text = _ts(pkg["metadata_created"])
        if pkg.get("organization"):
            a = ET.SubElement(entry, f"{{{ATOM}}}author")
            ET.SubElement(a, f"{{{ATOM}}}name").text = xml_safe(pkg["organization"]["title"])
        ET.SubElement(entry, f"{{{ATOM}}}summary", {"type": "text"}).text = xml_safe((pkg.get("notes") or "")[:1000])
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="unicode")


def public_dataset_count(db):
    """How many datasets the sitemap lists."""
    return package_store.public_count(db)


def _fixed_urls(db, site_url):
    """The site's pages, organizations and groups: the first URLs of the sitemap sequence."""
    urls = [(f"{site_url}{p}", None) for p in ("/", "/dataset", "/organization", "/group", "/datarequest",
                                                "/spending", "/api")]
    for kind, is_org in (("organization", 1), ("group", 0)):
        urls += [(f"{site_url}/{kind}/{quote(r[0])}", r[1]) for r in group_store.active_names(db, is_org)]
    return urls


def sitemap_parts(db, site_url):
    """How many sitemap files the site needs (pages and datasets together, SITEMAP_MAX URLs each)."""
    total = len(_fixed_urls(db, site_url)) + public_dataset_count(db)
    return max(1, -(-total // SITEMAP_MAX))


def sitemap_urls(db, site_url, part):
    """(loc, lastmod) of one sitemap file: URLs [part*MAX, (part+1)*MAX) of pages, then datasets."""
    fixed = _fixed_urls(db, site_url)
    start, end = part * SITEMAP_MAX, (part + 1) * SITEMAP_MAX
    urls = fixed[start:end]
    first = max(start - len(fixed), 0)
    want = end - max(start, len(fixed))
    if want > 0:
        rows = package_store.public_names_by_creation(db, want, first)
        urls += [(f"{site_url}/dataset/{quote(r[0])}", r[1]) for r in rows]
    return urls


def sitemap_xml(urls):
    """A <urlset> document."""
    ET.register_namespace("", SITEMAP)
    root = ET.Element(f"{{{SITEMAP}}}urlset")
    for loc, lastmod in urls:
        u = ET.SubElement(root, f"{{{SITEMAP}}}url")
        ET.SubElement(u, f"{{{SITEMAP}}}loc").text = loc
        if lastmod:
            ET.SubElement(u, f"{{{SITEMAP}}}lastmod").text = lastmod[:10]
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode")


def sitemap_index_xml(site_url, parts):
    """A <sitemapindex> of sitemap-<n>.xml files."""
    ET.register_namespace("", SITEMAP)
    root = ET.Element(f"{{{SITEMAP}}}sitemapindex")
    for n in range(parts):
        ET.SubElement(ET.SubElement(root, f"{{{SITEMAP}}}sitemap"), f"{{{SITEMAP}}}loc").text = \
            f"{site_url}/sitemap-{n}.xml"
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode")
