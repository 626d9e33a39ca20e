"""Every base64url input the formats read is decoded strictly (RFC 7515 §2): lenient decoding would drop
foreign characters and accept padding, so two different strings could stand for one credential."""

from __future__ import annotations

import pytest

from portfeil.formats import FormatError
from portfeil.formats.mdoc import Mdoc
from portfeil.formats.status_list import StatusList


@pytest.mark.parametrize("junk", ["AAAA=", "AA AA", "AA\nAA", "AA*AA", "AA+/"])
def test_mdoc_refuses_non_strict_base64url(junk: str) -> None:
    with pytest.raises(FormatError) as err:
        Mdoc.parse(junk)
    assert err.value.code == "mdoc_malformed"


@pytest.mark.parametrize("lst", ["eNrbuRgAAhcBXQ==", "eNrbu Rg", "eNrb*uRg"])
def test_status_list_refuses_non_strict_base64url(lst: str) -> None:
    with pytest.raises(FormatError) as err:
        StatusList.from_json({"bits": 1, "lst": lst})
    assert err.value.code == "status_list_invalid_lst"
