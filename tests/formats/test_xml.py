"""Safe XML parsing (portfeil.formats.xml): XXE, entity expansion, external DTDs and network access are refused.

The network tests listen on a local port and check that nothing ever connects to it. The pre-scan refuses DTDs
in UTF-8 and UTF-16/32; the direct parser tests prove the second line (the locked-down parser + docinfo check).
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portfeil.formats import FormatError
from portfeil.formats.xml import check_no_dtd, parse_xml, safe_parser

XXE_FILE = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<r>&xxe;</r>"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz>&lol9;</lolz>"""


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A local TCP port that records whether anybody connected (it must stay silent)."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    srv.settimeout(0.2)
    yield srv
    srv.close()


def _nobody_connected(srv: socket.socket) -> bool:
    try:
        conn, _ = srv.accept()
    except TimeoutError:
        return True
    conn.close()
    return False


def test_parses_plain_xml() -> None:
    root = parse_xml(b"<?xml version='1.0' encoding='UTF-8'?><a x='1'><b>\xd0\xb0</b></a>")
    assert root.tag == "a"
    assert root[0].text == "а"


def test_rejects_xxe_external_entity_file() -> None:
    with pytest.raises(FormatError) as exc:
        parse_xml(XXE_FILE)
    assert exc.value.code == "xml_entities_forbidden"
    assert "root:" not in str(exc.value)


def test_rejects_xxe_utf16() -> None:
    data = XXE_FILE.replace(b'<?xml version="1.0"?>', b'<?xml version="1.0" encoding="UTF-16"?>').decode()
    with pytest.raises(FormatError) as exc:
        parse_xml(data.encode("utf-16"))
    assert exc.value.code == "xml_entities_forbidden"


def test_parser_itself_never_expands_external_entities() -> None:
    # Defence in depth: even used directly, the locked-down parser leaves &xxe; unexpanded.
    from lxml import etree

    root = etree.fromstring(XXE_FILE, parser=safe_parser())
    assert "root:" not in etree.tostring(root).decode()
    with pytest.raises(FormatError) as exc:
        check_no_dtd(root)
    assert exc.value.code == "xml_entities_forbidden"


def test_rejects_billion_laughs() -> None:
    with pytest.raises(FormatError) as exc:
        parse_xml(BILLION_LAUGHS)
    assert exc.value.code == "xml_entities_forbidden"


def test_rejects_billion_laughs_utf16() -> None:
    data = BILLION_LAUGHS.replace(b'<?xml version="1.0"?>', b'<?xml version="1.0" encoding="UTF-16"?>').decode()
    with pytest.raises(FormatError) as exc:
        parse_xml(data.encode("utf-16"))
    assert exc.value.code == "xml_entities_forbidden"


def test_rejects_external_dtd_without_fetching_it(listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    data = f'<?xml version="1.0"?><!DOCTYPE r SYSTEM "http://127.0.0.1:{port}/evil.dtd"><r/>'.encode()
    with pytest.raises(FormatError) as exc:
        parse_xml(data)
    assert exc.value.code == "xml_entities_forbidden"
    assert _nobody_connected(listener)


def test_parser_itself_never_fetches_network_entities(listener: socket.socket) -> None:
    from lxml import etree

    port = listener.getsockname()[1]
    data = (
        f'<?xml version="1.0"?><!DOCTYPE r SYSTEM "http://127.0.0.1:{port}/d.dtd" [<!ENTITY % p SYSTEM '
        f'"http://127.0.0.1:{port}/x"> %p; <!ENTITY e SYSTEM "http://127.0.0.1:{port}/y">]><r>&e;</r>'
    ).encode()
    try:
        root = etree.fromstring(data, parser=safe_parser())
    except etree.XMLSyntaxError:
        pass
    else:
        with pytest.raises(FormatError):
            check_no_dtd(root)
    assert _nobody_connected(listener)


def test_rejects_network_entity_without_connecting(listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    text = (
        f'<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r [<!ENTITY % p SYSTEM "http://127.0.0.1:{port}/x">'
        f'%p; <!ENTITY e SYSTEM "http://127.0.0.1:{port}/y">]><r>&e;</r>'
    )
    with pytest.raises(FormatError) as exc:
        parse_xml(text.encode("utf-16"))
    assert exc.value.code == "xml_entities_forbidden"
    assert _nobody_connected(listener)


def test_rejects_oversize() -> None:
    with pytest.raises(FormatError) as exc:
        parse_xml(b"<a>" + b"x" * 2000 + b"</a>", max_bytes=1000)
    assert exc.value.code == "xml_too_large"


@pytest.mark.parametrize("data", [b"", b"<a>", b"<a></b>", b"\xff\xfe\x00", b"plain text", b"<a>&undefined;</a>"])
def test_rejects_malformed(data: bytes) -> None:
    with pytest.raises(FormatError) as exc:
        parse_xml(data)
    assert exc.value.code == "xml_malformed"


def test_rejects_non_bytes() -> None:
    with pytest.raises(FormatError) as exc:
        parse_xml("<a/>")  # type: ignore[arg-type]
    assert exc.value.code == "xml_malformed"


def test_rejects_deep_nesting() -> None:
    # huge_tree=False keeps libxml2's depth limit: a very deep document is refused, not a stack blow-up.
    with pytest.raises(FormatError):
        parse_xml(b"<a>" * 100_000 + b"</a>" * 100_000)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_fuzz_random_bytes_only_format_error(data: bytes) -> None:
    with contextlib.suppress(FormatError):
        parse_xml(data)


_PIECES = st.sampled_from(
    [
        b"<a>",
        b"</a>",
        b"<b x='1'>",
        b"</b>",
        b"<!DOCTYPE a>",
        b"<!ENTITY e 'x'>",
        b"&e;",
        b"&amp;",
        b"<![CDATA[x]]>",
        b"<?pi x?>",
        b"<!-- c -->",
        b"\x00",
        b"\xc3",
        b"text",
        b"<?xml version='1.0' encoding='latin-1'?>",
        b"]]>",
        b"<a xmlns:p='urn:x'><p:b/></a>",
        b"&#0;",
        b"&#x41;",
        b"<",
        b">",
        b"'",
        b'"',
        b"=",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, max_size=20))
def test_fuzz_xmlish_only_format_error(pieces: list[bytes]) -> None:
    with contextlib.suppress(FormatError):
        parse_xml(b"".join(pieces))
