"""Bulgarian national rules: identifiers (ЕГН, ЛНЧ, ЕИК) and official transliteration. Pure code."""
