"""DCAT-AP descriptions of the catalogue and its datasets (JSON-LD, Turtle, RDF/XML), built with rdflib.

Callers pass package dicts the caller may already read (from package_search / package_show), so
nothing private reaches a description.
"""
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, XSD

from .params import xml_safe

VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
FORMATS = {"json-ld": "json-ld", "jsonld": "json-ld", "ttl": "turtle", "rdf": "xml", "xml": "xml"}
MEDIA = {"json-ld": "application/ld+json", "turtle": "text/turtle", "xml": "application/rdf+xml"}
LANG_THA = URIRef("http://publications.europa.eu/resource/authority/language/THA")


def _graph():
    g = Graph()
    for prefix, ns in (("dcat", DCAT), ("dct", DCTERMS), ("foaf", FOAF), ("vcard", VCARD), ("hydra", HYDRA)):
        g.bind(prefix, ns)
    return g


def _text(value, **kw):
    # Stored text may predate the door's control-character check; RDF/XML cannot carry those characters.
    return Literal(xml_safe(str(value)), **kw)


def _date(value):
    return Literal(value[:19], datatype=XSD.dateTime) if value else None


def dataset_uri(site_url, pkg):
    """The dataset's URI: its page (ckanext-dcat's default)."""
    return URIRef(f"{site_url}/dataset/{pkg['id']}")


def add_dataset(g, pkg, site_url):
    """Add one dataset and its distributions to the graph; returns its node."""
    ds = dataset_uri(site_url, pkg)
    g.add((ds, RDF.type, DCAT.Dataset))
    g.add((ds, DCTERMS.identifier, Literal(pkg["id"])))
    g.add((ds, DCTERMS.title, _text(pkg["title"] or pkg["name"], lang="th")))
    g.add((ds, DCTERMS.description, _text(pkg.get("notes") or pkg["title"] or pkg["name"], lang="th")))
    g.add((ds, DCAT.landingPage, URIRef(f"{site_url}/dataset/{pkg['name']}")))
    g.add((ds, DCTERMS.language, LANG_THA))
    for key, pred in (("metadata_created", DCTERMS.issued), ("metadata_modified", DCTERMS.modified)):
        if _date(pkg.get(key)) is not None:
            g.add((ds, pred, _date(pkg[key])))
    for tag in pkg.get("tags") or []:
        g.add((ds, DCAT.keyword, _text(tag["name"], lang="th")))
    for grp in pkg.get("groups") or []:
        g.add((ds, DCAT.theme, URIRef(f"{site_url}/group/{grp['name']}")))
    org = pkg.get("organization")
    if org:
        agent = URIRef(f"{site_url}/organization/{org['name']}")
        g.add((ds, DCTERMS.publisher, agent))
        g.add((agent, RDF.type, FOAF.Organization))
        g.add((agent, FOAF.name, _text(org["title"] or org["name"], lang="th")))
    if pkg.get("maintainer") or pkg.get("maintainer_email"):
        contact = BNode()
        g.add((ds, DCAT.contactPoint, contact))
        g.add((contact, RDF.type, VCARD.Kind))
        if pkg.get("maintainer"):
            g.add((contact, VCARD.fn, _text(pkg["maintainer"])))
        if pkg.get("maintainer_email"):
            g.add((contact, VCARD.hasEmail, URIRef(f"mailto:{pkg['maintainer_email']}")))
    license_uri = URIRef(pkg["license_url"]) if pkg.get("license_url") else None
    for res in pkg.get("resources") or []:
        dist = URIRef(f"{site_url}/dataset/{pkg['id']}/resource/{res['id']}")
        g.add((ds, DCAT.distribution, dist))
        g.add((dist, RDF.type, DCAT.Distribution))
        g.add((dist, DCTERMS.title, _text(res.get("name") or res["id"], lang="th")))
        if res.get("description"):
            g.add((dist, DCTERMS.description, _text(res["description"], lang="th")))
        g.add((dist, DCAT.accessURL, dist))
        if res.get("url"):
            g.add((dist, DCAT.downloadURL, URIRef(res["url"])))
        if res.get("format"):
            g.add((dist, DCTERMS["format"], _text(res["format"])))
        if res.get("mimetype"):
            g.add((dist, DCAT.mediaType, URIRef(f"https://www.iana.org/assignments/media-types/{res['mimetype']}")))
        if res.get("size"):
            g.add((dist, DCAT.byteSize, Literal(res["size"], datatype=XSD.decimal)))
        if license_uri is not None:
            g.add((dist, DCTERMS.license, license_uri))
    return ds


def dataset_graph(pkg, site_url):
    """A graph of one dataset."""
    g = _graph()
    add_dataset(g, pkg, site_url)
    return g


def catalog_graph(result, site_url, title, page, page_size):
    """A graph of the catalogue with one page of datasets (hydra paging, as ckanext-dcat pages it)."""
    g = _graph()
    cat = URIRef(f"{site_url}/catalog")
    g.add((cat, RDF.type, DCAT.Catalog))
    g.add((cat, DCTERMS.title, _text(title, lang="th")))
    g.add((cat, DCTERMS.description, _text(f"{title}: Thai open government data", lang="en")))
    g.add((cat, FOAF.homepage, URIRef(site_url + "/")))
    g.add((cat, DCTERMS.language, LANG_THA))
    publisher = URIRef(site_url + "/")
    g.add((cat, DCTERMS.publisher, publisher))
    g.add((publisher, RDF.type, FOAF.Organization))
    g.add((publisher, FOAF.name, _text(title)))
    for pkg in result["results"]:
        g.add((cat, DCAT.dataset, add_dataset(g, pkg, site_url)))
    last = max(1, -(-result["count"] // page_size))
    coll = URIRef(f"{site_url}/catalog.ttl?page={page}")
    g.add((coll, RDF.type, HYDRA.PagedCollection))
    g.add((coll, HYDRA.totalItems, Literal(result["count"], datatype=XSD.integer)))
    g.add((coll, HYDRA.itemsPerPage, Literal(page_size, datatype=XSD.integer)))
    g.add((coll, HYDRA.firstPage, Literal(f"{site_url}/catalog.ttl?page=1")))
    g.add((coll, HYDRA.lastPage, Literal(f"{site_url}/catalog.ttl?page={last}")))
    if page < last:
        g.add((coll, HYDRA.nextPage, Literal(f"{site_url}/catalog.ttl?page={page + 1}")))
    return g


def serialize(g, fmt):
    """(text, media type) of the graph in `fmt` (a key of FORMATS)."""
    kind = FORMATS[fmt]
    return g.serialize(format=kind), MEDIA[kind]
