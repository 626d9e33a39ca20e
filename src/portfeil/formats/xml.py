"""Safe XML parsing for every XML format portfeil reads (trusted lists, SAML, SOAP).

XML 1.0 document type declarations are the door to XXE (external entities reading ``file:///etc/passwd`` or
fetching URLs), "billion laughs" entity expansion and external DTD fetches. None of the formats portfeil reads
needs a DTD, so any ``<!DOCTYPE``/``<!ENTITY`` is refused outright with ``xml_entities_forbidden``, before and
after parsing. The parser itself is also locked down (no entity resolution, no DTD loading, no network, no huge
trees) so that a declaration smuggled past the pre-scan (e.g. in an exotic encoding) is inert and still refused.
"""

from __future__ import annotations

import re

from lxml import etree

from portfeil.formats.errors import FormatError

MAX_XML_BYTES = 16 * 1024 * 1024
"""Default size limit: the EU LOTL is ~0.5 MB and the largest national trusted lists are a few MB."""

# "<!DOCTYPE" / "<!ENTITY" in ASCII-compatible encodings (UTF-8, Latin-1...); UTF-16/32 inputs are decoded for
# the scan. Anything else that declares a DTD is caught by the check on the parsed document.
_DECLARATION = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_DECLARATION_TEXT = re.compile(r"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_WIDE_CODECS = ("utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")


def _declares_dtd(raw: bytes) -> bool:
    if _DECLARATION.search(raw):
        return True
    if b"\x00" in raw[:4]:  # UTF-16/32 (with or without BOM)
        return any(_DECLARATION_TEXT.search(raw.decode(codec, errors="ignore")) for codec in _WIDE_CODECS)
    return False


def safe_parser() -> etree.XMLParser:
    """A new locked-down lxml parser (parsers are not thread-safe, so one per call)."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
        collect_ids=True,
    )


def check_no_dtd(root: etree._Element) -> None:
    """Refuse a parsed document that carries any DOCTYPE, internal subset or entity reference."""
    docinfo = root.getroottree().docinfo
    if getattr(docinfo, "doctype", "") or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise FormatError("xml_entities_forbidden", "XML document type declarations are not accepted")
    for _ in root.iter(etree.Entity):
        raise FormatError("xml_entities_forbidden", "XML entity references are not accepted")


def parse_xml(data: bytes, *, max_bytes: int = MAX_XML_BYTES) -> etree._Element:
    """Parse untrusted XML bytes into an element tree, refusing DTDs/entities, oversize and malformed input.

    Raises :class:`FormatError` with code ``xml_too_large``, ``xml_entities_forbidden`` or ``xml_malformed``
    (and nothing else, whatever the input).
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise FormatError("xml_malformed", "XML input must be bytes")
    raw = bytes(data)
    if len(raw) > max_bytes:
        raise FormatError("xml_too_large", f"XML input is larger than {max_bytes} bytes")
    if _declares_dtd(raw):
        raise FormatError("xml_entities_forbidden", "XML document type or entity declarations are not accepted")
    try:
        root = etree.fromstring(raw, parser=safe_parser())
    except (etree.LxmlError, ValueError, LookupError) as exc:
        raise FormatError("xml_malformed", "XML input is not well-formed") from exc
    if root is None:
        raise FormatError("xml_malformed", "XML input is empty")
    check_no_dtd(root)
    return root
